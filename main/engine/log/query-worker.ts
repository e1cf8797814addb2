// Explorer SQL runs in a worker thread, never on the engine's event loop:
//   - sql.js cannot be interrupted (no progress handler is exposed), so the only real time limit
//     is terminating the thread; the worker also checks the clock between rows to stop cleanly;
//   - the worker holds its own copies of the segments (sealed files read from disk, open segments
//     sent as images), opened with `PRAGMA query_only`: a write cannot reach the log;
//   - its memory (sql.js heap, loaded copies) is released by ending it after a quiet minute.
//
// The worker's code is the self-contained function below, started with `eval: true` so the log
// needs no separate entry file in any bundle; it loads sql.js from the path the parent resolved.
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import type SqlJs from 'sql.js';
import type { Database as SqlJsDatabase } from 'sql.js';
import { EddyError } from '../../../shared/contract.js';
import type { JsonValue } from '../../../shared/events.js';

export type WorkerSegment =
  | { key: string; kind: 'file'; path: string; sha256: string; bytes: number; hidden: [string, number][] }
  | { key: string; kind: 'image'; image?: Uint8Array | undefined; hidden: [string, number][]; maxSeq?: number };

interface QueryMessage {
  type: 'query';
  id: number;
  sql: string;
  maxRows: number;
  deadline: number;
  segments: WorkerSegment[];
}

type WorkerReply =
  | { id: number; ok: true; columns: string[]; rows: JsonValue[][]; truncated: boolean; perSegment: boolean; cached: string[] }
  | { id: number; ok: false; kind: 'sql' | 'timeout' | 'corrupt' | 'missing' | 'internal'; message: string; file?: string; cached: string[] };

export interface QueryOutcome {
  columns: string[];
  rows: JsonValue[][];
  truncated: boolean;
  /** The statement ran once per segment (too many segments to join): aggregates and ORDER BY are per segment. */
  perSegment: boolean;
}

/** SQLite's limit on attached databases in sql.js' build: more segments than this run one by one. */
export const MAX_JOINED_SEGMENTS = 10;
/** A join holds every segment in the worker at once: above this many bytes they run one by one (each loaded in turn, within the cache budget). */
export const MAX_JOINED_BYTES = 256 * 1024 * 1024;

/* The worker. Self-contained: no imports, no outer references (it is shipped as source text). */
function queryWorkerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const fs = require('node:fs') as typeof NodeFs;
  const crypto = require('node:crypto') as typeof NodeCrypto;
  const initSqlJs = require(workerData.sqlJsPath as string) as typeof SqlJs;
  /* eslint-enable @typescript-eslint/no-require-imports */
  type Db = SqlJsDatabase;
  type Entry = { db: Db; bytes: number; used: number; hiddenSignature: string };
  const budget = workerData.cacheBytes as number;
  const MAX_JOINED = workerData.maxJoined as number;
  const MAX_JOINED_BYTES = workerData.maxJoinedBytes as number;
  const cache = new Map<string, Entry>();
  const sqlReady = initSqlJs();
  let clock = 0;

  const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;
  const fail = (kind: string, message: string, file?: string): Error => Object.assign(new Error(message), { kind, file });

  /** Keys a query in progress holds (attached to its join): never evicted under it. */
  const pinned = new Set<string>();
  const evict = (keep: string): void => {
    let total = 0;
    for (const entry of cache.values()) total += entry.bytes;
    const order = [...cache.entries()].filter(([key]) => key !== keep && !pinned.has(key)).sort((a, b) => a[1].used - b[1].used);
    for (const [key, entry] of order) {
      if (total <= budget) break;
      entry.db.close();
      cache.delete(key);
      total -= entry.bytes;
    }
  };

  const open = async (segment: WorkerSegment): Promise<Entry> => {
    const hit = cache.get(segment.key);
    if (hit) {
      hit.used = ++clock;
      return hit;
    }
    const SQL = await sqlReady;
    let bytes: Uint8Array;
    if (segment.kind === 'file') {
      let file: Buffer;
      try {
        file = fs.readFileSync(segment.path);
      } catch (error) {
        // Compacted or dropped since the list was made: the parent retries with a fresh list.
        if ((error as { code?: string }).code === 'ENOENT') throw fail('missing', `Segment file ${segment.path} is gone.`, segment.path);
        throw error;
      }
      if (file.length !== segment.bytes || crypto.createHash('sha256').update(file).digest('hex') !== segment.sha256) {
        throw fail('corrupt', `Segment file ${segment.path} does not match its checksum.`, segment.path);
      }
      bytes = file;
    } else {
      if (!segment.image) throw fail('internal', `Segment image ${segment.key} was not sent.`);
      bytes = segment.image;
    }
    // A newer image of the same open segment replaces the older one.
    const family = segment.key.replace(/:[^:]*$/, ':');
    for (const [key, entry] of cache) {
      if (key !== segment.key && key.startsWith(family) && segment.kind === 'image') {
        entry.db.close();
        cache.delete(key);
      }
    }
    const db = new SQL.Database(bytes);
    db.run('PRAGMA query_only = 1');
    const entry: Entry = { db, bytes: bytes.length, used: ++clock, hiddenSignature: '' };
    cache.set(segment.key, entry);
    evict(segment.key);
    return entry;
  };

  const COLUMNS = 'seq, stream, position, key, value, headers, op, event_time, ingest_time, size, decode_error, value_bytes';
  /** Rows a segment's reader must not see: hidden by stream settings, or not durable when its image was taken. */
  const hiddenCondition = (hidden: [string, number][], maxSeq: number | undefined): string | null => {
    if (hidden.length === 0 && maxSeq === undefined) return null;
    const parts = hidden.map(([stream, below]) => `(stream = ${quote(stream)} AND seq < ${Number(below)})`);
    // Rows of a write still in flight when the image was taken are not durable yet: leave them out.
    if (maxSeq !== undefined) parts.push(`seq > ${Number(maxSeq)}`);
    return parts.join(' OR ');
  };
  const applyHidden = (entry: Entry, hidden: [string, number][], maxSeq: number | undefined): void => {
    const signature = JSON.stringify([hidden, maxSeq ?? null]);
    if (signature === entry.hiddenSignature) return;
    entry.db.run('PRAGMA query_only = 0');
    try {
      entry.db.run('DROP VIEW IF EXISTS temp.events');
      const condition = hiddenCondition(hidden, maxSeq);
      if (condition) entry.db.run(`CREATE TEMP VIEW events AS SELECT ${COLUMNS} FROM main.event_rows WHERE NOT (${condition})`);
    } finally {
      entry.db.run('PRAGMA query_only = 1');
    }
    entry.hiddenSignature = signature;
  };

  const toJson = (value: unknown): JsonValue => {
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64');
    return value as JsonValue;
  };

  type Outcome = { columns: string[]; rows: JsonValue[][]; truncated: boolean; perSegment: boolean };

  /** Steps `sql` on `db`, adding rows to `into` up to maxRows; false when it stopped at the limit. */
  const collect = (db: Db, message: QueryMessage, into: { columns: string[]; rows: JsonValue[][] }, steps: { n: number }): boolean => {
    let statement;
    try {
      statement = db.prepare(message.sql);
    } catch (error) {
      throw fail('sql', (error as Error).message);
    }
    try {
      if (into.columns.length === 0) into.columns = statement.getColumnNames();
      for (;;) {
        let more: boolean;
        try {
          more = statement.step();
        } catch (error) {
          throw fail('sql', (error as Error).message);
        }
        if (!more) return true;
        if (into.rows.length >= message.maxRows) return false;
        into.rows.push(statement.get().map(toJson));
        if (++steps.n % 256 === 0 && Date.now() > message.deadline) throw fail('timeout', 'time limit');
      }
    } finally {
      statement.free();
    }
  };

  /**
   * Up to MAX_JOINED segments: one statement over all of them (each attached to an empty
   * database, `events` a view over their union, newest segment first), so ORDER BY, GROUP BY and
   * aggregates mean what they say over the whole log. The attached files are the cached copies
   * themselves (sql.js keeps each database as a file of its in-memory file system): nothing is copied.
   */
  const runJoined = async (message: QueryMessage): Promise<Outcome> => {
    const SQL = await sqlReady;
    const parts: string[] = [];
    const merge = new SQL.Database();
    try {
      for (const [index, segment] of message.segments.entries()) {
        if (Date.now() > message.deadline) throw fail('timeout', 'time limit');
        const entry = await open(segment);
        pinned.add(segment.key);
        merge.run(`ATTACH ${quote((entry.db as unknown as { filename: string }).filename)} AS s${index}`);
        const condition = hiddenCondition(segment.hidden, segment.kind === 'image' ? segment.maxSeq : undefined);
        parts.push(`SELECT ${COLUMNS} FROM s${index}.event_rows${condition ? ` WHERE NOT (${condition})` : ''}`);
      }
      merge.run(`CREATE TEMP VIEW events AS ${parts.join(' UNION ALL ')}`);
      merge.run('CREATE TEMP VIEW event_rows AS SELECT * FROM temp.events');
      merge.run('PRAGMA query_only = 1');
      const into = { columns: [] as string[], rows: [] as JsonValue[][] };
      const complete = collect(merge, message, into, { n: 0 });
      return { ...into, truncated: !complete, perSegment: false };
    } finally {
      merge.close();
      pinned.clear();
    }
  };

  const run = async (message: QueryMessage): Promise<Outcome> => {
    const joinedBytes = message.segments.reduce((sum, segment) => sum + (segment.kind === 'file' ? segment.bytes : (segment.image?.length ?? cache.get(segment.key)?.bytes ?? 0)), 0);
    if (message.segments.length > 1 && message.segments.length <= MAX_JOINED && joinedBytes <= MAX_JOINED_BYTES) return runJoined(message);
    const into = { columns: [] as string[], rows: [] as JsonValue[][] };
    const steps = { n: 0 };
    for (const segment of message.segments) {
      if (Date.now() > message.deadline) throw fail('timeout', 'time limit');
      const entry = await open(segment);
      applyHidden(entry, segment.hidden, segment.kind === 'image' ? segment.maxSeq : undefined);
      if (!collect(entry.db, message, into, steps)) return { ...into, truncated: true, perSegment: message.segments.length > 1 };
    }
    return { ...into, truncated: false, perSegment: message.segments.length > 1 };
  };

  parentPort!.on('message', (message: QueryMessage) => {
    run(message).then(
      (result) => parentPort!.postMessage({ id: message.id, ok: true, ...result, cached: [...cache.keys()] }),
      (error: Error & { kind?: string; file?: string }) =>
        parentPort!.postMessage({ id: message.id, ok: false, kind: error.kind ?? 'internal', message: error.message, file: error.file, cached: [...cache.keys()] }),
    );
  });
}

export interface QueryRunnerOptions {
  sqlJsPath: string;
  /** Bytes of segment copies the worker keeps between queries. */
  cacheBytes: number;
  /** End the worker after this long without a query (frees its memory). */
  idleMs: number;
  onCorruptFile: (file: string, reason: string) => void;
}

export class QueryRunner {
  private worker: Worker | null = null;
  private workerKeys = new Set<string>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly options: QueryRunnerOptions) {}

  /** Whether the worker already holds this segment copy (so the image need not be sent again). */
  has(key: string): boolean {
    return this.workerKeys.has(key);
  }

  run(sql: string, maxRows: number, timeoutMs: number, segments: () => WorkerSegment[], signal?: AbortSignal): Promise<QueryOutcome> {
    const task = this.queue.then(() => this.runNow(sql, maxRows, timeoutMs, segments(), signal));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private start(): Worker {
    // The worker runs this function's source as CommonJS; an ESM bundle has renamed `require`
    // in that source to esbuild's `__require`, so give both names.
    const source = `const __require = require; (${queryWorkerMain.toString()})()`;
    const worker = new Worker(source, {
      eval: true,
      workerData: { sqlJsPath: this.options.sqlJsPath, cacheBytes: this.options.cacheBytes, maxJoined: MAX_JOINED_SEGMENTS, maxJoinedBytes: MAX_JOINED_BYTES },
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    worker.unref();
    this.workerKeys = new Set();
    return worker;
  }

  private stop(): void {
    const worker = this.worker;
    this.worker = null;
    this.workerKeys = new Set();
    if (worker) void worker.terminate();
  }

  private runNow(sql: string, maxRows: number, timeoutMs: number, segments: WorkerSegment[], signal?: AbortSignal): Promise<QueryOutcome> {
    if (this.closed) return Promise.reject(new EddyError('UNAVAILABLE', 'The event log is closed.'));
    if (signal?.aborted) return Promise.reject(cancelledError());
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.worker ??= this.start();
    const worker = this.worker;
    const id = this.nextId++;
    const message: QueryMessage = { type: 'query', id, sql, maxRows, deadline: Date.now() + timeoutMs, segments };
    const transfer: ArrayBuffer[] = [];
    for (const segment of segments) if (segment.kind === 'image' && segment.image) transfer.push(segment.image.buffer as ArrayBuffer);
    return new Promise<QueryOutcome>((resolve, reject) => {
      let settled = false;
      const finish = (action: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        if (!this.closed && this.worker) {
          this.idleTimer = setTimeout(() => this.stop(), this.options.idleMs);
          this.idleTimer.unref();
        }
        action();
      };
      // The worker checks the clock between rows; this is the backstop for a single endless step.
      const timer = setTimeout(() => {
        this.stop();
        finish(() => reject(timeLimitError(timeoutMs)));
      }, timeoutMs + 500);
      const onMessage = (reply: WorkerReply): void => {
        if (reply.id !== id) return;
        this.workerKeys = new Set(reply.cached);
        if (reply.ok) {
          finish(() => resolve({ columns: reply.columns, rows: reply.rows, truncated: reply.truncated, perSegment: reply.perSegment }));
          return;
        }
        if (reply.kind === 'corrupt' && reply.file) this.options.onCorruptFile(reply.file, reply.message);
        const error =
          reply.kind === 'timeout'
            ? timeLimitError(timeoutMs)
            : reply.kind === 'sql'
              ? new EddyError('VALIDATION', `SQL error: ${reply.message}`)
              : reply.kind === 'missing'
                ? new EddyError('UNAVAILABLE', reply.message, { missingFile: reply.file })
                : new EddyError(reply.kind === 'corrupt' ? 'UNAVAILABLE' : 'INTERNAL', reply.message);
        finish(() => reject(error));
      };
      // A cancel stops the worker where it is (a long step cannot be interrupted otherwise); the
      // next query starts a fresh one.
      const onAbort = (): void => {
        this.stop();
        finish(() => reject(cancelledError()));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const onError = (error: Error): void => {
        this.stop();
        finish(() => reject(new EddyError('INTERNAL', `The query worker failed: ${error.message}`)));
      };
      const onExit = (code: number): void => {
        if (this.worker === worker) this.worker = null;
        finish(() => reject(new EddyError('INTERNAL', `The query worker exited (code ${code}); it may have run out of memory.`)));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.stop();
  }
}

function timeLimitError(timeoutMs: number): EddyError {
  return new EddyError('LIMIT', `The query ran longer than its ${timeoutMs} ms time limit and was stopped. Narrow it (filter by stream or time) or raise the limit.`, {
    timeoutMs,
  });
}

function cancelledError(): EddyError {
  return new EddyError('CANCELLED', 'The query was cancelled.');
}
