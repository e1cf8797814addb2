// The event model shared by the engine and the UI (DESIGN.md 3): one record of the local event log.
// Kept free of Node and DOM so both sides (and the exported runner) can import it.
import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export const JsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValueSchema), z.record(z.string(), JsonValueSchema)]),
);

/** CDC operation codes, as in the Debezium envelope: create, update, delete, read (snapshot). */
export const OpSchema = z.enum(['c', 'u', 'd', 'r']);
export type Op = z.infer<typeof OpSchema>;

export const HeaderSchema = z.object({ key: z.string(), value: z.string() });
export type Header = z.infer<typeof HeaderSchema>;

/**
 * An event as a source hands it to the log. `position` is the canonical text form of the source
 * position (for example `kafka:orders/0/42`, `sqlserver:<commitLsn>:<changeLsn>:<serial>`,
 * `pg:<lsn>:<n>`): it is the event's identity, so appending the same position twice stores it once.
 */
export const NewEventSchema = z.object({
  stream: z.string().min(1).max(512),
  position: z.string().min(1).max(1024),
  key: JsonValueSchema.nullable().default(null),
  value: JsonValueSchema.nullable().default(null),
  /** Raw bytes (base64) when the value could not be decoded; `decodeError` says why. */
  valueBytes: z.string().optional(),
  decodeError: z.string().optional(),
  headers: z.array(HeaderSchema).default([]),
  op: OpSchema.optional(),
  /** Milliseconds since the epoch: commit time for CDC, record timestamp for Kafka. */
  eventTime: z.number(),
  /** Milliseconds since the epoch when Eddy captured the event. */
  ingestTime: z.number(),
});
export type NewEvent = z.input<typeof NewEventSchema>;
export type EventRecord = z.output<typeof NewEventSchema>;

/** An event as stored: the log assigns a monotonic sequence number used for keyset paging. */
export interface StoredEvent extends EventRecord {
  seq: number;
  /** Bytes the event takes in the log (its serialized form). */
  size: number;
}

export interface StreamStats {
  stream: string;
  count: number;
  bytes: number;
  firstEventTime: number | null;
  lastEventTime: number | null;
  firstIngestTime: number | null;
  lastIngestTime: number | null;
  /** Events per second over the last minute of ingest time (0 when idle). */
  rate: number;
}
