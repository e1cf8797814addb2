// What a PostgreSQL capture remembers between runs, in the workspace's local folder
// (`.eddy/cdc/postgres/<slot>.json`): which slot and publication it reads, whether its snapshot
// finished, and the last LSN it acknowledged after the log stored everything before it.
//
// The slot's confirmed_flush_lsn on the server is the real resume point; this file lets a
// restart tell "a slot we streamed from has vanished" (a gap) from "a new capture", and drop
// re-sent transactions before they reach the log.
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const CaptureStateFileSchema = z.object({
  version: z.literal(1),
  server: z.string(),
  database: z.string(),
  slotName: z.string(),
  publicationName: z.string(),
  tables: z.array(z.string()),
  /** Eddy created the slot (so it may drop it again after an interrupted snapshot). */
  createdSlot: z.boolean(),
  snapshot: z.enum(['none', 'running', 'done']),
  consistentPoint: z.string().optional(),
  /** Last LSN acknowledged to the slot; everything committed before it is in the log. */
  ackedLsn: z.string().optional(),
  /** Has ever acknowledged a position (so a missing slot means lost changes). */
  streamed: z.boolean(),
  updatedAt: z.number(),
});
export type CaptureStateFile = z.infer<typeof CaptureStateFileSchema>;

export function stateFilePath(localDir: string, slotName: string): string {
  return path.join(localDir, 'cdc', 'postgres', `${slotName}.json`);
}

export async function readCaptureState(file: string): Promise<CaptureStateFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = CaptureStateFileSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** Written to a temp file, synced, and renamed over the old one: never half a file. */
export async function writeCaptureState(file: string, state: CaptureStateFile, sync = true): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  const text = JSON.stringify({ ...state, updatedAt: Date.now() }, null, 2) + '\n';
  if (sync) {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } else {
    await writeFile(temp, text);
  }
  await rename(temp, file);
}
