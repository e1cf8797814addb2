// The append-only journal: the source of truth for what sql.js holds only in memory (the log's
// active segment, the state store). Records are framed LevelDB-style so a reader can tell a torn
// final write (dropped) from damage in the middle (quarantined):
//
//   offset 0  u32 magic 'EDJ1'
//          4  u32 payload length
//          8  u8  record type, 3 bytes zero
//         12  u32 CRC32C over bytes 4..12 and the payload
//         16  payload
//
// An append resolves only after the bytes are written and fdatasync'd. A failed write or sync
// truncates the file back to the last good record, so a retry never leaves garbage in the middle.
import { constants } from 'node:fs';
import { crc32c } from './crc32c.js';
import type { DurabilityHooks } from './atomic-file.js';
import type { LogFileHandle, LogFs } from './fs-layer.js';

export const RECORD_MAGIC = 0x31_4a_44_45; // 'EDJ1' little-endian
export const HEADER_BYTES = 16;
/** Refuse to believe a length field beyond this: it is damage, not a record. */
export const MAX_RECORD_BYTES = 1 << 30;

const MAGIC_BYTES = (() => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(RECORD_MAGIC, 0);
  return bytes;
})();

export interface JournalRecord {
  type: number;
  payload: Buffer;
  offset: number;
}

export interface JournalScan {
  records: JournalRecord[];
  /** End of the last good record: where the next append goes after recovery. */
  validEnd: number;
  /** Bytes after the last good record that do not form a record (a torn final write). */
  tornTail: { offset: number; bytes: number } | null;
  /** Damaged ranges with good records after them: real corruption. */
  corrupt: { offset: number; bytes: number }[];
}

export function encodeHeader(type: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(RECORD_MAGIC, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt8(type, 8);
  const crc = crc32c(payload, crc32c(header, 0, 4, 12));
  header.writeUInt32LE(crc, 12);
  return header;
}

function recordAt(buffer: Buffer, offset: number): JournalRecord | null {
  if (buffer.length - offset < HEADER_BYTES) return null;
  if (buffer.readUInt32LE(offset) !== RECORD_MAGIC) return null;
  const length = buffer.readUInt32LE(offset + 4);
  if (length > MAX_RECORD_BYTES || offset + HEADER_BYTES + length > buffer.length) return null;
  if (buffer[offset + 9] !== 0 || buffer[offset + 10] !== 0 || buffer[offset + 11] !== 0) return null;
  const crc = crc32c(buffer, crc32c(buffer, 0, offset + 4, offset + 12), offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  if (crc !== buffer.readUInt32LE(offset + 12)) return null;
  return { type: buffer.readUInt8(offset + 8), payload: buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length), offset };
}

/** Reads every good record; classifies whatever is not a record as a torn tail or corruption. */
export function scanJournal(buffer: Buffer): JournalScan {
  const records: JournalRecord[] = [];
  const corrupt: JournalScan['corrupt'] = [];
  let offset = 0;
  let validEnd = 0;
  while (offset < buffer.length) {
    const record = recordAt(buffer, offset);
    if (record) {
      records.push(record);
      offset += HEADER_BYTES + record.payload.length;
      validEnd = offset;
      continue;
    }
    // Not a record here: look for the next good one. If there is none, this is the torn tail.
    let next = -1;
    for (let probe = buffer.indexOf(MAGIC_BYTES, offset + 1); probe !== -1; probe = buffer.indexOf(MAGIC_BYTES, probe + 1)) {
      if (recordAt(buffer, probe)) {
        next = probe;
        break;
      }
    }
    if (next === -1) return { records, validEnd, tornTail: { offset, bytes: buffer.length - offset }, corrupt };
    corrupt.push({ offset, bytes: next - offset });
    offset = next;
  }
  return { records, validEnd, tornTail: null, corrupt };
}

export class JournalWriter {
  private constructor(
    private readonly handle: LogFileHandle,
    readonly path: string,
    private end: number,
    private readonly hooks: DurabilityHooks | undefined,
    /** Opened with O_DSYNC: a completed write is already durable, no separate fdatasync needed. */
    private readonly syncOnWrite: boolean,
  ) {}

  /** Opens (creating if needed) and truncates to `validEnd`, dropping a torn tail found by a scan. */
  static async open(fs: LogFs, path: string, options: { validEnd?: number; hooks?: DurabilityHooks | undefined; syncDir?: string } = {}): Promise<JournalWriter> {
    const existing = await fs.sizeOf(path);
    // O_DSYNC makes each write durable on return (one system call and one thread-pool round trip
    // per group instead of write + fdatasync). Where the platform has no O_DSYNC (Windows), fall back.
    const dsync = typeof constants.O_DSYNC === 'number' && constants.O_DSYNC !== 0;
    const flags = dsync
      ? constants.O_RDWR | constants.O_DSYNC | (existing === null ? constants.O_CREAT | constants.O_EXCL : 0)
      : existing === null
        ? 'wx+'
        : 'r+';
    const handle = await fs.open(path, flags);
    try {
      let end = existing ?? 0;
      if (options.validEnd !== undefined && options.validEnd < end) {
        await handle.truncate(options.validEnd);
        await handle.datasync();
        end = options.validEnd;
      }
      // A new file's directory entry must be durable before any record in it is acknowledged.
      if (existing === null && options.syncDir) await fs.syncDir(options.syncDir);
      return new JournalWriter(handle, path, end, options.hooks, dsync);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  get size(): number {
    return this.end;
  }

  /** Appends records (each a type and payload chunks) and syncs. All or nothing as far as readers can tell. */
  async append(records: { type: number; payload: Buffer }[]): Promise<void> {
    const buffers: Buffer[] = [];
    let total = 0;
    for (const record of records) {
      const header = encodeHeader(record.type, record.payload);
      buffers.push(header, record.payload);
      total += header.length + record.payload.length;
    }
    const start = this.end;
    try {
      if (this.hooks) {
        const joined = Buffer.concat(buffers, total);
        const half = Math.max(1, Math.floor(total / 2));
        await this.handle.writeAt([joined.subarray(0, half)], start);
        await this.hooks.at('journal-write', this.path);
        await this.handle.writeAt([joined.subarray(half)], start + half);
        await this.hooks.at('journal-sync', this.path);
      } else {
        await this.handle.writeAt(buffers, start);
      }
      if (!this.syncOnWrite) await this.handle.datasync();
      this.end = start + total;
    } catch (error) {
      // Leave no partial record behind: the retry writes at the same offset. After a failed sync the
      // page cache may hold pages the disk never got, so the bytes are rewritten, not trusted.
      await this.handle.truncate(start).catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
