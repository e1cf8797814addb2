// Kafka records <-> log events. Decoding never throws: whatever the bytes, a record becomes an event
// with its position (`kafka:<topic>/<partition>/<offset>`), its record timestamp as event time, and
// a decode note for anything that was not clean JSON. Encoding (replay, sinks) reverses it so a
// captured record goes back to Kafka with the same key, headers and value bytes:
//
//   value bytes            stored as                         produced back as
//   null (tombstone)       value null                        null
//   JSON                   value = parsed JSON               JSON.stringify(value) (compact)
//   UTF-8, not JSON        value = text + note               the text
//   not UTF-8              valueBytes (base64) + note        the original bytes
//   over the size limit    value null + note (not stored)    skipped: there is nothing to send
//
// Debezium envelopes (`{op, before, after, source}`, bare or inside the JsonConverter's
// `{schema, payload}` wrapper) are unwrapped to the envelope and `op` is set, so CDC topics show as
// change events. Keys are text (UTF-8) or, when not UTF-8, base64 with a note.
import { isUtf8 } from 'node:buffer';
import type { Header, JsonValue, NewEvent, Op } from '../../../shared/events.js';
import { attachValueJson } from '../log/index.js';
import { byteSize } from '../byte-size.js';

/** The parts of a kafkajs message the decoder reads. */
export interface KafkaRecordLike {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | null | undefined>;
}

export interface DecodeOptions {
  /** The log's largest event, in bytes; bigger records are kept as metadata only. */
  maxEventBytes: number;
  ingestTime: number;
  /** Stream to store into; `kafka:<topic>` by default. */
  stream?: string;
}

export interface DecodedRecord {
  event: NewEvent;
  /** Key + value + header bytes as they were in Kafka (what `maxBytes` counts). */
  recordBytes: number;
  /** A rough size of the stored event, for the capture's memory bound. */
  storedBytes: number;
  noted: boolean;
  oversized: boolean;
}

// The notes are part of the stored data: replay reads them back, so change them only together.
export const NOTE_TEXT = 'not JSON; kept as text';
export const NOTE_KEY_BASE64 = 'key is not valid UTF-8; kept as base64';
export const NOTE_VALUE_BYTES = 'value is not valid UTF-8; kept as bytes (base64)';
export const NOTE_BIG_INTEGERS = 'value has integers beyond 2^53 that JSON numbers cannot hold exactly; original bytes kept';
export const NOTE_OVER_LIMIT = 'over the event size limit; value not stored';
export const headerBase64Note = (key: string): string => `header ${JSON.stringify(key)} is not valid UTF-8; kept as base64`;
export const headerNullNote = (key: string): string => `header ${JSON.stringify(key)} has a null value; kept as ""`;

export function kafkaStream(topic: string): string {
  return `kafka:${topic}`;
}

export function kafkaPosition(topic: string, partition: number, offset: string | number): string {
  return `kafka:${topic}/${partition}/${offset}`;
}

/** `kafka:<topic>/<partition>/<offset>` back to its parts; undefined for other positions. */
export function parseKafkaPosition(position: string): { topic: string; partition: number; offset: number } | undefined {
  const match = /^kafka:(.+)\/(\d+)\/(\d+)$/.exec(position);
  return match ? { topic: match[1]!, partition: Number(match[2]), offset: Number(match[3]) } : undefined;
}


const OPS = new Set(['c', 'u', 'd', 'r']);

function isRecord(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEnvelope(value: Record<string, JsonValue>): boolean {
  return typeof value.op === 'string' && ('before' in value || 'after' in value) && isRecord(value.source);
}

/** The Debezium envelope inside a decoded value, if it is one. */
export function debeziumEnvelope(value: JsonValue): { envelope: Record<string, JsonValue>; op: Op | undefined } | undefined {
  if (!isRecord(value)) return undefined;
  let envelope: Record<string, JsonValue> | undefined;
  if (isEnvelope(value)) envelope = value;
  else if ('payload' in value && 'schema' in value && isRecord(value.payload) && isEnvelope(value.payload)) envelope = value.payload;
  if (!envelope) return undefined;
  const op = envelope.op as string;
  return { envelope, op: OPS.has(op) ? (op as Op) : undefined };
}

function hasUnsafeInteger(value: JsonValue): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(hasUnsafeInteger);
  if (isRecord(value)) {
    for (const key in value) if (hasUnsafeInteger(value[key]!)) return true;
  }
  return false;
}

const isDigit = (byte: number): boolean => byte >= 0x30 && byte <= 0x39;

/**
 * Whether the bytes hold 16 ASCII digits in a row (a number JSON may not hold exactly). Any 16
 * bytes in a row include two of the bytes at 7, 15, 23, ... (every 8th), so only where two of
 * those in a row are digits is the run around them measured: about an eighth of the reads of a
 * byte-by-byte scan, which ran on every captured value.
 */
export function hasLongDigitRun(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let previous = false;
  for (let probe = 7; probe < n; probe += 8) {
    const digit = isDigit(bytes[probe]!);
    if (digit && previous) {
      let start = probe - 8;
      let between = start + 1;
      while (between < probe && isDigit(bytes[between]!)) between++;
      if (between === probe) {
        // One run holds both probes: measure it whole.
        while (start > 0 && isDigit(bytes[start - 1]!)) start--;
        let end = probe + 1;
        while (end < n && isDigit(bytes[end]!)) end++;
        if (end - start >= 16) return true;
      }
    }
    previous = digit;
  }
  return false;
}

// First characters a JSON text can start with (after whitespace).
const JSON_START = new Set(['{', '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n']);

function firstNonSpace(text: string): string {
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') return char;
  }
  return '';
}

interface DecodedValue {
  value: JsonValue | null;
  /** `value`'s JSON text as received, when `value` is exactly that text parsed. */
  json?: string;
  valueBytes?: string;
  note?: string;
  op?: Op;
}

function describeBinary(bytes: Buffer): string {
  // Confluent Schema Registry framing: magic byte 0, then a 4-byte schema id (Avro/Protobuf/JSON Schema).
  if (bytes.length >= 5 && bytes[0] === 0) {
    return `${NOTE_VALUE_BYTES} (${bytes.length} bytes; looks like Schema Registry framing, schema id ${bytes.readUInt32BE(1)})`;
  }
  return `${NOTE_VALUE_BYTES} (${bytes.length} bytes)`;
}

export function decodeValue(bytes: Buffer | null): DecodedValue {
  if (bytes === null) return { value: null };
  if (bytes.length === 0) return { value: '', note: `${NOTE_TEXT} (empty value)` };
  if (!isUtf8(bytes)) return { value: null, valueBytes: bytes.toString('base64'), note: describeBinary(bytes) };
  const text = bytes.toString('utf8');
  if (!JSON_START.has(firstNonSpace(text))) return { value: text, note: NOTE_TEXT };
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { value: text, note: `${NOTE_TEXT} (invalid JSON: ${reason})` };
  }
  // A JSON `null` must not read back as a tombstone: keep those four bytes as text.
  if (parsed === null) return { value: text, note: `${NOTE_TEXT} (the JSON literal null)` };
  const result: DecodedValue = { value: parsed };
  // Cheap pre-check: only texts with a long digit run can hold an unsafe integer.
  if (hasLongDigitRun(bytes) && hasUnsafeInteger(parsed)) {
    result.valueBytes = bytes.toString('base64');
    result.note = NOTE_BIG_INTEGERS;
  } else result.json = text;
  const debezium = debeziumEnvelope(parsed);
  if (debezium) {
    if (debezium.envelope !== parsed) delete result.json; // unwrapped from {schema, payload}
    result.value = debezium.envelope;
    if (debezium.op) result.op = debezium.op;
  }
  return result;
}

function decodeHeaders(raw: KafkaRecordLike['headers'], notes: string[]): { headers: Header[]; bytes: number } {
  const headers: Header[] = [];
  let bytes = 0;
  if (!raw) return { headers, bytes };
  for (const key of Object.keys(raw)) {
    const entry = raw[key];
    const values = Array.isArray(entry) ? entry : [entry];
    for (const value of values) {
      bytes += key.length;
      if (value === null || value === undefined) {
        headers.push({ key, value: '' });
        notes.push(headerNullNote(key));
      } else if (typeof value === 'string') {
        bytes += value.length;
        headers.push({ key, value });
      } else if (isUtf8(value)) {
        bytes += value.length;
        headers.push({ key, value: value.toString('utf8') });
      } else {
        bytes += value.length;
        headers.push({ key, value: value.toString('base64') });
        notes.push(headerBase64Note(key));
      }
    }
  }
  return { headers, bytes };
}

/** Fixed per-event overhead in the log (position, stream, times, JSON punctuation), roughly. */
const EVENT_OVERHEAD = 256;

/** One Kafka record as a log event. Never throws. */
export function decodeRecord(topic: string, partition: number, message: KafkaRecordLike, options: DecodeOptions): DecodedRecord {
  const notes: string[] = [];
  let key: string | null = null;
  const keyBytes = message.key?.length ?? 0;
  if (message.key) {
    if (isUtf8(message.key)) key = message.key.toString('utf8');
    else {
      key = message.key.toString('base64');
      notes.push(NOTE_KEY_BASE64);
    }
  }
  const { headers, bytes: headerBytes } = decodeHeaders(message.headers, notes);
  const valueBytes = message.value?.length ?? 0;
  const recordBytes = keyBytes + valueBytes + headerBytes;
  const position = kafkaPosition(topic, partition, message.offset);
  const stream = options.stream ?? kafkaStream(topic);
  const timestamp = Number(message.timestamp);
  const eventTime = Number.isFinite(timestamp) && timestamp >= 0 ? timestamp : options.ingestTime;

  // Base64 grows binary by 4/3 and JSON escaping can grow text; judge the worst plausible size.
  const worstValue = Math.ceil(valueBytes * 1.4);
  const fixed = EVENT_OVERHEAD + position.length + stream.length + Math.ceil(keyBytes * 1.4) + headerBytes * 2;
  if (fixed + worstValue > options.maxEventBytes) {
    notes.push(`${NOTE_OVER_LIMIT} (value ${byteSize(valueBytes)}, limit ${byteSize(options.maxEventBytes)})`);
    const tooBigEvenWithoutValue = fixed > options.maxEventBytes;
    const event: NewEvent = {
      stream,
      position,
      key: tooBigEvenWithoutValue ? null : key,
      value: null,
      headers: tooBigEvenWithoutValue ? [] : headers,
      decodeError: tooBigEvenWithoutValue ? `${notes.join('; ')}; key and headers not stored either` : notes.join('; '),
      eventTime,
      ingestTime: options.ingestTime,
    };
    return { event, recordBytes, storedBytes: EVENT_OVERHEAD + 512, noted: true, oversized: true };
  }

  const decoded = decodeValue(message.value);
  if (decoded.note) notes.push(decoded.note);
  const event: NewEvent = { stream, position, key, value: decoded.value, headers, eventTime, ingestTime: options.ingestTime };
  // The log stores the JSON text as it came instead of serializing the parsed value again.
  if (decoded.json !== undefined) attachValueJson(event, decoded.json);
  if (decoded.valueBytes !== undefined) event.valueBytes = decoded.valueBytes;
  if (decoded.op) event.op = decoded.op;
  if (notes.length > 0) event.decodeError = notes.join('; ');
  return { event, recordBytes, storedBytes: fixed + worstValue, noted: notes.length > 0, oversized: false };
}

// ---------------------------------------------------------------------------------------------
// Back to Kafka

/** An event as read back from the log (the fields encoding needs). */
export interface EventLike {
  position?: string;
  key: JsonValue | null | undefined;
  value: JsonValue | null | undefined;
  valueBytes?: string | undefined;
  decodeError?: string | undefined;
  headers?: Header[] | undefined;
  eventTime?: number;
}

export interface KafkaOutMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Record<string, Buffer | string | (Buffer | string)[]>;
  partition?: number;
  timestamp?: string;
}

/** Why an event cannot be produced (undefined when it can). */
export function unsendableReason(event: EventLike): string | undefined {
  if (event.decodeError?.includes(NOTE_OVER_LIMIT)) return 'its value was over the size limit when captured and was not stored';
  return undefined;
}

/** A log event as a Kafka message: the original key, header and value bytes where they were kept. */
export function eventToMessage(event: EventLike): KafkaOutMessage {
  const notes = event.decodeError ?? '';
  let key: Buffer | string | null = null;
  if (event.key !== null && event.key !== undefined) {
    if (typeof event.key === 'string') key = notes.includes(NOTE_KEY_BASE64) ? Buffer.from(event.key, 'base64') : event.key;
    else key = JSON.stringify(event.key);
  }
  let value: Buffer | string | null;
  if (event.valueBytes !== undefined) value = Buffer.from(event.valueBytes, 'base64');
  else if (event.value === null || event.value === undefined) value = null;
  else if (typeof event.value === 'string' && notes.includes(NOTE_TEXT)) value = event.value;
  else value = JSON.stringify(event.value);
  const headers: KafkaOutMessage['headers'] = {};
  for (const header of event.headers ?? []) {
    const headerValue: Buffer | string = notes.includes(headerBase64Note(header.key)) ? Buffer.from(header.value, 'base64') : header.value;
    const existing = headers[header.key];
    if (existing === undefined) headers[header.key] = headerValue;
    else headers[header.key] = Array.isArray(existing) ? [...existing, headerValue] : [existing, headerValue];
  }
  return { key, value, headers };
}

/** Offset of the first syntax error in a JSON text (V8's messages do not always say). */
export function jsonErrorOffset(text: string): number {
  let index = 0;
  const space = (): void => {
    while (index < text.length && ' \t\n\r'.includes(text[index]!)) index++;
  };
  const fail = (): never => {
    throw index;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, index)) index += word.length;
    else fail();
  };
  const string = (): void => {
    index++;
    while (index < text.length) {
      const char = text[index]!;
      if (char === '"') {
        index++;
        return;
      }
      if (char < ' ') fail();
      if (char === '\\') {
        const next = text[index + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(index + 2, index + 6))) fail();
          index += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) index += 2;
        else {
          index++;
          fail();
        }
      } else index++;
    }
    fail();
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(index, index + 400));
    if (!match || match[0] === '' || match[0] === '-') fail();
    index += match![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail();
    space();
    const char = text[index];
    if (char === '{') {
      index++;
      space();
      if (text[index] === '}') {
        index++;
        return;
      }
      for (;;) {
        space();
        if (text[index] !== '"') fail();
        string();
        space();
        if (text[index] !== ':') fail();
        index++;
        value(depth + 1);
        space();
        if (text[index] === ',') index++;
        else if (text[index] === '}') {
          index++;
          return;
        } else fail();
      }
    } else if (char === '[') {
      index++;
      space();
      if (text[index] === ']') {
        index++;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (text[index] === ',') index++;
        else if (text[index] === ']') {
          index++;
          return;
        } else fail();
      }
    } else if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else number();
  };
  try {
    value(0);
    space();
    return index < text.length ? index : -1;
  } catch (offset) {
    return typeof offset === 'number' ? Math.min(offset, text.length) : 0;
  }
}

/** Where a JSON text fails to parse, as "line L, column C: reason". */
export function jsonErrorLocation(text: string, error: unknown): string {
  const reason = (error instanceof Error ? error.message : String(error)).replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
  const position = jsonErrorOffset(text);
  if (position < 0) return reason;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${position >= text.length ? 'the text ends too early' : reason}`;
}
