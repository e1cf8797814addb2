// Loading sql.js once per process, and the few helpers every sql.js user here needs: run a query
// to rows, measure a database, re-apply the pragmas that `export()` silently resets
// (research/reliability.md 2.1: export closes and reopens the connection).
//
// sql.js is instantiated through Emscripten's `instantiateWasm` hook so the log can reach the
// module's WebAssembly memory: the append path binds its strings straight from that memory
// (raw-insert.ts) instead of through sql.js's per-character JavaScript UTF-8 encoder. Should the
// hook ever fail, sql.js loads the ordinary way and the log binds through sql.js as before.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import initSqlJs from 'sql.js';
import type { BindParams, Database, SqlJsStatic, SqlValue } from 'sql.js';

export type { Database, SqlValue, BindParams };

/** The parts of a WebAssembly memory the log uses. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

// The WebAssembly global, typed: Node's typings declare only some of its types here, not the value.
interface WasmInstance {
  exports: Record<string, unknown>;
}
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: WasmInstance; module: unknown }>;
      Memory: abstract new (...args: never[]) => WasmMemory;
    };
  }
).WebAssembly;

let loading: Promise<SqlJsStatic> | undefined;
let wasmMemory: WasmMemory | null = null;

async function instantiate(): Promise<SqlJsStatic> {
  let bytes: Buffer | null = null;
  try {
    bytes = await readFile(path.join(path.dirname(sqlJsModulePath()), 'sql-wasm.wasm'));
  } catch {
    bytes = null;
  }
  if (!bytes) return initSqlJs();
  const binary = bytes;
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  try {
    return await Promise.race([
      initSqlJs({
        instantiateWasm(imports: unknown, done: (instance: WasmInstance, module: unknown) => void) {
          wasmApi.instantiate(binary, imports).then((result) => {
            wasmMemory = Object.values(result.instance.exports).find((value): value is WasmMemory => value instanceof wasmApi.Memory) ?? null;
            done(result.instance, result.module);
          }, fail);
          return {};
        },
      } as Parameters<typeof initSqlJs>[0]),
      failed,
    ]);
  } catch {
    wasmMemory = null;
    return initSqlJs();
  }
}

let loaded: SqlJsStatic | null = null;

export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= instantiate().then((SQL) => (loaded = SQL));
  return loading;
}

/** The module once `loadSqlJs` has resolved (null before). */
export function loadedSqlJs(): SqlJsStatic | null {
  return loaded;
}

/** The loaded module's WebAssembly memory (null before loading, or if it could not be found). */
export function sqlJsMemory(): WasmMemory | null {
  return wasmMemory;
}

/** Where sql.js lives, for worker threads that load their own copy. */
export function sqlJsModulePath(): string {
  try {
    return createRequire(import.meta.url).resolve('sql.js');
  } catch {
    return createRequire(`${process.cwd()}/`).resolve('sql.js');
  }
}

export function queryRows(db: Database, sql: string, params?: BindParams): SqlValue[][] {
  const statement = db.prepare(sql);
  try {
    if (params) statement.bind(params);
    const rows: SqlValue[][] = [];
    while (statement.step()) rows.push(statement.get());
    return rows;
  } finally {
    statement.free();
  }
}

export function queryValue(db: Database, sql: string, params?: BindParams): SqlValue | undefined {
  return queryRows(db, sql, params)[0]?.[0];
}

/** Bytes the database image takes (what `export()` would return). */
export function databaseBytes(db: Database): number {
  return Number(queryValue(db, 'PRAGMA page_count')) * Number(queryValue(db, 'PRAGMA page_size'));
}

/**
 * Pragmas for databases whose durability comes from our journal, not SQLite's: the rollback journal
 * stays in memory (so a failed statement still rolls back) and nothing pretends to sync.
 */
export function applyMemoryPragmas(db: Database): void {
  db.run('PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;');
}
