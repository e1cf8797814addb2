// How an event becomes a journal line and a segment row, and a row becomes a StoredEvent again.
// Validation here is hand-written rather than zod: it runs for every event at ingest rates, and
// a bad event is rejected with a reason instead of failing its whole batch (per-record isolation).
import type { EventRecord, Header, JsonValue, NewEvent, Op, StoredEvent } from '../../../shared/events.js';
import { positionHash } from './position-index.js';
import type { SqlValue } from './sqljs.js';
import { LAYOUT_ESCAPED, LAYOUT_INTS, LAYOUT_NUMBERS, type RowLayout } from './fast-insert.js';

/** Columns of `event_rows` in the order every insert binds and every read selects them. */
export const ROW_COLUMNS = 'seq, stream, position, key, value, value_bytes, decode_error, headers, op, event_time, ingest_time, size';
export const ROW_WIDTH = 12;

const OPS = new Set(['c', 'u', 'd', 'r']);

export interface PreparedEvent {
  stream: string;
  position: string;
  hash: number;
  keyJson: string | null;
  valueJson: string | null;
  valueBytes: string | null;
  decodeError: string | null;
  headersJson: string;
  op: string | null;
  eventTime: number;
  ingestTime: number;
  /** Everything after the seq in the journal line: `,"stream","position",key,...]`. */
  body: string;
  /** UTF-8 bytes of `body`: the event's size in the log. */
  size: number;
  seq: number;
  /**
   * UTF-16 lengths of the body's eight value tokens (stream .. op), and whether the string tokens
   * needed JSON escapes: what the row layout is computed from (absent on replayed journal lines).
   */
  tokens?: number[];
  escaped?: boolean;
}


export type PrepareResult = { ok: true; event: PreparedEvent } | { ok: false; stream: string; position: string; size: number; reason: string };

/**
 * The value's JSON text as the source delivered it (a Kafka record's bytes, already parsed once to
 * decode it). The log stores that text instead of serializing the parsed value again. The key is a
 * symbol, so it never crosses IPC or a worker boundary (structured clone drops symbol keys): only
 * engine code that has just parsed the text can attach it.
 */
const VALUE_JSON = Symbol('eddy.valueJson');

/**
 * Marks `text` as the JSON of `event.value` (which must be `JSON.parse(text)`, unchanged since).
 * Texts spanning lines are not kept: a journal line must stay one line.
 */
export function attachValueJson<T extends object>(event: T, text: string): T {
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) (event as Record<symbol, unknown>)[VALUE_JSON] = text;
  return event;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 200) : '';
}

function toJson(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON-serializable`);
  return text;
}

function headersJson(headers: unknown): string {
  if (headers === undefined || headers === null) return '[]';
  if (!Array.isArray(headers)) throw new TypeError('headers must be an array of {key, value}');
  if (headers.length === 0) return '[]';
  // What JSON.stringify(headers.map(({ key, value }) => ({ key, value }))) gives, without the copies.
  let text = '[';
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as Partial<Header> | null;
    if (!h || typeof h.key !== 'string' || typeof h.value !== 'string') throw new TypeError('headers must be an array of {key, value} strings');
    text += (i === 0 ? '{"key":' : ',{"key":') + JSON.stringify(h.key) + ',"value":' + JSON.stringify(h.value) + '}';
  }
  return text + ']';
}

/** `prepareEvent`, or the checks left for an event encoded ahead (`EventEncoder`) under another limit. */
export function prepareInput(input: unknown, maxEventBytes: number): PrepareResult {
  if (!(input instanceof EncodedEvent)) return prepareEvent(input, maxEventBytes);
  if (input.size > maxEventBytes) return { ok: false, stream: input.stream, position: input.position, size: input.size, reason: `event is ${input.size} bytes, over the ${maxEventBytes}-byte limit` };
  return { ok: true, event: input };
}

/** Validates and serializes one incoming event. Never throws. */
export function prepareEvent(input: unknown, maxEventBytes: number): PrepareResult {
  const event = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const stream = event.stream;
  const position = event.position;
  const fail = (reason: string, size = 0): PrepareResult => ({ ok: false, stream: describe(stream), position: describe(position), size, reason });
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > 512) return fail('stream must be a string of 1 to 512 characters');
  if (typeof position !== 'string' || position.length === 0 || position.length > 1024) return fail('position must be a string of 1 to 1024 characters');
  if (typeof event.eventTime !== 'number' || !Number.isFinite(event.eventTime)) return fail('eventTime must be a finite number (ms since the epoch)');
  if (typeof event.ingestTime !== 'number' || !Number.isFinite(event.ingestTime)) return fail('ingestTime must be a finite number (ms since the epoch)');
  const op = event.op ?? null;
  if (op !== null && (typeof op !== 'string' || !OPS.has(op))) return fail(`op must be one of c, u, d, r (got ${JSON.stringify(op)})`);
  const valueBytes = event.valueBytes ?? null;
  if (valueBytes !== null && typeof valueBytes !== 'string') return fail('valueBytes must be a base64 string');
  const decodeError = event.decodeError ?? null;
  if (decodeError !== null && typeof decodeError !== 'string') return fail('decodeError must be a string');
  let keyJson: string | null;
  let valueJson: string | null;
  let headers: string;
  try {
    keyJson = toJson(event.key, 'key');
    const attached = (event as Record<symbol, unknown>)[VALUE_JSON];
    valueJson = typeof attached === 'string' && event.value !== null && event.value !== undefined ? attached : toJson(event.value, 'value');
    headers = headersJson(event.headers);
  } catch (error) {
    // RangeError here means a value too large to even serialize: refuse it, never crash.
    return fail(error instanceof RangeError ? `the event is too large to serialize (${error.message})` : (error as Error).message);
  }
  // Cheap bound before building the line: UTF-8 is at most 3 bytes per UTF-16 unit.
  const roughChars = (keyJson?.length ?? 0) + (valueJson?.length ?? 0) + (valueBytes?.length ?? 0) + headers.length;
  if (roughChars > maxEventBytes) {
    const bytes = Buffer.byteLength(keyJson ?? '') + Buffer.byteLength(valueJson ?? '') + (valueBytes?.length ?? 0) + Buffer.byteLength(headers);
    if (bytes > maxEventBytes) return fail(`event is ${bytes} bytes, over the ${maxEventBytes}-byte limit`, bytes);
  }
  const streamText = streamJson(stream);
  const positionText = JSON.stringify(position);
  const keyText = keyJson ?? 'null';
  const valueText = valueJson ?? 'null';
  const valueBytesText = valueBytes === null ? 'null' : JSON.stringify(valueBytes);
  const decodeErrorText = decodeError === null ? 'null' : JSON.stringify(decodeError);
  const opText = op === null ? 'null' : `"${op}"`;
  const body =
    ',' +
    streamText +
    ',' +
    positionText +
    ',' +
    keyText +
    ',' +
    valueText +
    ',' +
    valueBytesText +
    ',' +
    decodeErrorText +
    ',' +
    headers +
    ',' +
    opText +
    ',' +
    JSON.stringify(event.eventTime) +
    ',' +
    JSON.stringify(event.ingestTime) +
    ']';
  // A JSON string token is its text in quotes unless something in it had to be escaped.
  const escaped =
    streamText.length !== stream.length + 2 ||
    positionText.length !== position.length + 2 ||
    (valueBytes !== null && valueBytesText.length !== valueBytes.length + 2) ||
    (decodeError !== null && decodeErrorText.length !== decodeError.length + 2);
  const size = Buffer.byteLength(body);
  if (size > maxEventBytes) return fail(`event is ${size} bytes, over the ${maxEventBytes}-byte limit`, size);
  return {
    ok: true,
    event: {
      stream,
      position,
      hash: positionHash(stream, position),
      keyJson,
      valueJson,
      valueBytes,
      decodeError,
      headersJson: headers,
      op,
      eventTime: event.eventTime,
      ingestTime: event.ingestTime,
      body,
      size,
      seq: 0,
      tokens: [streamText.length, positionText.length, keyText.length, valueText.length, valueBytesText.length, decodeErrorText.length, headers.length, opText.length],
      escaped,
    },
  };
}

/**
 * An event validated and serialized ahead of its append, its journal body already UTF-8 bytes in a
 * buffer it shares with its neighbours (`EventEncoder`). This is what a capture queues between
 * decoding a record and the log's acknowledgement: a few fields per event. The decoded event
 * itself (its parsed value, its texts) would outlive V8's young generation while it waits, and
 * every collection would copy and then promote it (measured on a Kafka capture: ~2.3 KB promoted
 * per event, and garbage collection taking about half of the capture's CPU).
 *
 * Only engine code makes these (the class cannot cross IPC or a worker boundary). The log numbers
 * an admitted one in place (`seq`); appending it again is found a duplicate like any event.
 */
export class EncodedEvent implements PreparedEvent {
  seq = 0;
  constructor(
    readonly stream: string,
    readonly position: string,
    readonly hash: number,
    readonly valueBytes: string | null,
    readonly decodeError: string | null,
    readonly op: string | null,
    readonly eventTime: number,
    readonly ingestTime: number,
    readonly size: number,
    readonly escaped: boolean,
    /** Where the body is: `chunk.bytes` from `bodyStart`, its token lengths at `chunk.tokens[8 * tokensAt]`. */
    readonly chunk: EncoderChunk,
    readonly bodyStart: number,
    readonly tokensAt: number,
  ) {}

  // The texts are in the body bytes only (kept off the object: every field is retained per event).
  get keyJson(): null {
    return null;
  }
  get valueJson(): null {
    return null;
  }
  get headersJson(): string {
    return '';
  }
  get body(): string {
    return '';
  }

  /** UTF-8 byte lengths of the body's eight value tokens (PreparedEvent.tokens, in bytes). */
  tokenLength(k: number): number {
    return this.chunk.tokens[TOKENS * this.tokensAt + k]!;
  }

  bodyText(): string {
    return this.chunk.bytes.toString('utf8', this.bodyStart, this.bodyStart + this.size);
  }
}

/** What `EventLog.append` takes: events as sources give them, or encoded ahead (EventEncoder). */
export type LogInput = NewEvent | EncodedEvent;

/** Bodies and token lengths of encoded events, shared by a few hundred of them. */
export interface EncoderChunk {
  bytes: Buffer;
  tokens: Int32Array;
}

const TOKENS = 8;
/** Chunks hold the bodies of a few hundred typical events; a bigger body gets its own. */
const ENCODER_CHUNK_BYTES = 256 * 1024;
const ENCODER_CHUNK_EVENTS = 2048;

/**
 * Turns events into `EncodedEvent`s, writing their bodies into shared buffers as it goes (outside
 * V8's heap, so the collector never copies them). An event that fails validation is returned as
 * it came: the log's append then refuses it with the reason, as for any event.
 */
export class EventEncoder {
  private chunk: EncoderChunk = { bytes: Buffer.alloc(0), tokens: new Int32Array(0) };
  private used = 0;
  private events = 0;

  constructor(private readonly maxEventBytes: number) {}

  encode<T>(input: T): EncodedEvent | T {
    const prepared = prepareEvent(input, this.maxEventBytes);
    if (!prepared.ok) return input;
    const event = prepared.event;
    const size = event.size;
    if (this.used + size > this.chunk.bytes.length || this.events === ENCODER_CHUNK_EVENTS) {
      this.chunk = { bytes: Buffer.allocUnsafeSlow(Math.max(ENCODER_CHUNK_BYTES, size)), tokens: new Int32Array(TOKENS * ENCODER_CHUNK_EVENTS) };
      this.used = 0;
      this.events = 0;
    }
    const { bytes, tokens } = this.chunk;
    const start = this.used;
    const index = this.events++;
    bytes.write(event.body, start, 'utf8');
    this.used += size;
    const lengths = event.tokens!;
    if (size === event.body.length) {
      for (let k = 0; k < TOKENS; k++) tokens[TOKENS * index + k] = lengths[k]!;
    } else {
      // Not ASCII: characters are not bytes; measure each token in bytes once, here.
      let chars = 1;
      for (let k = 0; k < TOKENS; k++) {
        tokens[TOKENS * index + k] = Buffer.byteLength(event.body.slice(chars, chars + lengths[k]!));
        chars += lengths[k]! + 1;
      }
    }
    return new EncodedEvent(event.stream, event.position, event.hash, event.valueBytes, event.decodeError, event.op, event.eventTime, event.ingestTime, size, event.escaped === true, this.chunk, start, index);
  }
}

let lastStream = '';
let lastStreamJson = '""';

/** JSON text of a stream name (appends come in runs of one stream: the last one is remembered). */
function streamJson(stream: string): string {
  if (stream !== lastStream) {
    lastStream = stream;
    lastStreamJson = JSON.stringify(stream);
  }
  return lastStreamJson;
}

export function journalLine(event: PreparedEvent): string {
  return '[' + event.seq + event.body;
}

/** UTF-8 bytes of a journal line before its body: `[` and the seq (ASCII). */
export function journalPrefixBytes(seq: number): number {
  return 1 + String(seq).length;
}

/**
 * The journal lines of `events`, joined by newlines, encoded straight into one buffer of
 * `totalBytes` (the sum of prefixes, bodies and separators): no joined string is built first.
 * With `layout`, also where each row's columns lie in those bytes (for fast-insert.ts); every
 * event must then carry its `tokens`.
 */
export function encodeJournalLines(events: PreparedEvent[], totalBytes: number, layout?: RowLayout): Buffer {
  const buffer = Buffer.allocUnsafe(totalBytes);
  let offset = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (i > 0) buffer[offset++] = 0x0a;
    offset += buffer.write('[' + event.seq, offset, 'latin1');
    if (layout) layRow(layout, i, event, offset);
    if (event instanceof EncodedEvent) offset += event.chunk.bytes.copy(buffer, offset, event.bodyStart, event.bodyStart + event.size);
    else offset += buffer.write(event.body, offset, 'utf8');
  }
  if (offset !== totalBytes) throw new Error(`journal record is ${offset} bytes, expected ${totalBytes}`);
  return buffer;
}

/** Records row `row`'s column byte ranges, its body starting at byte `bodyStart` of the payload. */
function layRow(layout: RowLayout, row: number, event: PreparedEvent, bodyStart: number): void {
  const t = row * LAYOUT_INTS;
  if (event instanceof EncodedEvent) {
    // Token lengths are in bytes already.
    let bytes = bodyStart + 1; // past the leading comma
    for (let k = 0; k < TOKENS; k++) {
      const length = event.tokenLength(k);
      layout.tokens[t + 2 * k] = bytes;
      layout.tokens[t + 2 * k + 1] = length;
      bytes += length + 1;
    }
  } else {
    const lengths = event.tokens;
    if (!lengths) throw new Error('a laid-out journal record needs prepared token lengths');
    const ascii = event.size === event.body.length;
    let chars = 1; // past the leading comma
    let bytes = bodyStart + 1;
    for (let k = 0; k < lengths.length; k++) {
      const length = lengths[k]!;
      // ASCII bodies: bytes are characters. Otherwise measure what precedes and the token itself.
      const start = ascii ? bytes : bodyStart + Buffer.byteLength(event.body.slice(0, chars));
      const byteLength = ascii ? length : Buffer.byteLength(event.body.slice(chars, chars + length));
      layout.tokens[t + 2 * k] = start;
      layout.tokens[t + 2 * k + 1] = byteLength;
      chars += length + 1;
      bytes = start + byteLength + 1;
    }
  }
  layout.tokens[t + LAYOUT_INTS - 1] = event.escaped ? LAYOUT_ESCAPED : 0;
  const n = row * LAYOUT_NUMBERS;
  layout.numbers[n] = event.seq;
  layout.numbers[n + 1] = event.eventTime;
  layout.numbers[n + 2] = event.ingestTime;
  layout.numbers[n + 3] = event.size;
}

/** An empty layout for `count` rows. */
export function newRowLayout(count: number): RowLayout {
  return { tokens: new Int32Array(count * LAYOUT_INTS), numbers: new Float64Array(count * LAYOUT_NUMBERS), count };
}

/** Parses one journal line back into a prepared event (replay after a restart). */
export function parseJournalLine(line: string): PreparedEvent {
  const comma = line.indexOf(',');
  const body = line.slice(comma);
  const parsed = JSON.parse(line) as [number, string, string, JsonValue, JsonValue, string | null, string | null, Header[], string | null, number, number];
  const [seq, stream, position, key, value, valueBytes, decodeError, headers, op, eventTime, ingestTime] = parsed;
  return {
    seq,
    stream,
    position,
    hash: positionHash(stream, position),
    keyJson: key === null ? null : JSON.stringify(key),
    valueJson: value === null ? null : JSON.stringify(value),
    valueBytes,
    decodeError,
    headersJson: headers.length === 0 ? '[]' : JSON.stringify(headers),
    op,
    eventTime,
    ingestTime,
    body,
    size: Buffer.byteLength(body),
  };
}

export function bindRow(target: SqlValue[], offset: number, event: PreparedEvent): void {
  target[offset] = event.seq;
  target[offset + 1] = event.stream;
  target[offset + 2] = event.position;
  target[offset + 3] = event.keyJson;
  target[offset + 4] = event.valueJson;
  target[offset + 5] = event.valueBytes;
  target[offset + 6] = event.decodeError;
  target[offset + 7] = event.headersJson;
  target[offset + 8] = event.op;
  target[offset + 9] = event.eventTime;
  target[offset + 10] = event.ingestTime;
  target[offset + 11] = event.size;
}

function parseJson(text: SqlValue): JsonValue {
  return text === null ? null : (JSON.parse(text as string) as JsonValue);
}

/** A row selected with ROW_COLUMNS, as the contract's StoredEvent. */
export function rowToEvent(row: SqlValue[]): StoredEvent {
  const headers = row[7] as string;
  const event: StoredEvent = {
    seq: row[0] as number,
    stream: row[1] as string,
    position: row[2] as string,
    key: parseJson(row[3]!),
    value: parseJson(row[4]!),
    headers: headers === '[]' ? [] : (JSON.parse(headers) as Header[]),
    eventTime: row[9] as number,
    ingestTime: row[10] as number,
    size: row[11] as number,
  };
  if (row[5] !== null) event.valueBytes = row[5] as string;
  if (row[6] !== null) event.decodeError = row[6] as string;
  if (row[8] !== null) event.op = row[8] as Op;
  return event;
}

/** The StoredEvent for an event just made durable (no parse: the caller's objects are reused). */
export function preparedToEvent(prepared: PreparedEvent, original: Partial<EventRecord>): StoredEvent {
  let key = original.key;
  let value = original.value;
  let headers: Header[];
  if (prepared instanceof EncodedEvent) {
    // Nothing decoded was kept: read the key, value and headers back from the journal body.
    const fields = JSON.parse('[0' + prepared.bodyText()) as [number, string, string, JsonValue, JsonValue, unknown, unknown, Header[]];
    key = fields[3];
    value = fields[4];
    headers = fields[7];
  } else headers = prepared.headersJson === '[]' ? [] : (JSON.parse(prepared.headersJson) as Header[]);
  const event: StoredEvent = {
    seq: prepared.seq,
    stream: prepared.stream,
    position: prepared.position,
    key: (key ?? null) as JsonValue,
    value: (value ?? null) as JsonValue,
    headers,
    eventTime: prepared.eventTime,
    ingestTime: prepared.ingestTime,
    size: prepared.size,
  };
  if (prepared.valueBytes !== null) event.valueBytes = prepared.valueBytes;
  if (prepared.decodeError !== null) event.decodeError = prepared.decodeError;
  if (prepared.op !== null) event.op = prepared.op as Op;
  return event;
}
