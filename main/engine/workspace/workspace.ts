// Owns the workspace folder: a directory of plain files a team keeps in git (eddy-workspace.json,
// connections without secrets, transforms, tests, pipelines, pinned samples) plus a local `.eddy/`
// folder (event log, state; gitignored). Opens the bundled demo as a working copy in the user's
// data folder so the app's own files are never modified.
import { cp, mkdir, readFile, stat, writeFile, access } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import path from 'node:path';
import { z } from 'zod';
import { EddyError } from '../../../shared/contract.js';
import { NewEventSchema, type NewEvent } from '../../../shared/events.js';
import type { EngineSettings } from '../settings.js';

export const WORKSPACE_FILE = 'eddy-workspace.json';

const WorkspaceFileSchema = z.object({
  name: z.string().min(1),
  version: z.literal(1),
  description: z.string().optional(),
  /** JSONL files of captured events bundled with the workspace, imported into its log on open. */
  samples: z.array(z.string()).default([]),
});
export type WorkspaceFile = z.infer<typeof WorkspaceFileSchema>;

export interface OpenedWorkspace {
  root: string;
  isDemo: boolean;
  file: WorkspaceFile;
  /** Local, gitignored state: the event log and state store live under here. */
  localDir: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export async function openWorkspace(settings: EngineSettings): Promise<OpenedWorkspace> {
  let root: string;
  let isDemo = false;
  if (settings.workspace) {
    root = settings.workspace;
    await mkdir(root, { recursive: true });
    if (!(await exists(path.join(root, WORKSPACE_FILE)))) {
      const file: WorkspaceFile = { name: path.basename(root), version: 1, samples: [] };
      await writeFile(path.join(root, WORKSPACE_FILE), JSON.stringify(file, null, 2) + '\n');
    }
  } else {
    isDemo = true;
    const bundled = path.join(settings.resourcesDir, 'demo');
    if (!(await exists(path.join(bundled, WORKSPACE_FILE)))) {
      throw new EddyError('NOT_FOUND', `The bundled demo workspace is missing (looked in ${bundled}).`);
    }
    root = path.join(settings.dataDir, 'demo-workspace');
    if (!(await exists(path.join(root, WORKSPACE_FILE)))) {
      await mkdir(settings.dataDir, { recursive: true });
      await cp(bundled, root, { recursive: true });
    }
  }
  let file: WorkspaceFile;
  try {
    file = WorkspaceFileSchema.parse(JSON.parse(await readFile(path.join(root, WORKSPACE_FILE), 'utf8')));
  } catch (error) {
    throw new EddyError('VALIDATION', `${WORKSPACE_FILE} in ${root} is not a valid workspace file: ${error instanceof Error ? error.message : String(error)}`);
  }
  const localDir = path.join(root, '.eddy');
  await mkdir(localDir, { recursive: true });
  if (!(await exists(path.join(localDir, '.gitignore')))) await writeFile(path.join(localDir, '.gitignore'), '*\n');
  return { root, isDemo, file, localDir };
}

export interface SampleImportReport {
  file: string;
  events: number;
  invalid: number;
  skipped: boolean;
}

/**
 * Imports the workspace's sample files into the log in batches. A file already imported with the
 * same size and modification time is skipped; otherwise re-importing is harmless because the log
 * stores each source position once.
 */
export async function importSamples(
  workspace: OpenedWorkspace,
  append: (events: NewEvent[]) => Promise<unknown>,
  onInvalid: (message: string) => void,
): Promise<SampleImportReport[]> {
  const markerFile = path.join(workspace.localDir, 'imported-samples.json');
  const markers: Record<string, string> = (await exists(markerFile)) ? (JSON.parse(await readFile(markerFile, 'utf8')) as Record<string, string>) : {};
  const reports: SampleImportReport[] = [];
  for (const relative of workspace.file.samples) {
    const file = path.resolve(workspace.root, relative);
    if (!file.startsWith(workspace.root + path.sep)) {
      onInvalid(`Sample file ${relative} is outside the workspace; ignored.`);
      continue;
    }
    let info;
    try {
      info = await stat(file);
    } catch {
      onInvalid(`Sample file ${relative} listed in ${WORKSPACE_FILE} does not exist.`);
      continue;
    }
    const marker = `${info.size}:${info.mtimeMs}`;
    if (markers[relative] === marker) {
      reports.push({ file: relative, events: 0, invalid: 0, skipped: true });
      continue;
    }
    let batch: NewEvent[] = [];
    let count = 0;
    let invalid = 0;
    let lineNumber = 0;
    const lines = readline.createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      try {
        batch.push(NewEventSchema.parse(JSON.parse(line)));
      } catch (error) {
        invalid++;
        if (invalid <= 5) onInvalid(`${relative}:${lineNumber}: not a valid event (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); skipped.`);
        continue;
      }
      if (batch.length >= 1000) {
        await append(batch);
        count += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await append(batch);
      count += batch.length;
    }
    markers[relative] = marker;
    reports.push({ file: relative, events: count, invalid, skipped: false });
  }
  await writeFile(markerFile, JSON.stringify(markers, null, 2));
  return reports;
}
