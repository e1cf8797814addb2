// Building sealed segments off the engine's event loop.
//
// Appends leave their rows as journal bytes with a row layout (fast-insert.ts); when a segment is
// complete, a worker thread inserts those rows into a fresh database and exports the image the
// log then writes as the sealed file. The capture's thread only journals; the SQLite work runs on
// another core.
//
// Memory: sql.js grows an in-memory database file by copying it into a buffer 12.5 % larger each
// time. On a worker thread those copies come from glibc's per-thread arena, which keeps them
// (a few hundred MB over a long capture). The builder avoids them: each database starts from an
// image of the empty schema padded with zeros to the expected size, so SQLite writes inside a
// file that never grows (the page count in the header, not the file size, says where the
// database ends), and `export()` allocates its result once, at its exact size.
//
// The worker's code is the self-contained function below plus the fast-insert kit, started with
// `eval: true` like the query worker, so no bundle needs a separate entry file.
import type * as NodeCrypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import type * as NodeZlib from 'node:zlib';
import type SqlJs from 'sql.js';
import { fastInsertKit } from './fast-insert.js';

/** One batch of rows: journal bytes and where each row's columns lie in them. */
export interface BuildChunk {
  payload: Uint8Array;
  tokens: Int32Array;
  numbers: Float64Array;
  count: number;
}

export interface BuildRequest {
  /** Bytes the database file starts with (zeros after the schema): its expected size. */
  capacity: number;
  chunks: BuildChunk[];
}

export interface BuiltSegment {
  image: Uint8Array;
  sha256: string;
  crc32: number;
  rows: number;
}

/** What the worker needs to make a segment exactly as the log does (fixed per log). */
export interface BuilderSetup {
  sqlJsPath: string;
  /** Run once on each new database (pragmas). */
  pragmas: string;
  /** Schema migrations, applied in order with `PRAGMA user_version`. */
  migrations: { version: number; sql: string }[];
  insertOne: string;
  insertMany: string;
  rowWidth: number;
  rowsPerInsert: number;
}

type BuilderMessage = { id: number } & BuildRequest;
type BuilderReply = { id: number; ok: true; image: Uint8Array; sha256: string; crc32: number; rows: number } | { id: number; ok: false; message: string };

/* The worker. Self-contained: no imports, no outer references (it is shipped as source text). */
function segmentBuilderMain(kit: ReturnType<typeof fastInsertKit>): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const crypto = require('node:crypto') as typeof NodeCrypto;
  const zlib = require('node:zlib') as typeof NodeZlib;
  const setup = workerData as BuilderSetup;
  const initSqlJs = require(setup.sqlJsPath) as typeof SqlJs;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ready = initSqlJs().then((SQL) => {
    // The empty schema as an image: every build starts from a padded copy of it.
    const db = new SQL.Database();
    try {
      db.run(setup.pragmas);
      for (const migration of setup.migrations) {
        db.run('BEGIN');
        db.run(migration.sql);
        db.run(`PRAGMA user_version = ${migration.version}`);
        db.run('COMMIT');
      }
      return { SQL, template: db.export() };
    } finally {
      db.close();
    }
  });

  const build = async (request: BuilderMessage): Promise<BuilderReply> => {
    const { SQL, template } = await ready;
    const start = new Uint8Array(Math.max(template.length, request.capacity));
    start.set(template);
    const db = new SQL.Database(start);
    try {
      db.run(setup.pragmas);
      const one = kit.fastStatement(SQL, db, db.prepare(setup.insertOne), setup.rowWidth);
      const many = kit.fastStatement(SQL, db, db.prepare(setup.insertMany), setup.rowWidth * setup.rowsPerInsert);
      db.run('BEGIN');
      for (const chunk of request.chunks) {
        kit.insertLaidOutRows(many, one, chunk.payload, { tokens: chunk.tokens, numbers: chunk.numbers, count: chunk.count }, null, 0, chunk.count);
      }
      db.run('COMMIT');
      const counted = db.exec('SELECT count(*) FROM event_rows')[0]?.values[0]?.[0];
      const image = db.export();
      const sha256 = crypto.createHash('sha256').update(image).digest('hex');
      return { id: request.id, ok: true, image, sha256, crc32: zlib.crc32(image), rows: Number(counted) };
    } finally {
      db.close();
    }
  };

  parentPort!.on('message', (request: BuilderMessage) => {
    build(request).then(
      (reply) => parentPort!.postMessage(reply, reply.ok ? [reply.image.buffer as ArrayBuffer] : []),
      (error: unknown) => parentPort!.postMessage({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/**
 * Runs builds on one worker thread, one at a time, started on first use and ended after
 * `idleMs` without work (its memory goes with it).
 */
export class SegmentBuilder {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly setup: BuilderSetup,
    private readonly idleMs = 5_000,
  ) {}

  build(request: BuildRequest): Promise<BuiltSegment> {
    const task = this.queue.then(() => this.buildNow(request));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private start(): Worker {
    // The worker runs this source as CommonJS; an ESM bundle has renamed `require` in it to
    // esbuild's `__require`, so give both names.
    const source = `const __require = require; (${segmentBuilderMain.toString()})((${fastInsertKit.toString()})())`;
    const worker = new Worker(source, { eval: true, workerData: this.setup });
    worker.unref();
    return worker;
  }

  private stop(): void {
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }

  private buildNow(request: BuildRequest): Promise<BuiltSegment> {
    if (this.closed) return Promise.reject(new Error('the segment builder is closed'));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.worker ??= this.start();
    const worker = this.worker;
    const id = this.nextId++;
    return new Promise<BuiltSegment>((resolve, reject) => {
      const finish = (action: () => void): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (!this.closed && this.worker === worker) {
          this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
          this.idleTimer.unref();
        }
        action();
      };
      const onMessage = (reply: BuilderReply): void => {
        if (reply.id !== id) return;
        if (reply.ok) finish(() => resolve({ image: reply.image, sha256: reply.sha256, crc32: reply.crc32, rows: reply.rows }));
        else finish(() => reject(new Error(reply.message)));
      };
      const onError = (error: Error): void => {
        this.stop();
        finish(() => reject(error));
      };
      const onExit = (code: number): void => {
        if (this.worker === worker) this.worker = null;
        finish(() => reject(new Error(`the segment builder thread exited (code ${code})`)));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      // Copied, not transferred: the log keeps its bytes until the sealed file is committed.
      worker.postMessage({ id, ...request } satisfies BuilderMessage);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.queue.catch(() => undefined);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
