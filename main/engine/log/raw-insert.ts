// Inserting prepared events into a segment without sql.js's string binding.
//
// sql.js binds a string by measuring and encoding it to UTF-8 in JavaScript, a character at a
// time, into a fresh malloc'd block, twice over for the length: for ~500-byte events that was
// about a third of an append's time (profiled). Here every string of a multi-row INSERT is written
// with Node's native UTF-8 encoder into one reusable block of sql.js's WebAssembly memory, and
// bound by pointer (SQLITE_STATIC: the block outlives the statement's step). Numbers and NULLs are
// bound through the same C functions sql.js itself calls. The statements stay sql.js statements
// (prepared, and freed with the database, by sql.js); only their binding and stepping go direct.
//
// Everything here is optional: when the module's memory or a statement's handle cannot be found,
// `RawInserter.create` returns null and the log binds through sql.js as before.
import type { Database, SqlJsStatic } from 'sql.js';
import type { PreparedEvent } from './event-codec.js';
import { sqlJsMemory, type WasmMemory } from './sqljs.js';

interface RawApi {
  _sqlite3_bind_text(stmt: number, index: number, pointer: number, bytes: number, destructor: number): number;
  _sqlite3_bind_int(stmt: number, index: number, value: number): number;
  _sqlite3_bind_double(stmt: number, index: number, value: number): number;
  _sqlite3_bind_blob(stmt: number, index: number, pointer: number, bytes: number, destructor: number): number;
  _sqlite3_step(stmt: number): number;
  _sqlite3_reset(stmt: number): number;
  _sqlite3_sql(stmt: number): number;
  _sqlite3_errmsg(db: number): number;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  UTF8ToString(pointer: number): string;
}

const SQLITE_DONE = 101;
/** Columns bound per row, in ROW_COLUMNS order. */
export const RAW_ROW_WIDTH = 12;
/** Above this many bytes of text, a multi-row statement's rows are inserted one by one instead. */
const MAX_STATEMENT_TEXT = 8 * 1024 * 1024;

function rawApi(SQL: SqlJsStatic): RawApi | null {
  const api = SQL as unknown as Partial<RawApi>;
  const needed: (keyof RawApi)[] = [
    '_sqlite3_bind_text',
    '_sqlite3_bind_int',
    '_sqlite3_bind_double',
    '_sqlite3_bind_blob',
    '_sqlite3_step',
    '_sqlite3_reset',
    '_sqlite3_sql',
    '_sqlite3_errmsg',
    '_malloc',
    '_free',
    'UTF8ToString',
  ];
  return needed.every((name) => typeof api[name] === 'function') ? (api as RawApi) : null;
}

/** The property of a sql.js Statement holding its sqlite3_stmt pointer (minified; found once). */
let handleKey: string | null = null;

function statementHandle(api: RawApi, memory: WasmMemory, statement: object, sql: string): number | null {
  const record = statement as Record<string, unknown>;
  const looksRight = (value: unknown): value is number =>
    typeof value === 'number' && Number.isInteger(value) && value > 1024 && value < memory.buffer.byteLength && api.UTF8ToString(api._sqlite3_sql(value)) === sql;
  if (handleKey !== null && looksRight(record[handleKey])) return record[handleKey] as number;
  for (const key of Object.keys(record)) {
    if (looksRight(record[key])) {
      handleKey = key;
      return record[key] as number;
    }
  }
  return null;
}

/** One scratch block per thread: inserts are synchronous, so they never share it at the same time. */
let scratch: { pointer: number; bytes: number; api: RawApi } | null = null;

function scratchFor(api: RawApi, bytes: number): number {
  if (scratch && scratch.api === api && scratch.bytes >= bytes) return scratch.pointer;
  if (scratch && scratch.api === api) api._free(scratch.pointer);
  let size = 1 << 16;
  while (size < bytes) size *= 2;
  const pointer = api._malloc(size);
  if (pointer === 0) {
    scratch = null;
    throw new Error(`could not allocate ${size} bytes in the SQLite heap`);
  }
  scratch = { pointer, bytes: size, api };
  return pointer;
}

export class RawInserter {
  private heap: Buffer;

  private constructor(
    private readonly api: RawApi,
    private readonly memory: WasmMemory,
    private readonly db: Database,
    private readonly statement: object,
    private readonly stmt: number,
    private readonly sql: string,
    /** Rows per execution of the statement. */
    readonly rows: number,
  ) {
    this.heap = Buffer.from(memory.buffer);
  }

  /** A direct binder for `statement` (prepared from `sql`, `rows` rows of RAW_ROW_WIDTH parameters), or null when unavailable. */
  static create(SQL: SqlJsStatic, db: Database, statement: object, sql: string, rows: number): RawInserter | null {
    const memory = sqlJsMemory();
    const api = rawApi(SQL);
    if (!memory || !api) return null;
    const stmt = statementHandle(api, memory, statement, sql);
    if (stmt === null) return null;
    return new RawInserter(api, memory, db, statement, stmt, sql, rows);
  }

  /** Still the live handle of its statement (a statement freed by sql.js, e.g. by an export, is not). */
  get valid(): boolean {
    return handleKey !== null && (this.statement as Record<string, unknown>)[handleKey] === this.stmt;
  }

  private check(rc: number, what: string): void {
    if (rc === 0) return;
    const dbHandle = (this.db as unknown as { db?: unknown }).db;
    const message = typeof dbHandle === 'number' ? this.api.UTF8ToString(this.api._sqlite3_errmsg(dbHandle)) : `code ${rc}`;
    throw new Error(`${what}: ${message}`);
  }

  /**
   * Inserts `events[from, from + rows)` with one step of the statement. Returns false (nothing
   * done) when their text is too large for one statement; the caller inserts them one at a time.
   */
  insert(events: readonly PreparedEvent[], from: number): boolean {
    const api = this.api;
    const stmt = this.stmt;
    let bound = 0;
    for (let i = 0; i < this.rows; i++) bound += events[from + i]!.size + 8;
    if (bound > MAX_STATEMENT_TEXT && this.rows > 1) return false;
    // `size` is the UTF-8 length of the event's journal body, which holds every bound string in
    // JSON form (never shorter than the string itself): an upper bound of the bytes written below.
    const base = scratchFor(api, bound);
    const end = base + bound;
    let offset = base;
    let index = 1;
    const text = (value: string): void => {
      // Binding never allocates (SQLITE_STATIC), so memory cannot grow here; checked anyway, it is cheap.
      if (this.heap.buffer !== this.memory.buffer) this.heap = Buffer.from(this.memory.buffer);
      // Never past the scratch block, whatever the estimate above: a string that does not fit is an
      // error (the append fails and is retried from the journal), never a write into SQLite's heap.
      const room = end - offset;
      const written = this.heap.write(value, offset, room, 'utf8');
      if (written >= room - 3 && Buffer.byteLength(value, 'utf8') > written) throw new Error('an event is larger than its size estimate');
      this.check(api._sqlite3_bind_text(stmt, index++, offset, written, 0), 'bind');
      offset += written;
    };
    const textOrNull = (value: string | null): void => {
      if (value === null) this.check(api._sqlite3_bind_blob(stmt, index++, 0, 0, 0), 'bind');
      else text(value);
    };
    const number = (value: number): void => {
      this.check(value === (value | 0) ? api._sqlite3_bind_int(stmt, index++, value) : api._sqlite3_bind_double(stmt, index++, value), 'bind');
    };
    for (let i = 0; i < this.rows; i++) {
      const event = events[from + i]!;
      number(event.seq);
      text(event.stream);
      text(event.position);
      textOrNull(event.keyJson);
      textOrNull(event.valueJson);
      textOrNull(event.valueBytes);
      textOrNull(event.decodeError);
      text(event.headersJson);
      textOrNull(event.op);
      number(event.eventTime);
      number(event.ingestTime);
      number(event.size);
    }
    const rc = api._sqlite3_step(stmt);
    if (rc !== SQLITE_DONE) {
      const code = api._sqlite3_reset(stmt);
      this.check(code === 0 ? rc : code, 'insert');
    }
    api._sqlite3_reset(stmt);
    return true;
  }

  /** The SQL this inserter runs (tests). */
  get statementSql(): string {
    return this.sql;
  }
}
