// Reading a whole file and its SHA-256 in one pass: the next chunk is read on the thread pool
// while the previous one is hashed on the main thread, so verifying a segment or snapshot costs
// little more than reading it (on two cores, hashing hides behind the disk).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { LogFs } from './fs-layer.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface VerifiedRead {
  bytes: Buffer;
  /** SHA-256 (hex) of `bytes[hashFrom..]`. */
  sha256: string;
  hashFrom: number;
}

/**
 * Reads `file` whole. `hashFrom` picks where hashing starts from the first chunk (a snapshot
 * hashes its image, not its header); return -1 to hash nothing here (the caller will decide).
 */
export async function readAndHash(fs: LogFs, file: string, hashFrom: (head: Buffer) => number = () => 0): Promise<VerifiedRead> {
  const handle = await fs.open(file, 'r');
  try {
    const size = await handle.size();
    const bytes = Buffer.allocUnsafe(size);
    const hash = createHash('sha256');
    let start = -1;
    let hashed = 0;
    let offset = 0;
    let pending: Promise<number> | null = size > 0 ? handle.readAt(bytes.subarray(0, Math.min(CHUNK_BYTES, size)), 0) : null;
    while (pending) {
      const got = await pending;
      const end = offset + got;
      if (got === 0) break;
      // Issue the next read first, then hash what just arrived while it runs.
      pending = end < size ? handle.readAt(bytes.subarray(end, Math.min(end + CHUNK_BYTES, size)), end) : null;
      if (start === -1) start = Math.max(0, Math.min(end, hashFrom(bytes.subarray(0, end))));
      if (start >= 0 && end > Math.max(start, hashed)) {
        hash.update(bytes.subarray(Math.max(start, hashed), end));
        hashed = end;
      }
      offset = end;
    }
    return { bytes: offset === size ? bytes : bytes.subarray(0, offset), sha256: hash.digest('hex'), hashFrom: Math.max(0, start) };
  } finally {
    await handle.close();
  }
}

/**
 * Reads `file` whole and computes its CRC-32 (zlib's, about twice as fast as SHA-256 here), the
 * same way: the next chunk is read while the previous one is checksummed. For loading sealed
 * segments, whose manifest entry carries both; background verification keeps using SHA-256.
 */
export async function readAndCrc32(fs: LogFs, file: string): Promise<{ bytes: Buffer; crc32: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const size = await handle.size();
    const bytes = Buffer.allocUnsafe(size);
    let crc = 0;
    let offset = 0;
    let pending: Promise<number> | null = size > 0 ? handle.readAt(bytes.subarray(0, Math.min(CHUNK_BYTES, size)), 0) : null;
    while (pending) {
      const got = await pending;
      if (got === 0) break;
      const end = offset + got;
      pending = end < size ? handle.readAt(bytes.subarray(end, Math.min(end + CHUNK_BYTES, size)), end) : null;
      crc = crc32(bytes.subarray(offset, end), crc);
      offset = end;
    }
    return { bytes: offset === size ? bytes : bytes.subarray(0, offset), crc32: crc };
  } finally {
    await handle.close();
  }
}
