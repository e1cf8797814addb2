// Binding rows straight into sql.js's WebAssembly memory.
//
// sql.js's `Statement.bind` costs more than SQLite's insert itself at ingest rates: every string
// parameter is encoded by a JavaScript loop (`stringToNewUTF8`), `malloc`ed on its own and freed on
// reset, and every call goes through checks written for general use (measured: about 10 µs of
// binding per 12-column row against 7.5 µs for SQLite to insert it with three indexes). Two paths:
//
//   - `FastStatement.run(values)`: a whole multi-row statement's text goes through Node's native
//     UTF-8 encoder into one scratch buffer, copied into the module's heap once; each text
//     parameter is bound in place with SQLITE_STATIC, numbers with the integer or double binder.
//   - `insertLaidOutRows`: event rows bound straight from journal bytes. The journal lines of a
//     batch are copied into the heap once and each column is bound by its byte range in them, as
//     described by the batch's layout (event-codec.ts): no string is made per row at all.
//     Appends take this path; replaying journals at start (parsed lines) takes the first.
//
// Only sql.js's module exports are used (`_malloc`, `_sqlite3_bind_*`, `_sqlite3_step`,
// `writeArrayToMemory`, ...); the statement and database handles are the pointers sql.js keeps on
// its objects, found and checked once, so a future sql.js that changes them fails loudly here
// (the tests cover it) rather than binding through a wrong pointer.
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';

/** A prepared statement bound through raw memory (see the top of this file). */
export interface FastStatement {
  /** Binds `values[0..width)` and runs the statement once; throws SQLite's message on failure. */
  run(values: readonly SqlValue[]): void;
  /** Parameters per run. */
  readonly width: number;
  readonly module: RawModule;
  readonly stmt: number;
  readonly dbHandle: number;
}

/** Where each column of each event row lies in a batch's journal bytes (event-codec.ts). */
export interface RowLayout {
  /** Per row, LAYOUT_INTS ints: 8 token (start, length) byte pairs, then flags. */
  tokens: Int32Array;
  /** Per row, LAYOUT_NUMBERS numbers: seq, event time, ingest time, size. */
  numbers: Float64Array;
  count: number;
}

export interface RawModule {
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

/**
 * Everything below, as one self-contained function (no imports, no outer references): the segment
 * builder's worker thread runs it from its source text, the engine through the exports after it.
 */
export function fastInsertKit() {
  const SQLITE_OK = 0;
  const SQLITE_DONE = 101;
  /** `sqlite3_destructor_type` 0: the memory stays valid until the statement is reset. */
  const SQLITE_STATIC = 0;
  /** Scratch bytes kept between runs; a larger scratch (a huge event) is released after use. */
  const KEEP_SCRATCH_BYTES = 4 * 1024 * 1024;
  const TOKENS = 8;
  /** Ints per row in a RowLayout's `tokens`: eight (start, length) byte pairs, then flags. */
  const LAYOUT_INTS = TOKENS * 2 + 1;
  /** Numbers per row in a RowLayout's `numbers`: seq, event time, ingest time, size. */
  const LAYOUT_NUMBERS = 4;
  /** Parameters of one event row: seq, the eight tokens, then event time, ingest time, size. */
  const ROW_PARAMS = 1 + TOKENS + LAYOUT_NUMBERS - 1;
  /** Flag bit: the string tokens (stream, position, value bytes, decode note, op) need JSON decoding. */
  const LAYOUT_ESCAPED = 1;


  const rawModule = (sql: SqlJsStatic): RawModule => {
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
  };

  const databaseHandle = (db: Database): number => {
    const value = (db as unknown as { db?: unknown }).db;
    if (typeof value !== 'number' || value === 0) throw new Error('sql.js Database has no native handle (db); the fast insert path needs it');
    return value;
  };

  /**
   * The native handle of a prepared statement. sql.js's build minifies the field that holds it, so
   * it is found by asking SQLite: the own numeric property whose `sqlite3_sql` is the statement's SQL.
   */
  const statementHandle = (module: RawModule, statement: Statement): number => {
    const text = statement.getSQL();
    for (const value of Object.values(statement as unknown as Record<string, unknown>)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 4096) continue;
      try {
        const sql = module._sqlite3_sql(value);
        if (sql && module.UTF8ToString(sql) === text) return value;
      } catch {
        // Not a statement: reading through it went out of bounds.
      }
    }
    throw new Error('sql.js Statement has no recognizable native handle; the fast insert path needs it');
  };

  const fail = (module: RawModule, dbHandle: number, code: number): never => {
    throw new Error(module.UTF8ToString(module._sqlite3_errmsg(dbHandle)) || `SQLite error ${code}`);
  };

  const bindNumber = (module: RawModule, stmt: number, index: number, value: number): number =>
    (value | 0) === value ? module._sqlite3_bind_int(stmt, index, value) : module._sqlite3_bind_double(stmt, index, value);

  /** Runs a statement whose parameters are bound; resets and unbinds it whatever happens. */
  const step = (module: RawModule, stmt: number, dbHandle: number): void => {
    try {
      const code = module._sqlite3_step(stmt);
      if (code !== SQLITE_DONE) fail(module, dbHandle, code);
    } finally {
      module._sqlite3_reset(stmt);
      module._sqlite3_clear_bindings(stmt);
    }
  };

  function fastStatement(sql: SqlJsStatic, db: Database, prepared: Statement, width: number): FastStatement {
    const module = rawModule(sql);
    const stmt = statementHandle(module, prepared);
    const dbHandle = databaseHandle(db);
    const offsets = new Int32Array(width);
    const lengths = new Int32Array(width);
    let scratch = Buffer.allocUnsafe(64 * 1024);
    return {
      width,
      module,
      stmt,
      dbHandle,
      run(values: readonly SqlValue[]): void {
        // Pass 1: encode every string into the scratch buffer (growing it when needed).
        let used = 0;
        for (let i = 0; i < width; i++) {
          const value = values[i];
          if (typeof value !== 'string') continue;
          // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only when that bound is large.
          const most = value.length > 65536 ? Buffer.byteLength(value) : value.length * 3;
          if (used + most > scratch.length) {
            const next = Buffer.allocUnsafe(Math.max(used + most, scratch.length * 2));
            scratch.copy(next, 0, 0, used);
            scratch = next;
          }
          offsets[i] = used;
          const written = value.length === 0 ? 0 : scratch.write(value, used, 'utf8');
          lengths[i] = written;
          used += written;
        }
        // The heap copy lives for this one step: malloc and free are cheap next to the row's
        // insert, and nothing outlives the call (no lifecycle tied to the database's).
        const base = used === 0 ? 0 : module._malloc(used);
        if (used > 0 && !base) throw new RangeError(`sql.js could not allocate ${used} bytes to bind a row`);
        try {
          if (used > 0) module.writeArrayToMemory(scratch.subarray(0, used), base);
          for (let i = 0; i < width; i++) {
            const value = values[i];
            let code: number;
            if (typeof value === 'string') code = module._sqlite3_bind_text(stmt, i + 1, base + offsets[i]!, lengths[i]!, SQLITE_STATIC);
            else if (typeof value === 'number') code = bindNumber(module, stmt, i + 1, value);
            else if (value === null || value === undefined) code = module._sqlite3_bind_blob(stmt, i + 1, 0, 0, 0);
            else throw new TypeError(`FastStatement binds text, numbers and null, not ${typeof value}`);
            if (code !== SQLITE_OK) fail(module, dbHandle, code);
          }
          step(module, stmt, dbHandle);
        } finally {
          // Reset (in step) before freeing: SQLITE_STATIC bindings point into the block until then.
          if (base) module._free(base);
        }
        if (scratch.length > KEEP_SCRATCH_BYTES) scratch = Buffer.allocUnsafe(64 * 1024);
      },
    };
  }

  // Column order of an event row: seq, stream, position, key, value, value_bytes, decode_error,
  // headers, op, event_time, ingest_time, size. Tokens 0..7 are stream .. op, in that order;
  // tokens 2, 3 and 6 (key, value, headers) are JSON stored as JSON, the others JSON strings
  // stored as their text.
  const JSON_TOKEN = [false, false, true, true, false, false, true, false];

  /**
   * Inserts rows `[from, to)` of a laid-out batch with `many` (several rows of 12 parameters a
   * run) and `one` (one row a run), leaving out rows `skip` says to. `payload` holds the journal
   * bytes. Both statements belong to the same database.
   */
  function insertLaidOutRows(
    many: FastStatement,
    one: FastStatement,
    payload: Uint8Array,
    layout: RowLayout,
    skip: ((row: number) => boolean) | null,
    from = 0,
    to = layout.count,
  ): void {
    const { module, dbHandle } = one;
    const manyRows = many.width / ROW_PARAMS;
    const { tokens, numbers, count } = layout;
    const base = module._malloc(Math.max(1, payload.length));
    if (!base) throw new RangeError(`sql.js could not allocate ${payload.length} bytes to insert rows`);
    // Strings decoded from escaped tokens (rare): kept alive until the statement has run.
    const decoded: number[] = [];
    try {
      module.writeArrayToMemory(payload, base);
      const bindRow = (stmt: number, row: number, first: number): void => {
        const t = row * LAYOUT_INTS;
        const n = row * LAYOUT_NUMBERS;
        const escaped = (tokens[t + TOKENS * 2]! & LAYOUT_ESCAPED) !== 0;
        let code = bindNumber(module, stmt, first, numbers[n]!);
        if (code !== SQLITE_OK) fail(module, dbHandle, code);
        for (let k = 0; k < TOKENS; k++) {
          const start = tokens[t + 2 * k]!;
          const length = tokens[t + 2 * k + 1]!;
          const index = first + 1 + k;
          // `null` (4 bytes, starting with n) stands for SQL NULL in every token.
          if (length === 4 && payload[start] === 0x6e) code = module._sqlite3_bind_blob(stmt, index, 0, 0, 0);
          else if (JSON_TOKEN[k]) code = module._sqlite3_bind_text(stmt, index, base + start, length, SQLITE_STATIC);
          else if (!escaped) code = module._sqlite3_bind_text(stmt, index, base + start + 1, length - 2, SQLITE_STATIC);
          else {
            const text = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset + start, length).toString('utf8')) as string;
            const bytes = Buffer.from(text, 'utf8');
            const pointer = module._malloc(Math.max(1, bytes.length));
            if (!pointer) throw new RangeError('sql.js could not allocate a decoded column');
            decoded.push(pointer);
            module.writeArrayToMemory(bytes, pointer);
            code = module._sqlite3_bind_text(stmt, index, pointer, bytes.length, SQLITE_STATIC);
          }
          if (code !== SQLITE_OK) fail(module, dbHandle, code);
        }
        for (let k = 1; k < LAYOUT_NUMBERS; k++) {
          code = bindNumber(module, stmt, first + TOKENS + k, numbers[n + k]!);
          if (code !== SQLITE_OK) fail(module, dbHandle, code);
        }
      };
      /** Binds rows and runs the statement; on any failure it is still reset and unbound. */
      const execute = (stmt: number, rows: number[], from: number, count: number): void => {
        try {
          for (let j = 0; j < count; j++) bindRow(stmt, rows[from + j]!, j * ROW_PARAMS + 1);
          const code = module._sqlite3_step(stmt);
          if (code !== SQLITE_DONE) fail(module, dbHandle, code);
        } finally {
          module._sqlite3_reset(stmt);
          module._sqlite3_clear_bindings(stmt);
          for (const pointer of decoded.splice(0)) module._free(pointer);
        }
      };
      const rows: number[] = [];
      for (let row = from; row < Math.min(to, count); row++) if (!skip || !skip(row)) rows.push(row);
      let i = 0;
      for (; i + manyRows <= rows.length; i += manyRows) execute(many.stmt, rows, i, manyRows);
      for (; i < rows.length; i++) execute(one.stmt, rows, i, 1);
    } finally {
      module._free(base);
    }
  }

  return { fastStatement, insertLaidOutRows, LAYOUT_INTS, LAYOUT_NUMBERS, LAYOUT_ESCAPED };
}

const kit = fastInsertKit();
export const { fastStatement, insertLaidOutRows } = kit;
/** Ints per row in a RowLayout's `tokens`: eight (start, length) byte pairs, then flags. */
export const LAYOUT_INTS: number = kit.LAYOUT_INTS;
/** Numbers per row in a RowLayout's `numbers`: seq, event time, ingest time, size. */
export const LAYOUT_NUMBERS: number = kit.LAYOUT_NUMBERS;
/** Flag bit: the string tokens (stream, position, value bytes, decode note, op) need JSON decoding. */
export const LAYOUT_ESCAPED: number = kit.LAYOUT_ESCAPED;
