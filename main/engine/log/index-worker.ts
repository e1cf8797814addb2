// Building a sealed segment's secondary indexes in a worker thread.
//
// An open segment is kept without its secondary indexes (segment-schema.ts): they are built once,
// when it is sealed. On a full segment that is three sorts of tens of thousands of rows, 50-100 ms
// each, which on the engine thread would stall appends and reads; here they run on another core.
// The worker gets the exported image (transferred, not copied), opens it in its own sql.js,
// creates the indexes, checks the row count, and sends the new image back (transferred) with its
// SHA-256 and CRC-32, which would otherwise take the engine thread another 100 ms or so per seal.
//
// Like the query worker, its code is the self-contained function below, started with
// `eval: true` so no bundle needs a separate entry file; it loads sql.js from the path given.
import { Worker } from 'node:worker_threads';
import type * as NodeCrypto from 'node:crypto';
import type * as WorkerThreads from 'node:worker_threads';
import type * as NodeZlib from 'node:zlib';
import type SqlJs from 'sql.js';

interface IndexJob {
  sqlJsPath: string;
  image: Uint8Array;
  statements: string[];
}

type IndexReply = { ok: true; image: Uint8Array; count: number; sha256: string; crc32: number } | { ok: false; message: string };

export interface IndexedImage {
  image: Uint8Array;
  /** SHA-256 (hex) and CRC-32 of `image`, computed in the worker too (what a seal records). */
  sha256: string;
  crc32: number;
}

/* The worker. Self-contained: no imports, no outer references (it is shipped as source text). */
function indexWorkerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const job = workerData as IndexJob;
  const initSqlJs = require(job.sqlJsPath) as typeof SqlJs;
  const crypto = require('node:crypto') as typeof NodeCrypto;
  const zlib = require('node:zlib') as typeof NodeZlib;
  /* eslint-enable @typescript-eslint/no-require-imports */
  initSqlJs()
    .then((SQL) => {
      const db = new SQL.Database(job.image);
      try {
        db.run('PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;');
        db.run('BEGIN');
        for (const statement of job.statements) db.run(statement);
        db.run('COMMIT');
        const count = Number(db.exec('SELECT count(*) FROM event_rows')[0]?.values[0]?.[0] ?? -1);
        const image = db.export();
        const sha256 = crypto.createHash('sha256').update(image).digest('hex');
        const crc32 = zlib.crc32(image);
        parentPort!.postMessage({ ok: true, image, count, sha256, crc32 } satisfies IndexReply, [image.buffer as ArrayBuffer]);
      } finally {
        db.close();
      }
    })
    .catch((error: unknown) => {
      parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) } satisfies IndexReply);
    });
}

/**
 * Runs `statements` (CREATE INDEX ...) on a copy of the database in `image` in a worker thread and
 * resolves with the new image. `image` is transferred: it is unusable here afterwards. Rejects if
 * the worker fails, exits, takes longer than `timeoutMs`, or returns other than `expectedRows` rows.
 */
export function buildIndexesOffThread(image: Uint8Array, statements: string[], sqlJsPath: string, expectedRows: number, timeoutMs = 120_000): Promise<IndexedImage> {
  return new Promise((resolve, reject) => {
    // A view on part of a larger buffer cannot be transferred alone: send an exact copy then.
    const whole = image.byteOffset === 0 && image.byteLength === image.buffer.byteLength ? image : image.slice();
    const job: IndexJob = { sqlJsPath, image: whole, statements };
    let settled = false;
    // A bundler may rename `require` in that source to esbuild's `__require` (as for the query worker): give both names.
    const worker = new Worker(`const __require = require; (${indexWorkerMain.toString()})()`, { eval: true, workerData: job, transferList: [whole.buffer as ArrayBuffer] });
    const finish = (error: Error | null, result?: IndexedImage): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate().catch(() => undefined);
      if (error) reject(error);
      else resolve(result!);
    };
    const timer = setTimeout(() => finish(new Error(`the index worker took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    worker.on('message', (reply: IndexReply) => {
      if (!reply.ok) finish(new Error(reply.message));
      else if (reply.count !== expectedRows) finish(new Error(`the indexed copy has ${reply.count} rows, the segment ${expectedRows}`));
      else finish(null, { image: reply.image, sha256: reply.sha256, crc32: reply.crc32 });
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) => finish(new Error(`the index worker exited (code ${code}) without a result`)));
  });
}
