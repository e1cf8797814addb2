// Events encoded ahead of the append (EventEncoder / EncodedEvent, what the captures queue) must
// land in the log exactly as the same events appended plainly: same journal bytes, same rows, same
// tails, same duplicate checks and refusals.
import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NewEvent, StoredEvent } from '../../../shared/events.js';
import { attachValueJson, EncodedEvent, EventEncoder, openEventLog, type AppendedEvent, type EventLogOptions } from '../../../main/engine/log/index.js';
import { orderEvent, removeTempDirs, replayAll, tempDir, waitFor } from './helpers.js';

afterAll(removeTempDirs);

const SMALL: Partial<EventLogOptions> = { segmentBytes: 96 * 1024, snapshotBytes: 32 * 1024, backgroundVerifyDelayMs: null };

/** Events covering every column and the byte/character cases of the row layout. */
function mixed(count: number): NewEvent[] {
  const events: NewEvent[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 6;
    if (kind === 0) events.push(orderEvent(i, 'plain'));
    else if (kind === 1) {
      // Non-ASCII everywhere: characters are not bytes, so token offsets must be counted in bytes.
      events.push(orderEvent(i, 'ünïcode', { key: `clé-${i} 東京`, headers: [{ key: 'émoji', value: '🚀 ok' }], decodeError: `note ${i}: naïve` }));
    } else if (kind === 2) {
      // Stream and position that JSON has to escape.
      events.push(orderEvent(i, 'quote"and\\slash', { position: `pos "${i}" \\ tab\t`, op: undefined }));
    } else if (kind === 3) {
      events.push({ stream: 'bytes', position: `b${i}`, key: null, value: null, valueBytes: Buffer.from([0, 255, i & 255]).toString('base64'), decodeError: 'value is not valid UTF-8', eventTime: 1_700_000_000_000 + i, ingestTime: 1_700_000_000_001 + i });
    } else if (kind === 4) {
      // A value whose JSON text came with the event (as the Kafka decoder attaches it).
      const text = `{"after":{"id":${i},"name":"Zoë ${i}"},"op":"u"}`;
      events.push(attachValueJson({ stream: 'attached', position: `a${i}`, key: String(i), value: JSON.parse(text) as NewEvent['value'], op: 'u', eventTime: 1_700_000_000_000 + i, ingestTime: 1_700_000_000_002 + i }, text));
    } else {
      events.push(orderEvent(i, 'plain', { key: null, headers: [{ key: 'a', value: '1' }, { key: 'b', value: '' }] }));
    }
  }
  return events;
}

function journals(dir: string): Map<string, Buffer> {
  const active = path.join(dir, 'active');
  return new Map(
    readdirSync(active)
      .filter((name) => name.endsWith('.journal'))
      .map((name) => [name, readFileSync(path.join(active, name))]),
  );
}

describe('events encoded ahead of the append', () => {
  it('write the same journal bytes as plain appends', async () => {
    // One segment, no snapshot: each log has exactly one journal, whatever the timing.
    const roomy: Partial<EventLogOptions> = { segmentBytes: 64 * 1024 * 1024, snapshotBytes: 64 * 1024 * 1024, backgroundVerifyDelayMs: null };
    const plainDir = tempDir();
    const encodedDir = tempDir();
    const plain = await openEventLog({ dir: plainDir, ...roomy });
    const encoded = await openEventLog({ dir: encodedDir, ...roomy });
    const encoder = encoded.encoder();
    const events = mixed(1200);
    for (let from = 0; from < events.length; from += 100) {
      const slice = events.slice(from, from + 100);
      await plain.append(slice);
      await encoded.append(slice.map((event) => encoder.encode(event)));
    }
    const written = journals(encodedDir);
    expect(written.size).toBe(1);
    expect([...written.values()][0]!.length).toBeGreaterThan(300_000);
    expect(written).toEqual(journals(plainDir));
    await plain.close();
    await encoded.close();
  });

  it('store the same rows and tails as plain appends, across seals and a restart', async () => {
    const plainDir = tempDir();
    const encodedDir = tempDir();
    const plain = await openEventLog({ dir: plainDir, ...SMALL });
    const encoded = await openEventLog({ dir: encodedDir, ...SMALL });
    const plainTail: StoredEvent[] = [];
    const encodedTail: StoredEvent[] = [];
    plain.tail(undefined, (events) => plainTail.push(...events));
    encoded.tail(undefined, (events) => encodedTail.push(...events));
    // Identities for counters and indexes, the whole event on request (read back once, shared).
    const appended: AppendedEvent[] = [];
    const stop = encoded.onAppended((events) => appended.push(...events));
    encoded.onAppended(() => {
      throw new Error('a failing watcher');
    });
    const encoder = encoded.encoder();
    const events = mixed(1200);
    for (let from = 0; from < events.length; from += 100) {
      const slice = events.slice(from, from + 100);
      const queued = slice.map((event) => encoder.encode(event));
      expect(queued.every((event) => event instanceof EncodedEvent)).toBe(true);
      // Plain and encoded events may be mixed in one append.
      if (from === 500) queued[3] = slice[3]!;
      expect(await plain.append(slice)).toEqual({ appended: 100, duplicates: 0, rejected: [] });
      expect(await encoded.append(queued)).toEqual({ appended: 100, duplicates: 0, rejected: [] });
    }
    expect(encodedTail).toEqual(plainTail);
    expect(encodedTail).toHaveLength(1200);
    expect(appended.map((event) => [event.stream, event.seq])).toEqual(plainTail.map((event) => [event.stream, event.seq]));
    expect(appended.map((event) => event.event())).toEqual(encodedTail);
    expect(appended[7]!.event()).toBe(appended[7]!.event());
    stop();
    expect(encodedTail[1]).toMatchObject({ stream: 'ünïcode', key: 'clé-1 東京', headers: [{ key: 'émoji', value: '🚀 ok' }], decodeError: 'note 1: naïve' });

    await waitFor(() => readdirSync(path.join(encodedDir, 'segments')).some((name) => name.endsWith('.sqlite')), 20_000);
    await waitFor(() => readdirSync(path.join(plainDir, 'segments')).some((name) => name.endsWith('.sqlite')), 20_000);
    const stored = await replayAll(encoded);
    expect(stored).toEqual(await replayAll(plain));
    expect(stored.map(({ seq: _seq, size: _size, ...rest }) => rest)).toEqual(events.map((event) => JSON.parse(JSON.stringify({ headers: [], ...event })) as unknown));
    // Columns are cut from the journal bytes by the row layout: a wrong offset shows here.
    const columns = 'SELECT seq, stream, position, key, value, value_bytes, decode_error, headers, op, event_time, ingest_time, size FROM events ORDER BY seq';
    // A query runs per segment, open segments first, so the order of segments in the answer
    // depends on which seals have finished: compare the rows in seq order.
    const bySeq = async (log: typeof plain) => (await log.query(columns, { maxRows: 5000, timeoutMs: 30_000 })).rows.sort((a, b) => Number(a[0]) - Number(b[0]));
    const rows = await bySeq(encoded);
    expect(rows).toEqual(await bySeq(plain));
    expect(rows).toHaveLength(1200);
    expect(rows.map((row) => row[0])).toEqual(Array.from({ length: 1200 }, (_, index) => index + 1));

    await encoded.close();
    await plain.close();
    const reopened = await openEventLog({ dir: encodedDir, ...SMALL });
    expect(await replayAll(reopened)).toEqual(stored);
    // A second capture of the same records, encoded again, stores nothing twice.
    const again = reopened.encoder();
    expect(await reopened.append(events.slice(0, 300).map((event) => again.encode(event)))).toEqual({ appended: 0, duplicates: 300, rejected: [] });
    await reopened.close();
  });

  it('finds duplicates inside one append and against the open segment', async () => {
    const log = await openEventLog({ dir: tempDir(), ...SMALL });
    const encoder = log.encoder();
    const events = mixed(60);
    const first = await log.append([...events.slice(0, 30), ...events.slice(0, 10)].map((event) => encoder.encode(event)));
    expect(first).toEqual({ appended: 30, duplicates: 10, rejected: [] });
    expect(await log.append(events.slice(20, 60).map((event) => encoder.encode(event)))).toEqual({ appended: 30, duplicates: 10, rejected: [] });
    expect(await replayAll(log)).toHaveLength(60);
    await log.close();
  });

  it('leaves invalid events to the append, which refuses them with the reason, and refuses encodings over the log limit', async () => {
    const log = await openEventLog({ dir: tempDir(), ...SMALL, maxEventBytes: 4096 });
    const encoder = log.encoder();
    const bad = { stream: '', position: 'p1', eventTime: 1, ingestTime: 1 } as unknown as NewEvent;
    expect(encoder.encode(bad)).toBe(bad);
    const tooBig = orderEvent(1, 'big', { value: 'x'.repeat(5000) });
    expect(encoder.encode(tooBig)).toBe(tooBig);
    // Encoded under a larger limit than this log's: still refused here, with its size.
    const large = new EventEncoder(1 << 20).encode(orderEvent(2, 'big', { value: 'y'.repeat(6000) }));
    expect(large).toBeInstanceOf(EncodedEvent);
    const fine = encoder.encode(orderEvent(3, 'big'));
    const result = await log.append([bad, tooBig, large, fine]);
    expect(result.appended).toBe(1);
    expect(result.rejected.map((entry) => [entry.position, entry.reason])).toEqual([
      ['p1', 'stream must be a string of 1 to 512 characters'],
      ['big@1', expect.stringMatching(/over the 4096-byte limit/)],
      ['big@2', expect.stringMatching(/^event is 6\d\d\d bytes, over the 4096-byte limit$/)],
    ]);
    expect((await replayAll(log)).map((event) => event.position)).toEqual(['big@3']);
    await log.close();
  });
});
