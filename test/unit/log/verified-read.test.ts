import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { nodeFs } from '../../../main/engine/log/fs-layer.js';
import { crc32 } from 'node:zlib';
import { readAndCrc32, readAndHash } from '../../../main/engine/log/verified-read.js';
import { encodeSnapshot, snapshotImageOffset, decodeSnapshot } from '../../../main/engine/log/snapshot-file.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('read and hash in one pass', () => {
  it('returns the bytes and the SHA-256 of a file across many chunks, or of its tail', async () => {
    const dir = tempDir();
    for (const size of [0, 1, 4 * 1024 * 1024, 9 * 1024 * 1024 + 123]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4096) data[i] = i % 251;
      const file = path.join(dir, `f${size}`);
      writeFileSync(file, data);
      const read = await readAndHash(nodeFs, file);
      expect(read.bytes.equals(data)).toBe(true);
      expect(read.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      const tail = await readAndHash(nodeFs, file, () => 1);
      expect(tail.sha256).toBe(createHash('sha256').update(data.subarray(Math.min(1, size))).digest('hex'));
    }
  });

  it('returns the bytes and the CRC-32 of a file across many chunks', async () => {
    const dir = tempDir();
    for (const size of [0, 1, 4 * 1024 * 1024, 9 * 1024 * 1024 + 123]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4093) data[i] = i % 251;
      const file = path.join(dir, `c${size}`);
      writeFileSync(file, data);
      const read = await readAndCrc32(nodeFs, file);
      expect(read.bytes.equals(data)).toBe(true);
      expect(read.crc32).toBe(crc32(data));
      if (size > 0) {
        data[size - 1]! ^= 0x10;
        writeFileSync(file, data);
        expect((await readAndCrc32(nodeFs, file)).crc32).not.toBe(read.crc32);
      }
    }
  });

  it('hashes a snapshot image (not its header) so decoding needs no second pass', async () => {
    const image = Buffer.alloc(5 * 1024 * 1024, 7);
    const file = path.join(tempDir(), 's.snapshot');
    writeFileSync(file, Buffer.concat(await encodeSnapshot('log-segment', image, { journalGen: 3 })));
    const read = await readAndHash(nodeFs, file, snapshotImageOffset);
    const decoded = await decodeSnapshot(read.bytes, 'log-segment', read.sha256);
    expect(decoded.ok).toBe(true);
    const wrong = await decodeSnapshot(read.bytes, 'log-segment', '00');
    expect(wrong).toEqual({ ok: false, reason: 'image checksum (SHA-256) mismatch' });
  });
});
