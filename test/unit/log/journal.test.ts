import { describe, it, expect, afterAll } from 'vitest';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32c } from '../../../main/engine/log/crc32c.js';
import { HEADER_BYTES, JournalWriter, encodeHeader, scanJournal } from '../../../main/engine/log/journal.js';
import { nodeFs } from '../../../main/engine/log/fs-layer.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

function record(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([encodeHeader(type, payload), payload]);
}

function journalOf(texts: string[]): Buffer {
  return Buffer.concat(texts.map((t) => record(1, t)));
}

describe('crc32c', () => {
  it('matches the standard check value and continues across chunks', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    const data = Buffer.from('the quick brown fox jumps over the lazy dog, twice over');
    expect(crc32c(data, crc32c(data, 0, 0, 13), 13)).toBe(crc32c(data));
  });
});

describe('journal framing', () => {
  const texts = ['first record', 'second record, a little longer', 'x'.repeat(1000), 'last'];

  it('reads back every record of a clean journal', () => {
    const scan = scanJournal(journalOf(texts));
    expect(scan.records.map((r) => r.payload.toString())).toEqual(texts);
    expect(scan.tornTail).toBeNull();
    expect(scan.corrupt).toEqual([]);
  });

  it('drops a torn final record at every possible cut and keeps the others', () => {
    const full = journalOf(texts);
    const lastStart = full.length - (HEADER_BYTES + 4);
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      const scan = scanJournal(full.subarray(0, cut));
      expect(scan.records.map((r) => r.payload.toString())).toEqual(texts.slice(0, 3));
      expect(scan.tornTail).toEqual({ offset: lastStart, bytes: cut - lastStart });
      expect(scan.validEnd).toBe(lastStart);
      expect(scan.corrupt).toEqual([]);
    }
  });

  it('treats a bit flip in the final record, garbage or zeros after the end as a torn tail', () => {
    const full = journalOf(texts);
    for (let i = 0; i < 200; i++) {
      const damaged = Buffer.from(full);
      const offset = full.length - (HEADER_BYTES + 4) + Math.floor(Math.random() * (HEADER_BYTES + 4));
      damaged[offset]! ^= 1 << Math.floor(Math.random() * 8);
      const scan = scanJournal(damaged);
      expect(scan.records).toHaveLength(3);
      expect(scan.corrupt).toEqual([]);
    }
    expect(scanJournal(Buffer.concat([full, Buffer.alloc(777)])).records).toHaveLength(4);
    expect(scanJournal(Buffer.concat([full, Buffer.from('garbage that is not a record')])).tornTail?.bytes).toBe(28);
  });

  it('reports a damaged record in the middle as corruption and recovers the records after it', () => {
    const full = journalOf(texts);
    const secondStart = HEADER_BYTES + texts[0]!.length;
    for (const offset of [secondStart, secondStart + 5, secondStart + 12, secondStart + HEADER_BYTES + 3]) {
      const damaged = Buffer.from(full);
      damaged[offset]! ^= 0x10;
      const scan = scanJournal(damaged);
      expect(scan.records.map((r) => r.payload.toString())).toEqual([texts[0], texts[2], texts[3]]);
      expect(scan.corrupt).toEqual([{ offset: secondStart, bytes: HEADER_BYTES + texts[1]!.length }]);
      expect(scan.tornTail).toBeNull();
    }
  });

  it('writer appends, survives reopen with a torn tail truncated, and keeps appending after it', async () => {
    const file = path.join(tempDir(), 'j.journal');
    const writer = await JournalWriter.open(nodeFs, file);
    await writer.append([{ type: 1, payload: Buffer.from('a') }]);
    await writer.append([
      { type: 1, payload: Buffer.from('b') },
      { type: 2, payload: Buffer.from('c') },
    ]);
    await writer.close();
    writeFileSync(file, Buffer.concat([readFileSync(file), record(1, 'torn').subarray(0, 10)]));
    const scan = scanJournal(readFileSync(file));
    expect(scan.records.map((r) => [r.type, r.payload.toString()])).toEqual([
      [1, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
    const again = await JournalWriter.open(nodeFs, file, { validEnd: scan.validEnd });
    await again.append([{ type: 1, payload: Buffer.from('d') }]);
    await again.close();
    const rescan = scanJournal(readFileSync(file));
    expect(rescan.records.map((r) => r.payload.toString())).toEqual(['a', 'b', 'c', 'd']);
    expect(rescan.tornTail).toBeNull();
  });
});
