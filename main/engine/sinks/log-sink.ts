// Sinks inside the workspace: a stream of the event log (each record's position is its identity
// `<pipeline>/<sink>/<origin position>/<lineage>`, so a replayed epoch is stored once), the null
// sink (benchmarks), and the dead-letter stream writer.
import { createHash } from 'node:crypto';
import type { NewEvent } from '../../../shared/events.js';
import type { DeadLetter } from '../pipelines/model.js';
import type { DeadLetterSink } from '../pipelines/runner.js';
import type { LogPort } from '../pipelines/sources/log-port.js';
import { recordIdentity, type Sink, type SinkCommitResult, type SinkLineage, type SinkRecord } from './sink.js';

const MAX_POSITION = 1000;

/** Positions are capped at the log's limit: long ones keep a readable head and a hash of the whole. */
export function boundedPosition(position: string): string {
  if (position.length <= MAX_POSITION) return position;
  return `${position.slice(0, MAX_POSITION - 42)}#${createHash('sha1').update(position).digest('hex')}`;
}

export class LogSink implements Sink {
  readonly kind = 'log';
  readonly idempotent = true;
  private lineage: SinkLineage | undefined;

  constructor(
    readonly id: string,
    private readonly stream: string,
    private readonly log: Pick<LogPort, 'append'>,
  ) {}

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    return 0;
  }

  async commit(_checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    const lineage = this.lineage;
    if (!lineage) throw new Error('The log sink is not open.');
    if (records.length === 0) return { rejected: [] };
    const events: NewEvent[] = records.map((record) => {
      const event: NewEvent = {
        stream: this.stream,
        position: boundedPosition(recordIdentity(this.id, lineage.pipeline, record)),
        key: record.event.key,
        value: record.event.value,
        headers: [...record.event.headers, { key: 'eddy.origin', value: `${record.origin.stream}@${record.origin.position}` }],
        eventTime: record.event.eventTime,
        ingestTime: Date.now(),
      };
      if (record.event.op !== undefined) event.op = record.event.op;
      return event;
    });
    const result = await this.log.append(events);
    return { rejected: result.rejected.map((rejected) => ({ index: events.findIndex((event) => event.position === rejected.position), message: rejected.reason })) };
  }

  async close(): Promise<void> {}
}

export class NullSink implements Sink {
  readonly kind = 'null';
  readonly idempotent = true;
  readonly discards = true;
  written = 0;

  constructor(readonly id: string) {}

  async open(): Promise<number> {
    return 0;
  }

  async commit(_checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    this.written += records.length;
    return { rejected: [] };
  }

  async close(): Promise<void> {}
}

/** Identity of a dead letter: a record failing the same stage again after a restart is stored once. */
export function deadLetterPosition(letter: Pick<DeadLetter, 'stage' | 'origin' | 'lineage'>): string {
  const lineage = letter.lineage && letter.lineage !== letter.origin.source ? `/${letter.lineage}` : '';
  return boundedPosition(`${letter.stage}/${letter.origin.stream}@${letter.origin.position}${lineage}`);
}

export class LogDeadLetters implements DeadLetterSink {
  constructor(
    private readonly stream: string,
    private readonly log: Pick<LogPort, 'append'>,
  ) {}

  async write(letters: DeadLetter[]): Promise<void> {
    const events: NewEvent[] = letters.map((letter) => ({
      stream: this.stream,
      position: deadLetterPosition(letter),
      key: { stage: letter.stage, position: letter.origin.position },
      value: {
        pipeline: letter.pipeline,
        stage: letter.stage,
        error: {
          name: letter.error.name,
          message: letter.error.message,
          line: letter.error.line ?? null,
          column: letter.error.column ?? null,
          stack: letter.error.stack?.split('\n').slice(0, 8).join('\n') ?? null,
        },
        attempts: letter.attempts,
        origin: { source: letter.origin.source, stream: letter.origin.stream, position: letter.origin.position, seq: letter.origin.seq ?? null },
        input: {
          stream: letter.input.stream,
          position: letter.input.position,
          key: letter.input.key,
          value: letter.input.value,
          headers: letter.input.headers.map((header) => ({ key: header.key, value: header.value })),
          op: letter.input.op ?? null,
          eventTime: letter.input.eventTime,
          ingestTime: letter.input.ingestTime,
          decodeError: letter.input.decodeError ?? null,
          valueBytes: letter.input.valueBytes ?? null,
        },
        at: letter.at,
      },
      // Kafka Connect's DLQ context headers, so the export maps them one to one (KIP-298).
      headers: [
        { key: 'eddy.errors.stage', value: letter.stage },
        { key: 'eddy.errors.class', value: letter.error.name },
        { key: 'eddy.errors.message', value: letter.error.message.slice(0, 1000) },
        { key: 'eddy.errors.origin', value: `${letter.origin.stream}@${letter.origin.position}` },
        { key: 'eddy.errors.attempts', value: String(letter.attempts) },
      ],
      eventTime: letter.input.eventTime,
      ingestTime: letter.at,
    }));
    // A dead letter nobody can store would be lost silently: refuse to go on instead.
    const result = await this.log.append(events);
    if (result.rejected.length > 0) throw new Error(`The dead-letter stream refused ${result.rejected.length} record(s): ${result.rejected[0]!.reason}`);
  }
}

/** Dead letters kept in memory (pipeline tests, step-through). */
export class MemoryDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  private readonly seen = new Set<string>();

  async write(letters: DeadLetter[]): Promise<void> {
    for (const letter of letters) {
      const id = deadLetterPosition(letter);
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.letters.push(letter);
    }
  }
}
