// The snapshot container: a sql.js image plus the metadata needed to resume from it (which journal
// generation to replay next, the stats at that point), self-verifying so a damaged snapshot is
// detected before it is opened:
//
//   'EDDYSNAP' | u32 header length | u32 CRC32C of header | header JSON | image
//
// The header carries the image's CRC-32 (zlib's), which opening checks, and its SHA-256, which
// snapshots written before the CRC carry alone (checked then) and older Eddy versions check: a
// snapshot stays readable both ways. Sealed segments are plain SQLite files instead (so any SQLite
// tool can open them) and their checksums live in the manifest.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32c } from './crc32c.js';

const MAGIC = Buffer.from('EDDYSNAP', 'latin1');
const PREFIX_BYTES = 16;
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export interface SnapshotHeader {
  version: 1;
  kind: string;
  imageBytes: number;
  /** zlib CRC-32 of the image, checked on opening (on the way to the first page a user sees). */
  crc32?: number;
  /** SHA-256 of the image (hex): alone in snapshots written before the CRC-32. */
  sha256?: string;
  [key: string]: unknown;
}

/**
 * SHA-256 (about 1.1 GB/s here, so at most ~30 ms for a segment). Synchronous on purpose: Node
 * 20's WebCrypto digest copies its input on the main thread and measured twice as slow.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function encodeSnapshot(kind: string, image: Uint8Array, meta: Record<string, unknown>): Promise<Buffer[]> {
  const header: SnapshotHeader = { ...meta, version: 1, kind, imageBytes: image.length, crc32: crc32(image), sha256: sha256Hex(image) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 8);
  prefix.writeUInt32LE(crc32c(json), 12);
  return [prefix, json, Buffer.from(image.buffer, image.byteOffset, image.length)];
}

export type DecodedSnapshot = { ok: true; header: SnapshotHeader; image: Uint8Array } | { ok: false; reason: string };

/**
 * `imageCrc32`: the image's CRC-32 if the caller already computed it while reading (see
 * readVerified); a snapshot that carries only a SHA-256 (an older one) is hashed here.
 */
export async function decodeSnapshot(file: Buffer, kind: string, imageCrc32?: number): Promise<DecodedSnapshot> {
  const parsed = parseSnapshot(file, kind);
  if (!parsed.ok) return parsed;
  const { header, image } = parsed;
  if (typeof header.crc32 === 'number') {
    if ((imageCrc32 ?? crc32(image)) !== header.crc32) return { ok: false, reason: 'image checksum (CRC-32) mismatch' };
  } else if (typeof header.sha256 !== 'string' || sha256Hex(image) !== header.sha256) {
    return { ok: false, reason: 'image checksum (SHA-256) mismatch' };
  }
  return parsed;
}

/** Where the image starts in a snapshot file, from its first bytes (-1 if not decidable there). */
export function snapshotImageOffset(head: Buffer): number {
  if (head.length < PREFIX_BYTES || !head.subarray(0, 8).equals(MAGIC)) return -1;
  const headerBytes = head.readUInt32LE(8);
  return PREFIX_BYTES + headerBytes <= head.length ? PREFIX_BYTES + headerBytes : -1;
}

function parseSnapshot(file: Buffer, kind: string): DecodedSnapshot {
  if (file.length < PREFIX_BYTES || !file.subarray(0, 8).equals(MAGIC)) return { ok: false, reason: 'not a snapshot file (bad magic)' };
  const headerBytes = file.readUInt32LE(8);
  if (headerBytes > MAX_HEADER_BYTES || PREFIX_BYTES + headerBytes > file.length) return { ok: false, reason: 'header length out of range' };
  const json = file.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes);
  if (crc32c(json) !== file.readUInt32LE(12)) return { ok: false, reason: 'header checksum mismatch' };
  let header: SnapshotHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as SnapshotHeader;
  } catch {
    return { ok: false, reason: 'header is not JSON' };
  }
  if (header.version !== 1 || header.kind !== kind) return { ok: false, reason: `unexpected snapshot kind/version ${String(header.kind)}/${String(header.version)}` };
  const image = file.subarray(PREFIX_BYTES + headerBytes);
  if (image.length !== header.imageBytes) return { ok: false, reason: `image is ${image.length} bytes, header says ${header.imageBytes}` };
  return { ok: true, header, image };
}
