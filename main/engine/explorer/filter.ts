// The explorer's filter in two equivalent forms: a SQL condition over the log's `events` view (for
// the scans that count and index a view, run in the query worker) and a predicate over a
// StoredEvent (for events arriving live, and for paging between index anchors). Both follow the
// same rules, so a live view counts exactly what a fresh scan would:
//   - text: ASCII case-insensitive substring of the key, value, position or headers (as stored JSON);
//   - field conditions compare the JSON value at a path by its JSON type (a number never equals a string);
//   - time ranges are [from, to); ops is a set.
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import type { ExplorerFilter, FieldCondition } from '../../../shared/contracts/explorer.js';

export type PathSegment = string | number;

export interface ParsedPath {
  column: 'value' | 'key';
  segments: PathSegment[];
  /** The SQLite JSON path, e.g. `$.after.City` or `$` for the whole column. */
  jsonPath: string;
  /** The normalised text form, e.g. `after.City`, `key.CustomerID`. */
  text: string;
}

/** Parses a path already checked by FieldPathSchema (`after.City`, `$.items[0]`, `key.id`). */
export function parsePath(text: string): ParsedPath {
  const body = text.trim().replace(/^\$\.?/, '');
  const segments: PathSegment[] = [];
  for (const match of body.matchAll(/([A-Za-z_][A-Za-z0-9_$-]*)|\[(\d+)\]/g)) segments.push(match[1] !== undefined ? match[1] : Number(match[2]));
  let column: 'value' | 'key' = 'value';
  if (segments[0] === 'key') {
    column = 'key';
    segments.shift();
  }
  let jsonPath = '$';
  let normalised = column === 'key' ? 'key' : '';
  for (const segment of segments) {
    if (typeof segment === 'number') {
      jsonPath += `[${segment}]`;
      normalised += `[${segment}]`;
    } else {
      jsonPath += `.${segment}`;
      normalised += normalised === '' ? segment : `.${segment}`;
    }
  }
  return { column, segments, jsonPath, text: normalised === '' ? '$' : normalised };
}

export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError('not a finite number');
  return String(value);
}

/** ASCII-only lower case, as SQLite's lower() does without ICU. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (part) => part.toLowerCase());
}

function jsonType(path: ParsedPath): string {
  return `json_type(${path.column}, ${sqlString(path.jsonPath)})`;
}

function jsonExtract(path: ParsedPath): string {
  return `json_extract(${path.column}, ${sqlString(path.jsonPath)})`;
}

function equalsSql(path: ParsedPath, value: FieldCondition['value']): string {
  const type = jsonType(path);
  if (value === null || value === undefined) return `${type} = 'null'`;
  if (typeof value === 'boolean') return `${type} = '${value ? 'true' : 'false'}'`;
  if (typeof value === 'number') return `(${type} IN ('integer','real') AND ${jsonExtract(path)} = ${sqlNumber(value)})`;
  return `(${type} = 'text' AND ${jsonExtract(path)} = ${sqlString(value)})`;
}

function conditionSql(condition: FieldCondition): string {
  const path = parsePath(condition.path);
  const type = jsonType(path);
  switch (condition.op) {
    case 'exists':
      return `${type} IS NOT NULL`;
    case 'missing':
      return `${type} IS NULL`;
    case 'eq':
      return equalsSql(path, condition.value);
    case 'ne':
      return `(${type} IS NOT NULL AND NOT ${equalsSql(path, condition.value)})`;
    case 'contains': {
      const needle = asciiLower(String(condition.value ?? ''));
      return `(${type} IS NOT NULL AND instr(lower(CASE WHEN ${type} IN ('object','array') THEN json(${jsonExtract(path)}) ELSE CAST(${jsonExtract(path)} AS TEXT) END), ${sqlString(needle)}) > 0)`;
    }
    case 'gt':
    case 'lt': {
      const operator = condition.op === 'gt' ? '>' : '<';
      const value = condition.value;
      if (typeof value === 'number') return `(${type} IN ('integer','real') AND ${jsonExtract(path)} ${operator} ${sqlNumber(value)})`;
      return `(${type} = 'text' AND ${jsonExtract(path)} ${operator} ${sqlString(String(value ?? ''))})`;
    }
  }
}

/** The filter as a SQL condition (`1` when it is empty). */
export function filterSql(filter: ExplorerFilter | undefined): string {
  if (!filter) return '1';
  const parts: string[] = [];
  const text = filter.text?.trim();
  if (text) {
    parts.push(
      `instr(lower(coalesce(key, '') || ' ' || coalesce(value, '') || ' ' || position || ' ' || headers), ${sqlString(asciiLower(text))}) > 0`,
    );
  }
  for (const condition of filter.fields ?? []) parts.push(conditionSql(condition));
  if (filter.ops && filter.ops.length > 0) parts.push(`op IN (${filter.ops.map(sqlString).join(',')})`);
  for (const [column, range] of [
    ['event_time', filter.eventTime],
    ['ingest_time', filter.ingestTime],
  ] as const) {
    if (range?.from !== undefined) parts.push(`${column} >= ${sqlNumber(range.from)}`);
    if (range?.to !== undefined) parts.push(`${column} < ${sqlNumber(range.to)}`);
  }
  return parts.length === 0 ? '1' : parts.join(' AND ');
}

export function isEmptyFilter(filter: ExplorerFilter | undefined): boolean {
  return filterSql(filter) === '1';
}

/** A stable key for caching per (stream, filter). */
export function filterKey(filter: ExplorerFilter | undefined): string {
  if (!filter || isEmptyFilter(filter)) return '';
  const normal: ExplorerFilter = {};
  if (filter.text?.trim()) normal.text = filter.text.trim();
  if (filter.fields?.length) normal.fields = filter.fields.map((field) => ({ path: parsePath(field.path).text, op: field.op, ...(field.value !== undefined ? { value: field.value } : {}) }));
  if (filter.ops?.length) normal.ops = [...filter.ops].sort();
  if (filter.eventTime && (filter.eventTime.from !== undefined || filter.eventTime.to !== undefined)) normal.eventTime = { ...filter.eventTime };
  if (filter.ingestTime && (filter.ingestTime.from !== undefined || filter.ingestTime.to !== undefined)) normal.ingestTime = { ...filter.ingestTime };
  return JSON.stringify(normal);
}

// ---------------------------------------------------------------------------------------------
// The same rules in JavaScript.

type Found = { type: 'null' | 'true' | 'false' | 'integer' | 'real' | 'text' | 'object' | 'array'; value: JsonValue } | undefined;

export function extract(event: Pick<StoredEvent, 'key' | 'value'>, path: ParsedPath): Found {
  let current: JsonValue | undefined = path.column === 'key' ? event.key : event.value;
  // SQLite stores a missing key/value as SQL NULL: json_type of it is NULL, even at `$`.
  if (current === null || current === undefined) return undefined;
  for (const segment of path.segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
      current = (current as Record<string, JsonValue>)[segment];
    }
    if (current === undefined) return undefined;
  }
  if (current === null) return { type: 'null', value: null };
  if (current === true) return { type: 'true', value: true };
  if (current === false) return { type: 'false', value: false };
  if (typeof current === 'number') return { type: Number.isInteger(current) ? 'integer' : 'real', value: current };
  if (typeof current === 'string') return { type: 'text', value: current };
  return { type: Array.isArray(current) ? 'array' : 'object', value: current };
}

function equals(found: Found, value: FieldCondition['value']): boolean {
  if (!found) return false;
  if (value === null || value === undefined) return found.type === 'null';
  if (typeof value === 'boolean') return found.type === (value ? 'true' : 'false');
  if (typeof value === 'number') return (found.type === 'integer' || found.type === 'real') && found.value === value;
  return found.type === 'text' && found.value === value;
}

function conditionMatches(event: StoredEvent, condition: FieldCondition, path: ParsedPath): boolean {
  const found = extract(event, path);
  switch (condition.op) {
    case 'exists':
      return found !== undefined;
    case 'missing':
      return found === undefined;
    case 'eq':
      return equals(found, condition.value);
    case 'ne':
      return found !== undefined && !equals(found, condition.value);
    case 'contains': {
      if (!found || found.type === 'null') return false;
      const text = found.type === 'object' || found.type === 'array' ? JSON.stringify(found.value) : found.type === 'true' ? '1' : found.type === 'false' ? '0' : String(found.value);
      return asciiLower(text).includes(asciiLower(String(condition.value ?? '')));
    }
    case 'gt':
    case 'lt': {
      if (!found) return false;
      const value = condition.value;
      if (typeof value === 'number') {
        if (found.type !== 'integer' && found.type !== 'real') return false;
        return condition.op === 'gt' ? (found.value as number) > value : (found.value as number) < value;
      }
      if (found.type !== 'text') return false;
      const other = String(value ?? '');
      return condition.op === 'gt' ? (found.value as string) > other : (found.value as string) < other;
    }
  }
}

/** Compiles the filter to a predicate (undefined when it matches everything). */
export function compileFilter(filter: ExplorerFilter | undefined): ((event: StoredEvent) => boolean) | undefined {
  if (!filter || isEmptyFilter(filter)) return undefined;
  const text = filter.text?.trim() ? asciiLower(filter.text.trim()) : undefined;
  const fields = (filter.fields ?? []).map((condition) => ({ condition, path: parsePath(condition.path) }));
  const ops = filter.ops && filter.ops.length > 0 ? new Set<string>(filter.ops) : undefined;
  const eventTime = filter.eventTime;
  const ingestTime = filter.ingestTime;
  return (event) => {
    if (ops && (event.op === undefined || !ops.has(event.op))) return false;
    if (eventTime?.from !== undefined && !(event.eventTime >= eventTime.from)) return false;
    if (eventTime?.to !== undefined && !(event.eventTime < eventTime.to)) return false;
    if (ingestTime?.from !== undefined && !(event.ingestTime >= ingestTime.from)) return false;
    if (ingestTime?.to !== undefined && !(event.ingestTime < ingestTime.to)) return false;
    for (const { condition, path } of fields) if (!conditionMatches(event, condition, path)) return false;
    if (text !== undefined) {
      const haystack = `${event.key === null ? '' : JSON.stringify(event.key)} ${event.value === null ? '' : JSON.stringify(event.value)} ${event.position} ${JSON.stringify(event.headers)}`;
      if (!asciiLower(haystack).includes(text)) return false;
    }
    return true;
  };
}
