// Binding rows straight into sql.js's WebAssembly memory.
//
// sql.js's `Statement.bind` costs more than SQLite's insert itself at ingest rates: every string
// parameter is encoded by a JavaScript loop (`stringToNewUTF8`), `malloc`ed on its own and freed on
// reset, and every call goes through checks written for general use (measured: about 10 µs of
// binding per 12-column row against 7.5 µs for SQLite to insert it with three indexes). Here a
// whole multi-row statement's text goes through Node's native UTF-8 encoder into one scratch
// buffer, which is copied into the module's heap once; each text parameter is bound in place with
// SQLITE_STATIC (the scratch outlives the step), numbers with the integer or double binder.
//
// Only sql.js's module exports are used (`_malloc`, `_sqlite3_bind_*`, `_sqlite3_step`,
// `writeArrayToMemory`, ...); the statement and database handles are the pointers sql.js keeps on
// its objects, found and checked once, so a future sql.js that changes them fails loudly here
// (the tests cover it) rather than binding through a wrong pointer.
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';

const SQLITE_OK = 0;
const SQLITE_DONE = 101;
/** `sqlite3_destructor_type` 0: the memory stays valid until the statement is reset. */
const SQLITE_STATIC = 0;

interface RawModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _sqlite3_bind_text(stmt: number, index: number, pointer: number, bytes: number, destructor: number): number;
  _sqlite3_bind_int(stmt: number, index: number, value: number): number;
  _sqlite3_bind_double(stmt: number, index: number, value: number): number;
  _sqlite3_bind_blob(stmt: number, index: number, pointer: number, bytes: number, destructor: number): number;
  _sqlite3_step(stmt: number): number;
  _sqlite3_reset(stmt: number): number;
  _sqlite3_clear_bindings(stmt: number): number;
  _sqlite3_errmsg(db: number): number;
  _sqlite3_sql(stmt: number): number;
  UTF8ToString(pointer: number): string;
  writeArrayToMemory(array: ArrayLike<number>, pointer: number): void;
}

function rawModule(sql: SqlJsStatic): RawModule {
  const module = sql as unknown as Partial<RawModule>;
  const needed: (keyof RawModule)[] = [
    '_malloc',
    '_free',
    '_sqlite3_bind_text',
    '_sqlite3_bind_int',
    '_sqlite3_bind_double',
    '_sqlite3_bind_blob',
    '_sqlite3_step',
    '_sqlite3_reset',
    '_sqlite3_clear_bindings',
    '_sqlite3_errmsg',
    '_sqlite3_sql',
    'UTF8ToString',
    'writeArrayToMemory',
  ];
  for (const name of needed) {
    if (typeof module[name] !== 'function') throw new Error(`sql.js no longer exports ${name}; the fast insert path needs it`);
  }
  return module as RawModule;
}

function databaseHandle(db: Database): number {
  const value = (db as unknown as { db?: unknown }).db;
  if (typeof value !== 'number' || value === 0) throw new Error('sql.js Database has no native handle (db); the fast insert path needs it');
  return value;
}

/**
 * The native handle of a prepared statement. sql.js's build minifies the field that holds it, so it
 * is found by asking SQLite: the own numeric property whose `sqlite3_sql` is the statement's SQL.
 */
function statementHandle(module: RawModule, statement: Statement): number {
  const sql = statement.getSQL();
  for (const value of Object.values(statement as unknown as Record<string, unknown>)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 4096) continue;
    try {
      const text = module._sqlite3_sql(value);
      if (text && module.UTF8ToString(text) === sql) return value;
    } catch {
      // Not a statement: reading through it went out of bounds.
    }
  }
  throw new Error('sql.js Statement has no recognizable native handle; the fast insert path needs it');
}

/** Scratch bytes kept between runs; a larger scratch (a huge event) is released after use. */
const KEEP_SCRATCH_BYTES = 4 * 1024 * 1024;

/**
 * Runs one prepared INSERT with positional parameters, many times, binding through raw memory.
 * Values: string (TEXT), number (32-bit integers as INTEGER, others as REAL, which an INTEGER
 * column stores as an integer when it is one, as sql.js's own binding does), null.
 */
export class FastStatement {
  private readonly module: RawModule;
  private readonly stmt: number;
  private readonly dbHandle: number;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;

  constructor(
    sql: SqlJsStatic,
    db: Database,
    statement: Statement,
    private readonly width: number,
  ) {
    this.module = rawModule(sql);
    this.stmt = statementHandle(this.module, statement);
    this.dbHandle = databaseHandle(db);
    this.offsets = new Int32Array(width);
    this.lengths = new Int32Array(width);
  }

  /** Binds `values[0..width)` and runs the statement once; throws SQLite's message on failure. */
  run(values: readonly SqlValue[]): void {
    const { module, stmt, width, offsets, lengths } = this;
    // Pass 1: encode every string into the scratch buffer (growing it when needed).
    let used = 0;
    for (let i = 0; i < width; i++) {
      const value = values[i];
      if (typeof value !== 'string') continue;
      // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only when that bound is large.
      const most = value.length > 65536 ? Buffer.byteLength(value) : value.length * 3;
      if (used + most > this.scratch.length) this.growScratch(used, used + most);
      offsets[i] = used;
      const written = value.length === 0 ? 0 : this.scratch.write(value, used, 'utf8');
      lengths[i] = written;
      used += written;
    }
    // The heap copy lives for this one step: malloc and free are cheap next to the row's insert,
    // and nothing outlives the call (no lifecycle tied to the database's).
    const base = used === 0 ? 0 : module._malloc(used);
    if (used > 0 && !base) throw new RangeError(`sql.js could not allocate ${used} bytes to bind a row`);
    try {
      if (used > 0) module.writeArrayToMemory(this.scratch.subarray(0, used), base);
      for (let i = 0; i < width; i++) {
        const value = values[i];
        let code: number;
        if (typeof value === 'string') code = module._sqlite3_bind_text(stmt, i + 1, base + offsets[i]!, lengths[i]!, SQLITE_STATIC);
        else if (typeof value === 'number') {
          code = (value | 0) === value ? module._sqlite3_bind_int(stmt, i + 1, value) : module._sqlite3_bind_double(stmt, i + 1, value);
        } else if (value === null || value === undefined) code = module._sqlite3_bind_blob(stmt, i + 1, 0, 0, 0);
        else throw new TypeError(`FastStatement binds text, numbers and null, not ${typeof value}`);
        if (code !== SQLITE_OK) this.fail(code);
      }
      const step = module._sqlite3_step(stmt);
      if (step !== SQLITE_DONE) this.fail(step);
    } finally {
      // Reset and unbind before freeing: SQLITE_STATIC bindings point into the block until then.
      module._sqlite3_reset(stmt);
      module._sqlite3_clear_bindings(stmt);
      if (base) module._free(base);
    }
    if (this.scratch.length > KEEP_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(64 * 1024);
  }

  private growScratch(used: number, needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(needed, this.scratch.length * 2));
    this.scratch.copy(next, 0, 0, used);
    this.scratch = next;
  }

  private fail(code: number): never {
    throw new Error(this.module.UTF8ToString(this.module._sqlite3_errmsg(this.dbHandle)) || `SQLite error ${code}`);
  }
}
