// PostgreSQL values, from the text form the server prints (in the session settings Eddy sets:
// DateStyle=ISO, TimeZone=UTC, bytea_output=hex, extra_float_digits=1), to the JSON an event
// carries. Faithful first: numeric stays a string (no float rounding), int8 stays a string past
// 2^53, timestamptz becomes ISO 8601 UTC with every fractional digit, jsonb becomes JSON, bytea
// becomes base64, arrays become arrays of mapped elements, NULL stays null. Types Eddy does not
// know (ranges, geometric types, composites...) keep PostgreSQL's text.
import type { JsonValue } from '../../../../shared/events.js';

export type ValueKind = 'bool' | 'int' | 'int8' | 'float' | 'numeric' | 'json' | 'bytea' | 'timestamptz' | 'timestamp' | 'text' | 'array';

export interface TypeInfo {
  oid: number;
  name: string;
  kind: ValueKind;
  /** Arrays: the element type and the element delimiter (`,`; `;` for box). */
  element?: TypeInfo;
  delimiter?: string;
}

/** Debezium's default `unavailable.value.placeholder`: an unchanged TOASTed value the server did not send. */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';

const scalar = (oid: number, name: string, kind: ValueKind): TypeInfo => ({ oid, name, kind });

const BUILTIN_SCALARS: TypeInfo[] = [
  scalar(16, 'bool', 'bool'),
  scalar(17, 'bytea', 'bytea'),
  scalar(18, 'char', 'text'),
  scalar(19, 'name', 'text'),
  scalar(20, 'int8', 'int8'),
  scalar(21, 'int2', 'int'),
  scalar(23, 'int4', 'int'),
  scalar(25, 'text', 'text'),
  scalar(26, 'oid', 'int'),
  scalar(28, 'xid', 'int'),
  scalar(114, 'json', 'json'),
  scalar(142, 'xml', 'text'),
  scalar(650, 'cidr', 'text'),
  scalar(700, 'float4', 'float'),
  scalar(701, 'float8', 'float'),
  scalar(774, 'macaddr8', 'text'),
  scalar(790, 'money', 'text'),
  scalar(829, 'macaddr', 'text'),
  scalar(869, 'inet', 'text'),
  scalar(1042, 'bpchar', 'text'),
  scalar(1043, 'varchar', 'text'),
  scalar(1082, 'date', 'text'),
  scalar(1083, 'time', 'text'),
  scalar(1114, 'timestamp', 'timestamp'),
  scalar(1184, 'timestamptz', 'timestamptz'),
  scalar(1186, 'interval', 'text'),
  scalar(1266, 'timetz', 'text'),
  scalar(1560, 'bit', 'text'),
  scalar(1562, 'varbit', 'text'),
  scalar(1700, 'numeric', 'numeric'),
  scalar(2950, 'uuid', 'text'),
  scalar(3614, 'tsvector', 'text'),
  scalar(3802, 'jsonb', 'json'),
  scalar(4072, 'jsonpath', 'text'),
  scalar(5069, 'xid8', 'text'),
];

/** Built-in array type OID -> element type OID. */
const BUILTIN_ARRAYS: [number, number][] = [
  [1000, 16],
  [1001, 17],
  [1002, 18],
  [1003, 19],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1028, 26],
  [199, 114],
  [143, 142],
  [1021, 700],
  [1022, 701],
  [791, 790],
  [1041, 869],
  [651, 650],
  [1040, 829],
  [1014, 1042],
  [1015, 1043],
  [1182, 1082],
  [1183, 1083],
  [1115, 1114],
  [1185, 1184],
  [1187, 1186],
  [1270, 1266],
  [1231, 1700],
  [2951, 2950],
  [3807, 3802],
];

export const UNKNOWN_TEXT_TYPE: TypeInfo = { oid: 0, name: 'unknown', kind: 'text' };

/** The types every server has, keyed by OID. Others are looked up in pg_type (see TypeRegistry). */
export function builtinTypes(): Map<number, TypeInfo> {
  const types = new Map<number, TypeInfo>();
  for (const type of BUILTIN_SCALARS) types.set(type.oid, type);
  for (const [oid, elementOid] of BUILTIN_ARRAYS) {
    const element = types.get(elementOid)!;
    types.set(oid, { oid, name: `_${element.name}`, kind: 'array', element, delimiter: ',' });
  }
  return types;
}

/** One row of pg_type, as TypeRegistry needs it. */
export interface PgTypeRow {
  oid: number;
  name: string;
  /** b base, c composite, d domain, e enum, p pseudo, r range, m multirange */
  type: string;
  elementOid: number;
  baseTypeOid: number;
  delimiter: string;
}

/**
 * Type OIDs -> how to map their values. Built-ins are known up front; user types (domains,
 * enums, arrays of either) are resolved from pg_type rows fetched by `load`.
 */
export class TypeRegistry {
  private readonly types = builtinTypes();

  constructor(private readonly load?: (oids: number[]) => Promise<PgTypeRow[]>) {}

  get(oid: number): TypeInfo {
    return this.types.get(oid) ?? UNKNOWN_TEXT_TYPE;
  }

  has(oid: number): boolean {
    return this.types.has(oid);
  }

  /** Makes sure every OID (and the types they refer to) is known; unknown ones map to text. */
  async ensure(oids: Iterable<number>): Promise<void> {
    let missing = [...new Set(oids)].filter((oid) => !this.types.has(oid));
    if (missing.length === 0 || !this.load) {
      for (const oid of missing) this.types.set(oid, { ...UNKNOWN_TEXT_TYPE, oid });
      return;
    }
    const rows = new Map<number, PgTypeRow>();
    // Domains over arrays of domains...: follow references a few levels deep.
    for (let depth = 0; depth < 4 && missing.length > 0; depth++) {
      for (const row of await this.load(missing)) rows.set(row.oid, row);
      missing = [...rows.values()]
        .flatMap((row) => [row.elementOid, row.baseTypeOid])
        .filter((oid) => oid !== 0 && !this.types.has(oid) && !rows.has(oid));
    }
    const resolve = (oid: number, depth: number): TypeInfo => {
      const known = this.types.get(oid);
      if (known) return known;
      const row = rows.get(oid);
      let info: TypeInfo;
      if (!row || depth > 8) info = { ...UNKNOWN_TEXT_TYPE, oid };
      else if (row.type === 'd' && row.baseTypeOid !== 0) info = { ...resolve(row.baseTypeOid, depth + 1), oid, name: row.name };
      else if (row.elementOid !== 0 && row.name.startsWith('_')) info = { oid, name: row.name, kind: 'array', element: resolve(row.elementOid, depth + 1), delimiter: row.delimiter || ',' };
      else info = { oid, name: row.name, kind: 'text' };
      this.types.set(oid, info);
      return info;
    };
    for (const oid of rows.keys()) resolve(oid, 0);
  }
}

/** Maps one non-null value from its text form. */
export function mapValue(text: string, type: TypeInfo): JsonValue {
  switch (type.kind) {
    case 'text':
      return text;
    case 'int':
      return Number(text);
    case 'int8': {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    }
    case 'bool':
      return text === 't' || text === 'true';
    case 'float': {
      const value = Number(text);
      // NaN and the infinities are not JSON numbers.
      return Number.isFinite(value) ? value : text;
    }
    case 'numeric':
      return text;
    case 'json':
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        return text;
      }
    case 'bytea':
      return byteaToBase64(text);
    case 'timestamptz':
      return isoTimestamp(text, true);
    case 'timestamp':
      return isoTimestamp(text, false);
    case 'array':
      return parseArray(text, type.element ?? UNKNOWN_TEXT_TYPE, type.delimiter ?? ',');
  }
}

/** `\x0102ff` (bytea_output=hex) -> base64. The old escape format is decoded too. */
export function byteaToBase64(text: string): string {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64');
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === 0x5c /* \ */ && text[index + 1] === '\\') {
      bytes.push(0x5c);
      index++;
    } else if (char === 0x5c && /^[0-7]{3}$/.test(text.slice(index + 1, index + 4))) {
      bytes.push(parseInt(text.slice(index + 1, index + 4), 8));
      index += 3;
    } else {
      bytes.push(char & 0xff);
    }
  }
  return Buffer.from(bytes).toString('base64');
}

const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?$/;

/**
 * `2026-11-21 18:13:52.123456+00` -> `2026-11-21T18:13:52.123456Z` (with a zone: offsets other
 * than UTC are kept, e.g. `+05:30`); without a zone no suffix. `infinity`, BC dates and years past
 * 9999 keep PostgreSQL's text, which no ISO parser would read the same way.
 */
export function isoTimestamp(text: string, withZone: boolean): string {
  const match = TIMESTAMP.exec(text);
  if (!match) return text;
  const [, year, month, day, time, sign, hours, minutes, seconds] = match;
  const base = `${year}-${month}-${day}T${time}`;
  if (!withZone || sign === undefined) return base;
  if (hours === '00' && (minutes ?? '00') === '00' && (seconds ?? '00') === '00') return `${base}Z`;
  return `${base}${sign}${hours}:${minutes ?? '00'}${seconds ? `:${seconds}` : ''}`;
}

/**
 * Parses an array literal such as `{1,2,NULL}`, `{{"a b","c\"d"},{e,f}}` or `[0:1]={1,2}` and maps
 * every element with `element`.
 */
export function parseArray(text: string, element: TypeInfo, delimiter = ','): JsonValue {
  let index = 0;
  // Explicit bounds (`[0:1]={...}`) only matter to PostgreSQL; JSON arrays start at 0 anyway.
  if (text.startsWith('[')) {
    const equals = text.indexOf('=');
    if (equals < 0) return text;
    index = equals + 1;
  }
  const parseLevel = (): JsonValue[] => {
    if (text[index] !== '{') throw new Error('expected {');
    index++;
    const items: JsonValue[] = [];
    if (text[index] === '}') {
      index++;
      return items;
    }
    for (;;) {
      const char = text[index];
      if (char === '{') {
        items.push(parseLevel());
      } else if (char === '"') {
        index++;
        let value = '';
        for (;;) {
          const next = text[index++];
          if (next === undefined) throw new Error('unterminated quoted element');
          if (next === '\\') value += text[index++] ?? '';
          else if (next === '"') break;
          else value += next;
        }
        items.push(mapValue(value, element));
      } else {
        const start = index;
        while (index < text.length && text[index] !== delimiter && text[index] !== '}') index++;
        const raw = text.slice(start, index).trim();
        items.push(raw.toUpperCase() === 'NULL' ? null : mapValue(raw, element));
      }
      const separator = text[index++];
      if (separator === '}') return items;
      if (separator !== delimiter) throw new Error(`unexpected "${separator ?? 'end'}" in array literal`);
    }
  };
  try {
    return parseLevel();
  } catch {
    return text;
  }
}
