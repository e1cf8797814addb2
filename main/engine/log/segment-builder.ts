// Building sealed segments off the engine's event loop.
//
// Appends leave their rows as journal bytes with a row layout (fast-insert.ts); when a segment is
// complete, a worker thread inserts those rows into a fresh database and exports the image the
// log then writes as the sealed file. The capture's thread only journals; the SQLite work runs on
// another core.
//
// Memory (glibc keeps freed blocks below its mmap threshold, which rises to 32 MiB, in the arena
// of the thread that allocated them; measured with the default allocator, the log's resident
// memory grew by ~30 MB per million events until these three were in place):
//   - rows reach the worker in shared memory (RowStore), read in place: no copy in its heap;
//   - sql.js grows an in-memory database file by copying it into a buffer 12.5 % larger each time;
//     each database here starts from an image of the empty schema padded with zeros to the
//     expected size, so SQLite writes inside a file that never grows (the page count in the
//     header, not the file size, says where the database ends);
//   - the image is handed over in a buffer of at least 33 MiB, which glibc maps on its own and
//     unmaps when the engine frees it;
// and the thread ends after each build unless another is queued, so its heap goes with it.
//
// The worker's code is the self-contained function below plus the fast-insert kit, started with
// `eval: true` like the query worker, so no bundle needs a separate entry file.
import type * as NodeCrypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import type * as NodeZlib from 'node:zlib';
import type SqlJs from 'sql.js';
import { fastInsertKit, LAYOUT_ESCAPED, LAYOUT_INTS, LAYOUT_NUMBERS, type RowLayout } from './fast-insert.js';

/** Where one batch of rows lies in a store's shared chunks (byte offsets). */
export interface StoredBatch {
  chunk: number;
  payload: number;
  payloadBytes: number;
  tokens: number;
  numbers: number;
  count: number;
}

/** A deferred segment's rows as the builder receives them: shared memory, read in place. */
export interface BuildRequest {
  /** Bytes the database file starts with (zeros after the schema): its expected size. */
  capacity: number;
  chunks: SharedArrayBuffer[];
  batches: StoredBatch[];
}

/** Chunks above glibc's largest dynamic mmap threshold (32 MiB) are mapped on their own and unmapped whole when freed. */
const CHUNK_BYTES = 40 * 1024 * 1024;
const align8 = (n: number): number => (n + 7) & ~7;

/**
 * The rows of a deferred segment: each batch's journal bytes and row layout, copied into shared
 * chunks. The builder thread reads them in place, so a build copies nothing into its own heap;
 * the engine reads them the same way when a read indexes the segment here.
 */
export class RowStore {
  private readonly chunks: SharedArrayBuffer[] = [];
  private readonly stored: (StoredBatch & { bytes: number })[] = [];
  private used = 0;
  /** Batches already taken (inserted into the segment's database by the engine). */
  private taken = 0;

  get size(): number {
    return this.stored.length;
  }

  /** Batches not taken yet. */
  get pending(): number {
    return this.stored.length - this.taken;
  }

  add(payload: Uint8Array, layout: RowLayout, bytes: number): void {
    const numbersBytes = layout.count * LAYOUT_NUMBERS * 8;
    const tokensBytes = layout.count * LAYOUT_INTS * 4;
    const needed = align8(numbersBytes) + align8(tokensBytes) + align8(payload.length);
    if (this.chunks.length === 0 || this.used + needed > this.chunks[this.chunks.length - 1]!.byteLength) {
      this.chunks.push(new SharedArrayBuffer(Math.max(CHUNK_BYTES, needed)));
      this.used = 0;
    }
    const chunk = this.chunks.length - 1;
    const buffer = this.chunks[chunk]!;
    const numbers = this.used;
    new Float64Array(buffer, numbers, layout.count * LAYOUT_NUMBERS).set(layout.numbers.subarray(0, layout.count * LAYOUT_NUMBERS));
    const tokens = numbers + align8(numbersBytes);
    new Int32Array(buffer, tokens, layout.count * LAYOUT_INTS).set(layout.tokens.subarray(0, layout.count * LAYOUT_INTS));
    const at = tokens + align8(tokensBytes);
    new Uint8Array(buffer, at, payload.length).set(payload);
    this.used = at + align8(payload.length);
    this.stored.push({ chunk, payload: at, payloadBytes: payload.length, tokens, numbers, count: layout.count, bytes });
  }

  /**
   * The next batches not taken yet, up to about `rows` rows (at least one batch), as journal bytes
   * and layouts (views into the shared chunks), with their event bytes. `untake` gives them back.
   */
  take(rows: number): { batches: { payload: Uint8Array; layout: RowLayout }[]; bytes: number } {
    const batches: { payload: Uint8Array; layout: RowLayout }[] = [];
    let bytes = 0;
    let count = 0;
    while (this.taken < this.stored.length && (batches.length === 0 || count + this.stored[this.taken]!.count <= rows)) {
      const batch = this.stored[this.taken++]!;
      batches.push(viewBatch(this.chunks, batch));
      bytes += batch.bytes;
      count += batch.count;
    }
    return { batches, bytes };
  }

  untake(batches: number): void {
    this.taken -= batches;
  }

  /**
   * The stream and position of the row with `seq`, read from its journal bytes (null when no
   * stored row has it): the duplicate check needs no index of the segment. Batches hold ascending
   * seqs, and batches are stored in seq order.
   */
  identityOf(seq: number): { stream: string; position: string } | null {
    let low = 0;
    let high = this.stored.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const batch = this.stored[middle]!;
      const { payload, layout } = viewBatch(this.chunks, batch);
      const seqAt = (row: number): number => layout.numbers[row * LAYOUT_NUMBERS]!;
      if (seq < seqAt(0)) high = middle - 1;
      else if (seq > seqAt(batch.count - 1)) low = middle + 1;
      else {
        // Seqs in a batch are consecutive; scan if they ever are not.
        let row = seq - seqAt(0);
        if (seqAt(row) !== seq) for (row = 0; row < batch.count && seqAt(row) !== seq; row++);
        if (row === batch.count) return null;
        const t = row * LAYOUT_INTS;
        const escaped = (layout.tokens[t + LAYOUT_INTS - 1]! & LAYOUT_ESCAPED) !== 0;
        const text = (k: number): string => {
          const start = layout.tokens[t + 2 * k]!;
          const length = layout.tokens[t + 2 * k + 1]!;
          const token = Buffer.from(payload.buffer, payload.byteOffset + start, length);
          return escaped ? (JSON.parse(token.toString('utf8')) as string) : token.toString('utf8', 1, length - 1);
        };
        return { stream: text(0), position: text(1) };
      }
    }
    return null;
  }

  request(capacity: number): BuildRequest {
    return { capacity, chunks: [...this.chunks], batches: [...this.stored] };
  }
}

function viewBatch(chunks: SharedArrayBuffer[], batch: StoredBatch): { payload: Uint8Array; layout: RowLayout } {
  const buffer = chunks[batch.chunk]!;
  return {
    payload: new Uint8Array(buffer, batch.payload, batch.payloadBytes),
    layout: { tokens: new Int32Array(buffer, batch.tokens, batch.count * LAYOUT_INTS), numbers: new Float64Array(buffer, batch.numbers, batch.count * LAYOUT_NUMBERS), count: batch.count },
  };
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
  const setup = workerData as BuilderSetup & { template: Uint8Array };
  const initSqlJs = require(setup.sqlJsPath) as typeof SqlJs;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ready = initSqlJs();
  // The empty segment's image: every build starts from a padded copy of it.
  const template = setup.template;

  const build = async (request: BuilderMessage): Promise<BuilderReply> => {
    const SQL = await ready;
    // sql.js copies the bytes into its file: the padded start is garbage once the database is open.
    const padded = (): Uint8Array => {
      const start = new Uint8Array(Math.max(template.length, request.capacity));
      start.set(template);
      return start;
    };
    const db = new SQL.Database(padded());
    try {
      db.run(setup.pragmas);
      db.run('BEGIN');
      // The secondary indexes are built once the rows are in (SQLite sorts them in one pass),
      // about 15 % less work than keeping them up to date row by row; same definitions, same order.
      const indexes = (db.exec("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid")[0]?.values ?? []) as [string, string][];
      for (const [name] of indexes) db.run(`DROP INDEX "${name.replaceAll('"', '""')}"`);
      const one = kit.fastStatement(SQL, db, db.prepare(setup.insertOne), setup.rowWidth);
      const many = kit.fastStatement(SQL, db, db.prepare(setup.insertMany), setup.rowWidth * setup.rowsPerInsert);
      for (const batch of request.batches) {
        const buffer = request.chunks[batch.chunk]!;
        const payload = new Uint8Array(buffer, batch.payload, batch.payloadBytes);
        const tokens = new Int32Array(buffer, batch.tokens, batch.count * kit.LAYOUT_INTS);
        const numbers = new Float64Array(buffer, batch.numbers, batch.count * kit.LAYOUT_NUMBERS);
        kit.insertLaidOutRows(many, one, payload, { tokens, numbers, count: batch.count }, null, 0, batch.count);
      }
      for (const [, sql] of indexes) db.run(sql);
      db.run('COMMIT');
      const counted = db.exec('SELECT count(*) FROM event_rows')[0]?.values[0]?.[0];
      // In a buffer glibc maps on its own (see the top of this file): freed on the engine's
      // thread, an image allocated here would go back to this thread's arena.
      const exported = db.export();
      const image = new Uint8Array(new ArrayBuffer(Math.max(exported.length, 33 * 1024 * 1024)), 0, exported.length);
      image.set(exported);
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

  private template: Uint8Array | null = null;

  /** `emptyImage`: an empty segment's database image (made once, when a thread first starts). */
  constructor(
    private readonly setup: BuilderSetup,
    private readonly emptyImage: () => Uint8Array,
    /** A thread is ended after each build unless another is queued: its heap goes with it. */
    private readonly idleMs = 0,
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
    this.template ??= this.emptyImage();
    const worker = new Worker(source, { eval: true, workerData: { ...this.setup, template: this.template } });
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
      // Shared, not copied: the chunks are SharedArrayBuffers (the log keeps them until the seal commits).
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
