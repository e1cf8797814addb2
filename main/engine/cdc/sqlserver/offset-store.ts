// Stored SQL Server positions, one small JSON file per capture in the workspace's local folder
// (`.eddy/cdc/sqlserver/<name>.json`). Written only after the event log acknowledged the events it
// covers, atomically (temp file, fsync, rename, fsync of the folder), so a crash leaves either the
// old or the new position, never a torn one. Holds no secret: host, port, database and tables only.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EddyError } from '../../../../shared/contract.js';
import type { ChangePosition, Lsn } from './lsn.js';

const LsnText = z.string().regex(/^[0-9a-f]{20}$/);

export const StoredCaptureSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  server: z.string(),
  database: z.string(),
  tables: z.array(z.string()),
  position: z.object({ commitLsn: LsnText, changeLsn: LsnText, serial: z.number().int().min(0) }).nullable(),
  scannedTo: LsnText.nullable(),
  /** Per-table first LSN when the capture began at each table's oldest retained change (reader.ts). */
  floors: z.record(z.string(), LsnText).optional(),
  snapshot: z.object({ lsn: LsnText, completedAt: z.number(), rows: z.number() }).nullable(),
  updatedAt: z.number(),
});
export type StoredCapture = z.infer<typeof StoredCaptureSchema>;

export class OffsetStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  static forCapture(localDir: string, name: string): OffsetStore {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name.startsWith('.')) throw new EddyError('VALIDATION', `"${name}" is not a valid capture name.`);
    return new OffsetStore(path.join(localDir, 'cdc', 'sqlserver', `${name}.json`));
  }

  async load(): Promise<StoredCapture | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    const parsed = StoredCaptureSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new EddyError('VALIDATION', `The stored SQL Server position ${this.file} is not valid (${parsed.error.issues[0]?.message}); move it away to start over.`);
    return parsed.data;
  }

  /** Serialized: saves never overtake each other. */
  save(state: StoredCapture): Promise<void> {
    const next = this.writing.then(() => this.write(state));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async write(state: StoredCapture): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true });
    const temp = `${this.file}.tmp-${process.pid}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(state, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
    try {
      const folder = await open(dir, 'r');
      await folder.sync().finally(() => folder.close());
    } catch {
      // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
    }
  }

  /** Keeps the old file beside as `<name>.<reason>-<time>.json` (for a re-snapshot after a gap). */
  async retire(reason: string): Promise<void> {
    try {
      await rename(this.file, this.file.replace(/\.json$/, `.${reason}-${Date.now()}.json`));
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') await rm(this.file, { force: true });
    }
  }
}

export function storedPosition(position: ChangePosition | null): StoredCapture['position'] {
  return position ? { commitLsn: position.commitLsn, changeLsn: position.changeLsn, serial: position.serial } : null;
}

export function storedLsn(lsn: Lsn | null): string | null {
  return lsn;
}
