// Column values as tedious returns them -> JSON for the envelope's `before`/`after`. The choices
// (documented in the README's SQL Server section):
// - bit -> boolean; tinyint..int, real, float, money -> number; bigint (a string from tedious) ->
//   number when it is a safe integer, else its digits as a string;
// - decimal/numeric up to 15 digits -> number; wider ones are projected as text in SQL, so no digit
//   is lost to a double (Debezium's decimal.handling.mode=string);
// - binary/varbinary/image/rowversion -> base64 (what Debezium's JSON converter does with bytes);
// - date -> `YYYY-MM-DD`; time -> `HH:MM:SS[.fffffff]`; datetime/datetime2/smalldatetime -> ISO-8601
//   of the wall-clock value with a `Z` (tedious reads them as UTC; Debezium likewise encodes the wall
//   clock as epoch time without shifting it); datetimeoffset -> the UTC instant, ISO-8601;
// - char/varchar/nchar/nvarchar/text/ntext/xml/uniqueidentifier -> string.
import type { JsonValue } from '../../../../shared/events.js';
import type { CapturedColumn } from './catalog.js';

export type Converter = (value: unknown) => JsonValue;

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** Sub-millisecond digits tedious keeps in a non-enumerable `nanosecondsDelta` (seconds). */
function fraction(date: Date, scale: number): string {
  if (scale <= 0) return '';
  const delta = (date as Date & { nanosecondsDelta?: number }).nanosecondsDelta ?? 0;
  const hundredNanos = date.getUTCMilliseconds() * 10_000 + Math.round(delta * 10_000_000);
  return `.${pad(hundredNanos, 7).slice(0, Math.min(scale, 7))}`;
}

function isoDateTime(date: Date, scale: number): string {
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
  const time = `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  return `${day}T${time}${fraction(date, scale)}Z`;
}

/** Anything the type table does not cover (sql_variant, CLR types mssql parsed, unknown types). */
export function genericValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(genericValue);
  if (typeof value === 'object') {
    const result: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) result[key] = genericValue(item);
    return result;
  }
  return String(value);
}

const passthrough: Converter = (value) => (value === undefined ? null : (value as JsonValue));

function bigintValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  const textValue = String(value);
  const parsed = Number(textValue);
  return Number.isSafeInteger(parsed) ? parsed : textValue;
}

function bytesValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return genericValue(value);
}

export function converterFor(column: CapturedColumn): Converter {
  const scale = column.scale ?? 7;
  switch (column.type) {
    case 'bit':
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'real':
    case 'float':
    case 'money':
    case 'smallmoney':
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'text':
    case 'ntext':
    case 'xml':
    case 'sysname':
    case 'uniqueidentifier':
      return (value) => (value === null || value === undefined ? null : typeof value === 'object' ? genericValue(value) : (value as JsonValue));
    case 'bigint':
      return bigintValue;
    case 'decimal':
    case 'numeric':
      return column.asText ? (value) => (value === null || value === undefined ? null : String(value)) : passthrough;
    case 'binary':
    case 'varbinary':
    case 'image':
    case 'timestamp':
    case 'rowversion':
      return bytesValue;
    case 'date':
      return (value) => (value instanceof Date ? isoDateTime(value, 0).slice(0, 10) : genericValue(value));
    case 'time':
      return (value) => (value instanceof Date ? isoDateTime(value, scale).slice(11, -1) : genericValue(value));
    case 'datetime':
      return (value) => (value instanceof Date ? isoDateTime(value, 3) : genericValue(value));
    case 'smalldatetime':
      return (value) => (value instanceof Date ? isoDateTime(value, 0) : genericValue(value));
    case 'datetime2':
    case 'datetimeoffset':
      return (value) => (value instanceof Date ? isoDateTime(value, scale) : genericValue(value));
    default:
      return genericValue;
  }
}
