// Kafka records to log events and back: every kind of bad input becomes an event with a note and
// encodes back to the same bytes, Debezium envelopes are recognized, sizes are bounded.
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  decodeValue,
  eventToMessage,
  hasLongDigitRun,
  jsonErrorLocation,
  NOTE_OVER_LIMIT,
  parseKafkaPosition,
  unsendableReason,
  type KafkaRecordLike,
} from '../../../main/engine/kafka/decode.js';

const MB = 1024 * 1024;
const options = { maxEventBytes: 16 * MB, ingestTime: 1_700_000_000_999 };

function record(value: Buffer | null, extra: Partial<KafkaRecordLike> = {}): KafkaRecordLike {
  return { offset: '42', timestamp: '1700000000000', key: Buffer.from('k-1'), value, headers: {}, ...extra };
}

function roundTrip(value: Buffer | null, extra: Partial<KafkaRecordLike> = {}): { decoded: ReturnType<typeof decodeRecord>; back: ReturnType<typeof eventToMessage> } {
  const decoded = decodeRecord('orders', 3, record(value, extra), options);
  // What the log stores is JSON: make sure nothing depends on object identity.
  const stored = JSON.parse(JSON.stringify(decoded.event)) as typeof decoded.event;
  return { decoded, back: eventToMessage(stored as Parameters<typeof eventToMessage>[0]) };
}

const bytesOf = (value: Buffer | string | null): Buffer | null => (value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));

describe('decodeRecord', () => {
  it('stores JSON values parsed, with position, stream and the record timestamp', () => {
    const { decoded, back } = roundTrip(Buffer.from('{"id":7,"total":12.5}'), { headers: { trace: Buffer.from('t-1') } });
    expect(decoded.event).toMatchObject({
      stream: 'kafka:orders',
      position: 'kafka:orders/3/42',
      key: 'k-1',
      value: { id: 7, total: 12.5 },
      headers: [{ key: 'trace', value: 't-1' }],
      eventTime: 1_700_000_000_000,
      ingestTime: options.ingestTime,
    });
    expect(decoded.event.decodeError).toBeUndefined();
    expect(decoded.noted).toBe(false);
    expect(bytesOf(back.value)?.toString()).toBe('{"id":7,"total":12.5}');
    expect(back.key).toBe('k-1');
    expect(back.headers).toEqual({ trace: 't-1' });
  });

  it('keeps tombstones and null keys as nulls', () => {
    const { decoded, back } = roundTrip(null, { key: null });
    expect(decoded.event.value).toBeNull();
    expect(decoded.event.key).toBeNull();
    expect(decoded.event.decodeError).toBeUndefined();
    expect(back.value).toBeNull();
    expect(back.key).toBeNull();
  });

  it('keeps an empty value as empty text, distinct from a tombstone', () => {
    const { decoded, back } = roundTrip(Buffer.alloc(0));
    expect(decoded.event.value).toBe('');
    expect(decoded.event.decodeError).toMatch(/not JSON.*empty/);
    expect(bytesOf(back.value)?.length).toBe(0);
    expect(back.value).not.toBeNull();
  });

  it('keeps plain text as text with a note and sends the same text back', () => {
    const { decoded, back } = roundTrip(Buffer.from('hello world'));
    expect(decoded.event.value).toBe('hello world');
    expect(decoded.event.decodeError).toBe('not JSON; kept as text');
    expect(back.value).toBe('hello world');
  });

  it('tells a JSON string from text', () => {
    const json = roundTrip(Buffer.from('"quoted"'));
    expect(json.decoded.event.value).toBe('quoted');
    expect(json.decoded.event.decodeError).toBeUndefined();
    expect(json.back.value).toBe('"quoted"');
  });

  it('keeps truncated JSON as text with the parse error', () => {
    const { decoded, back } = roundTrip(Buffer.from('{"id":7,"name":"trunc'));
    expect(decoded.event.value).toBe('{"id":7,"name":"trunc');
    expect(decoded.event.decodeError).toMatch(/invalid JSON/);
    expect(back.value).toBe('{"id":7,"name":"trunc');
  });

  it('does not turn the JSON literal null into a tombstone', () => {
    const { decoded, back } = roundTrip(Buffer.from('null'));
    expect(decoded.event.value).toBe('null');
    expect(back.value).toBe('null');
  });

  it('keeps binary and invalid UTF-8 as bytes (base64) and sends the exact bytes back', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x80]);
    const { decoded, back } = roundTrip(binary);
    expect(decoded.event.value).toBeNull();
    expect(decoded.event.valueBytes).toBe(binary.toString('base64'));
    expect(decoded.event.decodeError).toMatch(/not valid UTF-8; kept as bytes/);
    expect(Buffer.compare(bytesOf(back.value)!, binary)).toBe(0);
  });

  it('names Schema Registry framing in the note', () => {
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 17]), Buffer.from([0x02, 0xff, 0xfe])]);
    expect(decodeValue(framed).note).toMatch(/schema id 17/);
  });

  it('keeps a key that is not UTF-8 as base64 and restores it', () => {
    const key = Buffer.from([0x80, 0x81, 0x82]);
    const { decoded, back } = roundTrip(Buffer.from('{}'), { key });
    expect(decoded.event.key).toBe(key.toString('base64'));
    expect(decoded.event.decodeError).toMatch(/key is not valid UTF-8/);
    expect(Buffer.compare(back.key as Buffer, key)).toBe(0);
  });

  it('keeps repeated and binary headers and restores them', () => {
    const binary = Buffer.from([0xff, 0x00]);
    const { decoded, back } = roundTrip(Buffer.from('1'), { headers: { a: [Buffer.from('x'), Buffer.from('y')], bin: binary } });
    expect(decoded.event.headers).toEqual([
      { key: 'a', value: 'x' },
      { key: 'a', value: 'y' },
      { key: 'bin', value: binary.toString('base64') },
    ]);
    expect(back.headers.a).toEqual(['x', 'y']);
    expect(Buffer.compare(back.headers.bin as Buffer, binary)).toBe(0);
  });

  it('recognizes Debezium envelopes, bare and inside a schema/payload wrapper', () => {
    const envelope = { before: null, after: { id: 1, name: 'Ada' }, source: { connector: 'sqlserver', table: 'Customers' }, op: 'c', ts_ms: 1 };
    const bare = decodeRecord('cdc', 0, record(Buffer.from(JSON.stringify(envelope))), options);
    expect(bare.event.op).toBe('c');
    expect(bare.event.value).toEqual(envelope);
    const wrapped = decodeRecord('cdc', 0, record(Buffer.from(JSON.stringify({ schema: { type: 'struct' }, payload: { ...envelope, op: 'u' } }))), options);
    expect(wrapped.event.op).toBe('u');
    expect(wrapped.event.value).toEqual({ ...envelope, op: 'u' });
    // A truncate ('t') is an envelope without a row op.
    const truncate = decodeRecord('cdc', 0, record(Buffer.from(JSON.stringify({ ...envelope, op: 't' }))), options);
    expect(truncate.event.op).toBeUndefined();
    // Something that merely has an `op` field is not an envelope.
    expect(decodeRecord('x', 0, record(Buffer.from('{"op":"c","amount":1}')), options).event.op).toBeUndefined();
  });

  it('keeps the original bytes when JSON numbers would lose precision', () => {
    const text = '{"id":12345678901234567890,"ts_ns":1700000000000000001}';
    const { decoded, back } = roundTrip(Buffer.from(text));
    expect(decoded.event.decodeError).toMatch(/beyond 2\^53/);
    expect(bytesOf(back.value)?.toString()).toBe(text);
    // Ordinary 13-digit millisecond timestamps do not trigger it.
    expect(roundTrip(Buffer.from('{"ts_ms":1700000000000}')).decoded.event.decodeError).toBeUndefined();
  });

  it('finds 16 digits in a row wherever they are, as a byte-by-byte scan does', () => {
    const byteByByte = (bytes: Buffer): boolean => {
      let run = 0;
      for (const byte of bytes) if ((run = byte >= 0x30 && byte <= 0x39 ? run + 1 : 0) >= 16) return true;
      return false;
    };
    let seed = 7;
    const random = (below: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % below;
    let found = 0;
    for (let round = 0; round < 20_000; round++) {
      // Digit runs of 0-20 between other bytes ('/' and ':' sit just outside '0'-'9'), any offset.
      const parts: string[] = [];
      for (let piece = random(6); piece >= 0; piece--) parts.push('0123456789'.repeat(3).slice(random(10), random(10) + random(21)), '/:x"'[random(4)]!.repeat(random(3)));
      const bytes = Buffer.from(parts.join(''));
      const expected = byteByByte(bytes);
      if (expected) found++;
      expect(hasLongDigitRun(bytes), bytes.toString()).toBe(expected);
    }
    expect(found).toBeGreaterThan(500);
    for (const [text, expected] of [['1234567890123456', true], ['123456789012345', false], ['x1234567890123456', true], ['1234567x123456789', false], ['12345678901234567890', true], ['', false]] as const) {
      expect(hasLongDigitRun(Buffer.from(text)), text).toBe(expected);
    }
  });

  it('stores a value over the size limit as metadata only, and replay skips it', () => {
    const big = Buffer.alloc(2 * MB, 0x61);
    const decoded = decodeRecord('orders', 0, record(big), { ...options, maxEventBytes: MB });
    expect(decoded.oversized).toBe(true);
    expect(decoded.event.value).toBeNull();
    expect(decoded.event.valueBytes).toBeUndefined();
    expect(decoded.event.key).toBe('k-1');
    expect(decoded.event.decodeError).toContain(NOTE_OVER_LIMIT);
    expect(decoded.event.decodeError).toMatch(/2\.0 MB/);
    expect(decoded.storedBytes).toBeLessThan(4096);
    expect(unsendableReason(decoded.event as Parameters<typeof unsendableReason>[0])).toMatch(/size limit/);
  });

  it('falls back to the ingest time when a record has no timestamp', () => {
    expect(decodeRecord('t', 0, record(Buffer.from('1'), { timestamp: '-1' }), options).event.eventTime).toBe(options.ingestTime);
  });
});

describe('helpers', () => {
  it('parses positions', () => {
    expect(parseKafkaPosition('kafka:my.topic-1/12/3456')).toEqual({ topic: 'my.topic-1', partition: 12, offset: 3456 });
    expect(parseKafkaPosition('pg:0/16B3748:1')).toBeUndefined();
  });

  it('locates JSON errors by line and column', () => {
    let error: unknown;
    const text = '{\n  "a": 1,\n  "b": }';
    try {
      JSON.parse(text);
    } catch (caught) {
      error = caught;
    }
    expect(jsonErrorLocation(text, error)).toMatch(/^line 3, column \d+/);
  });

  it('encodes events from other sources (JSON keys) as JSON text', () => {
    const message = eventToMessage({ key: { id: 1 }, value: { after: { id: 1 } }, headers: [] });
    expect(message.key).toBe('{"id":1}');
    expect(message.value).toBe('{"after":{"id":1}}');
  });
});

describe('jsonErrorOffset', () => {
  it('finds the first syntax error', async () => {
    const { jsonErrorOffset } = await import('../../../main/engine/kafka/decode.js');
    expect(jsonErrorOffset('{"a":1}')).toBe(-1);
    expect(jsonErrorOffset('{"a":1,}')).toBe(7);
    expect(jsonErrorOffset('[1, 2')).toBe(5);
    expect(jsonErrorOffset('{"a": tru}')).toBe(6);
    expect(jsonErrorOffset('{"a":"x\\q"}')).toBe(8);
    expect(jsonErrorOffset('1 2')).toBe(2);
    expect(jsonErrorOffset('  {"a": [1, {"b": null}], "c": -1.5e3}  ')).toBe(-1);
  });
});

describe('JSON text kept as received', () => {
  it('stores the record text verbatim when it is the value, and reads back the same value after a restart', async () => {
    const { openEventLog } = await import('../../../main/engine/log/index.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-raw-json-'));
    try {
      const texts = [
        '{ "id" : 1, "note": "spaces kept" }', // verbatim: what Kafka held
        '{\n  "id": 2,\n  "pretty": true\n}', // spans lines: serialized again (a journal line is one line)
        JSON.stringify({ schema: { type: 'struct' }, payload: { before: null, after: { id: 3 }, source: { table: 't' }, op: 'c' } }), // unwrapped: serialized
        '{"id":4,"big":12345678901234567890}', // precision note: serialized, bytes kept
      ];
      const events = texts.map((text, i) => decodeRecord('raw', 0, record(Buffer.from(text), { offset: String(i) }), options).event);
      let log = await openEventLog({ dir, backgroundVerifyDelayMs: null });
      expect((await log.append(events)).appended).toBe(4);
      const stored = async () => (await log.query(`SELECT value FROM events WHERE stream = 'kafka:raw' ORDER BY seq`, { maxRows: 100, timeoutMs: 10_000 })).rows.map((row) => row[0]);
      const expected = [texts[0], '{"id":2,"pretty":true}', '{"before":null,"after":{"id":3},"source":{"table":"t"},"op":"c"}', '{"id":4,"big":12345678901234567000}'];
      expect(await stored()).toEqual(expected);
      await log.close();
      // After a restart (journal and snapshot), the same text and values.
      log = await openEventLog({ dir, backgroundVerifyDelayMs: null });
      expect(await stored()).toEqual(expected);
      const page = await log.read({ stream: 'kafka:raw', limit: 10 });
      expect([...page.events].sort((a, b) => a.seq - b.seq).map((event) => event.value)).toEqual(events.map((event) => event.value));
      await log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
