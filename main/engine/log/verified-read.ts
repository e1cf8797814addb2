// Reading a whole file and its checksum in one pass: the next chunk is read on the thread pool
// while the previous one is checksummed on the main thread, so verifying a segment or snapshot
// costs little more than reading it (on two cores, checksumming hides behind the disk).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { LogFs } from './fs-layer.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 (hex; about 1.7 GB/s here) for integrity checks and background verification; zlib's
 * CRC-32 (about 4 GB/s) on the paths a user waits on: loading a sealed segment, opening a snapshot.
 */
export type ChecksumKind = 'sha256' | 'crc32';

export interface VerifiedRead {
  bytes: Buffer;
  /** The checksum of `bytes[hashFrom..]`: SHA-256 as hex, or the CRC-32 as a decimal string. */
  digest: string;
  hashFrom: number;
}

/** A running checksum of either kind. */
function checksummer(kind: ChecksumKind): { update(bytes: Uint8Array): void; digest(): string } {
  if (kind === 'sha256') {
    const hash = createHash('sha256');
    return { update: (bytes) => void hash.update(bytes), digest: () => hash.digest('hex') };
  }
  let crc = 0;
  return { update: (bytes) => void (crc = crc32(bytes, crc)), digest: () => String(crc) };
}

/**
 * Reads `file` whole with its checksum. `hashFrom` picks where checksumming starts from the
 * first chunk (a snapshot checks its image, not its header); when it cannot tell there (-1),
 * everything is checksummed and `hashFrom` says 0, so the caller checks the part it needs itself.
 */
export async function readVerified(fs: LogFs, file: string, kind: ChecksumKind, hashFrom: (head: Buffer) => number = () => 0): Promise<VerifiedRead> {
  const handle = await fs.open(file, 'r');
  try {
    const size = await handle.size();
    const bytes = Buffer.allocUnsafe(size);
    const sum = checksummer(kind);
    let start = -1;
    let hashed = 0;
    let offset = 0;
    let pending: Promise<number> | null = size > 0 ? handle.readAt(bytes.subarray(0, Math.min(CHUNK_BYTES, size)), 0) : null;
    while (pending) {
      const got = await pending;
      const end = offset + got;
      if (got === 0) break;
      // Issue the next read first, then checksum what just arrived while it runs.
      pending = end < size ? handle.readAt(bytes.subarray(end, Math.min(end + CHUNK_BYTES, size)), end) : null;
      if (start === -1) start = Math.max(0, Math.min(end, hashFrom(bytes.subarray(0, end))));
      if (start >= 0 && end > Math.max(start, hashed)) {
        sum.update(bytes.subarray(Math.max(start, hashed), end));
        hashed = end;
      }
      offset = end;
    }
    return { bytes: offset === size ? bytes : bytes.subarray(0, offset), digest: sum.digest(), hashFrom: Math.max(0, start) };
  } finally {
    await handle.close();
  }
}
