// The file operations the log and the state store use, behind one small interface so tests can
// inject failures (a full disk, a rename refused by a virus scanner) without mounting anything.
// Production uses `nodeFs`, a thin layer over node:fs/promises.
import { constants } from 'node:fs';
import fsp from 'node:fs/promises';

export interface LogFileHandle {
  /** Writes all of `buffers` at `position` (never a short write: loops until done or throws). */
  writeAt(buffers: Uint8Array[], position: number): Promise<void>;
  readAt(buffer: Uint8Array, position: number): Promise<number>;
  /** fdatasync: the data and the size, which is all a journal needs. */
  datasync(): Promise<void>;
  /** fsync: data and metadata, for files published by rename. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface LogFs {
  /** flags as node's: 'r', 'r+', 'w', 'wx', 'a', or numeric `fs.constants` flags. */
  open(path: string, flags: string | number): Promise<LogFileHandle>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Size in bytes, or null when the path does not exist. */
  sizeOf(path: string): Promise<number | null>;
  /** Makes a rename or a create in `dir` durable (a no-op where directories cannot be synced). */
  syncDir(dir: string): Promise<void>;
}

function wrapHandle(handle: fsp.FileHandle): LogFileHandle {
  return {
    async writeAt(buffers, position) {
      // One writev for the whole list (one syscall, one flush when opened with O_DSYNC), then
      // plain writes for whatever a short write left over.
      const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      let skip = buffers.length > 1 ? (await handle.writev(buffers, position)).bytesWritten : 0;
      if (skip >= total) return;
      let offset = position;
      for (const whole of buffers) {
        const buffer = skip >= whole.length ? whole.subarray(whole.length) : whole.subarray(skip);
        offset += whole.length - buffer.length;
        skip = Math.max(0, skip - whole.length);
        let done = 0;
        while (done < buffer.length) {
          const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, offset);
          if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
          done += bytesWritten;
          offset += bytesWritten;
        }
      }
    },
    async readAt(buffer, position) {
      let done = 0;
      while (done < buffer.length) {
        const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    },
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    size: async () => (await handle.stat()).size,
    close: () => handle.close(),
  };
}

export const nodeFs: LogFs = {
  async open(path, flags) {
    return wrapHandle(await fsp.open(path, flags));
  },
  // One positional read into a buffer of the file's size: fs.promises.readFile reads in 512 KiB
  // chunks, one thread-pool round trip each, which is several times slower for 30 MB segments.
  async readFile(path) {
    const handle = await fsp.open(path, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(buffer, done, size - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === size ? buffer : buffer.subarray(0, done);
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  copyFile: (from, to) => fsp.copyFile(from, to, constants.COPYFILE_EXCL),
  unlink: (path) => fsp.unlink(path),
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  readdir: (path) => fsp.readdir(path),
  async sizeOf(path) {
    try {
      return (await fsp.stat(path)).size;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw error;
    }
  },
  async syncDir(dir) {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(dir, 'r');
      await handle.sync();
    } catch (error) {
      // Windows cannot open or fsync a directory; NTFS journals the rename itself.
      const code = errorCode(error);
      if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EINVAL') throw error;
    } finally {
      await handle?.close();
    }
  },
};

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Errors that mean "no room left" rather than "broken": appends pause and retry instead of failing. */
export function isNoSpace(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}
