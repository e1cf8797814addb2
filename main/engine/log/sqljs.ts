// Loading sql.js once per process, and the few helpers every sql.js user here needs: run a query
// to rows, measure a database, re-apply the pragmas that `export()` silently resets
// (research/reliability.md 2.1: export closes and reopens the connection).
import { createRequire } from 'node:module';
import initSqlJs from 'sql.js';
import type { BindParams, Database, SqlJsStatic, SqlValue } from 'sql.js';

export type { Database, SqlValue, BindParams };

let loading: Promise<SqlJsStatic> | undefined;
let loaded: SqlJsStatic | undefined;

export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= initSqlJs().then((module) => (loaded = module));
  return loading;
}

/** The module, once `loadSqlJs` has resolved (every database here was made by it). */
export function loadedSqlJs(): SqlJsStatic {
  if (!loaded) throw new Error('sql.js is not loaded yet');
  return loaded;
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

/** Runs `action` in a transaction: committed when it returns, rolled back (and rethrown) when it throws. */
export function inTransaction<T>(db: Database, action: () => T): T {
  db.run('BEGIN');
  try {
    const result = action();
    db.run('COMMIT');
    return result;
  } catch (error) {
    try {
      db.run('ROLLBACK');
    } catch {
      // The original error is the one worth reporting.
    }
    throw error;
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
export const MEMORY_PRAGMAS = 'PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;';

export function applyMemoryPragmas(db: Database): void {
  db.run(MEMORY_PRAGMAS);
}
