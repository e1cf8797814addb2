import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { nodeFs } from '../../../main/engine/log/fs-layer.js';
import { crc32 } from 'node:zlib';
import { readVerified } from '../../../main/engine/log/verified-read.js';
import { encodeSnapshot, snapshotImageOffset, decodeSnapshot } from '../../../main/engine/log/snapshot-file.js';
import { crc32c } from '../../../main/engine/log/crc32c.js';
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
      const read = await readVerified(nodeFs, file, 'sha256');
      expect(read.bytes.equals(data)).toBe(true);
      expect(read.digest).toBe(createHash('sha256').update(data).digest('hex'));
      const tail = await readVerified(nodeFs, file, 'sha256', () => 1);
      expect(tail.digest).toBe(createHash('sha256').update(data.subarray(Math.min(1, size))).digest('hex'));
    }
  });

  it('returns the bytes and the CRC-32 of a file across many chunks', async () => {
    const dir = tempDir();
    for (const size of [0, 1, 4 * 1024 * 1024, 9 * 1024 * 1024 + 123]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4093) data[i] = i % 251;
      const file = path.join(dir, `c${size}`);
      writeFileSync(file, data);
      const read = await readVerified(nodeFs, file, 'crc32');
      expect(read.bytes.equals(data)).toBe(true);
      expect(read.digest).toBe(String(crc32(data)));
      if (size > 0) {
        data[size - 1]! ^= 0x10;
        writeFileSync(file, data);
        expect((await readVerified(nodeFs, file, 'crc32')).digest).not.toBe(read.digest);
      }
    }
  });

  it('checksums a snapshot image (not its header) so decoding needs no second pass', async () => {
    const image = Buffer.alloc(5 * 1024 * 1024, 7);
    const file = path.join(tempDir(), 's.snapshot');
    writeFileSync(file, Buffer.concat(await encodeSnapshot('log-segment', image, { journalGen: 3 })));
    const read = await readVerified(nodeFs, file, 'crc32', snapshotImageOffset);
    expect(read.hashFrom).toBe(snapshotImageOffset(read.bytes));
    expect(Number(read.digest)).toBe(crc32(image));
    const decoded = await decodeSnapshot(read.bytes, 'log-segment', Number(read.digest));
    expect(decoded.ok).toBe(true);
    const wrong = await decodeSnapshot(read.bytes, 'log-segment', 1);
    expect(wrong).toEqual({ ok: false, reason: 'image checksum (CRC-32) mismatch' });
    // Without a precomputed checksum the image is checked here; a flipped image byte is caught.
    const damaged = Buffer.from(read.bytes);
    damaged[damaged.length - 10]! ^= 1;
    expect(await decodeSnapshot(damaged, 'log-segment')).toEqual({ ok: false, reason: 'image checksum (CRC-32) mismatch' });
  });

  it('still opens a snapshot written with a SHA-256 (before the CRC-32), and catches its damage', async () => {
    const image = Buffer.alloc(64 * 1024, 3);
    const header = Buffer.from(JSON.stringify({ journalGen: 1, version: 1, kind: 'log-segment', imageBytes: image.length, sha256: createHash('sha256').update(image).digest('hex') }));
    const prefix = Buffer.alloc(16);
    prefix.write('EDDYSNAP', 0, 'latin1');
    prefix.writeUInt32LE(header.length, 8);
    prefix.writeUInt32LE(crc32c(header), 12);
    const file = Buffer.concat([prefix, header, image]);
    const decoded = await decodeSnapshot(file, 'log-segment');
    expect(decoded.ok && decoded.header.journalGen).toBe(1);
    file[file.length - 1]! ^= 1;
    expect(await decodeSnapshot(file, 'log-segment')).toEqual({ ok: false, reason: 'image checksum (SHA-256) mismatch' });
  });
});
