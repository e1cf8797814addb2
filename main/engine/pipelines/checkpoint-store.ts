// Durable checkpoints of one pipeline run, in the workspace's local folder: a checksummed journal
// (one line per prepared epoch or committed checkpoint with its state delta, synced before the
// call returns) and a compacted snapshot written temp file -> fsync -> rename -> fsync(dir). A
// torn last line is dropped on load; anything else corrupt is reported and never silently used.
//
// This is the app's CheckpointStore; the exported runner keeps the same records in Kafka (state
// delta -> compacted changelog topic, positions -> committed offsets).
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { JsonValue } from '../../../shared/events.js';
import type { Checkpoint, CheckpointStore, PendingEpoch, RestoredCheckpoint, StateWrite } from './model.js';

const SNAPSHOT = 'checkpoint.snapshot.json';
const JOURNAL = 'checkpoint.journal';
const COMPACT_BYTES = 8 * 1024 * 1024;
const COMPACT_COMMITS = 500;

type JournalEntry = { type: 'commit'; checkpoint: Checkpoint; writes: StateWrite[] } | { type: 'prepare'; pending: PendingEpoch };

interface SnapshotFile {
  version: 1;
  checkpoint: Checkpoint | null;
  state: [string, string, JsonValue][];
}

function encodeLine(entry: JournalEntry): Buffer {
  const json = JSON.stringify(entry);
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `, 'ascii'), body, Buffer.from('\n')]);
}

function encodeSnapshot(snapshot: SnapshotFile): Buffer {
  const body = JSON.stringify(snapshot);
  return Buffer.from(`${crc32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0')} ${body}\n`, 'utf8');
}

function decodeChecked(line: string): unknown {
  const space = line.indexOf(' ');
  if (space !== 8) throw new Error('no checksum');
  const body = line.slice(space + 1);
  if (crc32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0') !== line.slice(0, 8)) throw new Error('checksum mismatch');
  return JSON.parse(body);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open a directory for syncing; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

export interface FileCheckpointStoreOptions {
  dir: string;
  onProblem?: (message: string) => void;
  /** Test hook: called at named points so a test can crash the process there. */
  hook?: (point: 'journal-appended' | 'snapshot-written') => Promise<void> | void;
}

export class FileCheckpointStore implements CheckpointStore {
  private journal: FileHandle | undefined;
  private journalBytes = 0;
  private commitsSinceSnapshot = 0;
  private state = new Map<string, Map<string, JsonValue>>();
  private last: Checkpoint | undefined;

  constructor(private readonly options: FileCheckpointStoreOptions) {}

  private get snapshotFile(): string {
    return path.join(this.options.dir, SNAPSHOT);
  }

  private get journalFile(): string {
    return path.join(this.options.dir, JOURNAL);
  }

  async load(): Promise<RestoredCheckpoint> {
    await mkdir(this.options.dir, { recursive: true });
    await this.journal?.close();
    this.journal = undefined;
    this.state = new Map();
    this.last = undefined;
    const snapshot = await this.readSnapshot();
    if (snapshot) {
      this.last = snapshot.checkpoint ?? undefined;
      for (const [namespace, key, value] of snapshot.state) this.put(namespace, key, value);
    }
    let pending: PendingEpoch | undefined;
    let text = '';
    try {
      text = await readFile(this.journalFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // The last element is '' after a clean newline, or a torn partial record: never used.
    const lines = text.split('\n');
    lines.pop();
    let goodBytes = 0;
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!;
      let entry: JournalEntry;
      try {
        entry = decodeChecked(line) as JournalEntry;
      } catch (error) {
        // A bad final record is a torn write; a bad record with good ones after it is corruption.
        if (index < lines.length - 1) {
          this.options.onProblem?.(`Checkpoint journal ${this.journalFile}: record ${index + 1} of ${lines.length} is corrupt (${(error as Error).message}); it and later records are ignored.`);
        }
        break;
      }
      goodBytes += Buffer.byteLength(line, 'utf8') + 1;
      if (entry.type === 'prepare') {
        pending = entry.pending;
        continue;
      }
      if (this.last && entry.checkpoint.runId === this.last.runId && entry.checkpoint.id <= this.last.id) continue; // covered by the snapshot
      if (this.last && entry.checkpoint.runId !== this.last.runId) this.state = new Map();
      for (const write of entry.writes) this.apply(write);
      this.last = entry.checkpoint;
      this.commitsSinceSnapshot++;
    }
    // Drop a torn tail so the next append starts on a clean line.
    this.journal = await open(this.journalFile, 'a+');
    const size = (await this.journal.stat()).size;
    if (size !== goodBytes) {
      await this.journal.truncate(goodBytes);
      await this.journal.sync();
    }
    this.journalBytes = goodBytes;
    if (pending && (!this.last ? pending.id !== 1 : pending.runId !== this.last.runId || pending.id !== this.last.id + 1)) pending = undefined;
    return { checkpoint: this.last, pending, state: this.copyState() };
  }

  async prepare(pending: PendingEpoch): Promise<void> {
    await this.append({ type: 'prepare', pending });
  }

  async commit(checkpoint: Checkpoint, writes: StateWrite[]): Promise<void> {
    await this.append({ type: 'commit', checkpoint, writes });
    if (this.last && this.last.runId !== checkpoint.runId) this.state = new Map();
    for (const write of writes) this.apply(write);
    this.last = checkpoint;
    this.commitsSinceSnapshot++;
    if (this.journalBytes > COMPACT_BYTES || this.commitsSinceSnapshot >= COMPACT_COMMITS) await this.compact();
  }

  async reset(): Promise<void> {
    await this.journal?.close();
    this.journal = undefined;
    await rm(this.snapshotFile, { force: true });
    await rm(this.journalFile, { force: true });
    await syncDirectory(this.options.dir);
    this.state = new Map();
    this.last = undefined;
    this.journalBytes = 0;
    this.commitsSinceSnapshot = 0;
    this.journal = await open(this.journalFile, 'a+');
  }

  async close(): Promise<void> {
    await this.journal?.close();
    this.journal = undefined;
  }

  /** Writes the whole state as a snapshot and empties the journal. */
  async compact(): Promise<void> {
    const snapshot: SnapshotFile = { version: 1, checkpoint: this.last ?? null, state: [] };
    for (const [namespace, space] of this.state) for (const [key, value] of space) snapshot.state.push([namespace, key, value]);
    const temp = `${this.snapshotFile}.tmp-${process.pid}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(encodeSnapshot(snapshot));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.snapshotFile);
    await syncDirectory(this.options.dir);
    await this.options.hook?.('snapshot-written');
    // A crash here leaves journal records the snapshot already covers; load() skips them by id.
    const journal = this.requireJournal();
    await journal.truncate(0);
    await journal.sync();
    this.journalBytes = 0;
    this.commitsSinceSnapshot = 0;
  }

  private async readSnapshot(): Promise<SnapshotFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.snapshotFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return decodeChecked(text.trimEnd()) as SnapshotFile;
    } catch (error) {
      const quarantined = `${this.snapshotFile}.corrupt-${Date.now()}`;
      await rename(this.snapshotFile, quarantined);
      this.options.onProblem?.(`Checkpoint snapshot is corrupt (${(error as Error).message}); moved to ${quarantined}. The pipeline restarts without that snapshot.`);
      return undefined;
    }
  }

  private async append(entry: JournalEntry): Promise<void> {
    const journal = this.requireJournal();
    const line = encodeLine(entry);
    await journal.write(line);
    await journal.datasync();
    this.journalBytes += line.length;
    await this.options.hook?.('journal-appended');
  }

  private requireJournal(): FileHandle {
    if (!this.journal) throw new Error('The checkpoint store is not open (call load() first).');
    return this.journal;
  }

  private apply(write: StateWrite): void {
    if (write.value === null) {
      const space = this.state.get(write.namespace);
      space?.delete(write.key);
      if (space && space.size === 0) this.state.delete(write.namespace);
    } else {
      this.put(write.namespace, write.key, write.value);
    }
  }

  private put(namespace: string, key: string, value: JsonValue): void {
    let space = this.state.get(namespace);
    if (!space) this.state.set(namespace, (space = new Map()));
    space.set(key, value);
  }

  private copyState(): Map<string, Map<string, JsonValue>> {
    return new Map([...this.state].map(([namespace, space]) => [namespace, new Map(space)]));
  }
}

/** For dry runs, step-through and pipeline tests: the same contract, nothing on disk. */
export class MemoryCheckpointStore implements CheckpointStore {
  private last: Checkpoint | undefined;
  private pending: PendingEpoch | undefined;
  private state = new Map<string, Map<string, JsonValue>>();
  readonly commits: Checkpoint[] = [];

  async load(): Promise<RestoredCheckpoint> {
    const pending = this.pending && this.pending.id === (this.last?.id ?? 0) + 1 ? this.pending : undefined;
    return { checkpoint: this.last, pending, state: new Map([...this.state].map(([namespace, space]) => [namespace, new Map(space)])) };
  }

  async prepare(pending: PendingEpoch): Promise<void> {
    this.pending = pending;
  }

  async commit(checkpoint: Checkpoint, writes: StateWrite[]): Promise<void> {
    for (const write of writes) {
      let space = this.state.get(write.namespace);
      if (write.value === null) space?.delete(write.key);
      else {
        if (!space) this.state.set(write.namespace, (space = new Map()));
        space.set(write.key, write.value);
      }
    }
    this.last = checkpoint;
    this.commits.push(checkpoint);
  }

  async reset(): Promise<void> {
    this.last = undefined;
    this.pending = undefined;
    this.state = new Map();
  }

  async close(): Promise<void> {}
}
