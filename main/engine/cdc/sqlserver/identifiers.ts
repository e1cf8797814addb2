// Identifier safety for SQL Server CDC (research/reliability.md 5.4). Capture-instance functions are
// named after the instance (`cdc.fn_cdc_get_all_changes_<instance>`), so they cannot be bound as
// parameters: every name that reaches SQL text must (1) come from the catalog (cdc.change_tables,
// cdc.captured_columns), never straight from a request, and (2) be bracket-quoted with `]` doubled,
// as QUOTENAME does, refusing anything longer than sysname's 128 characters. Values and LSNs are
// always bound parameters.
import { EddyError } from '../../../../shared/contract.js';

export const SYSNAME_MAX = 128;

/** `[name]` with `]` doubled, like QUOTENAME; refuses empty names, NUL/control characters and > 128 characters. */
export function quoteName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new EddyError('VALIDATION', 'An empty SQL Server identifier was refused.');
  if (name.length > SYSNAME_MAX) {
    throw new EddyError('VALIDATION', `The SQL Server identifier "${name.slice(0, 40)}…" is ${name.length} characters long; sysname allows at most ${SYSNAME_MAX}.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new EddyError('VALIDATION', 'A SQL Server identifier with control characters was refused.');
  return `[${name.replace(/\]/g, ']]')}]`;
}

/** `[cdc].[fn_cdc_get_all_changes_<instance>]`; the whole function name must fit in sysname. */
export function changeFunctionName(captureInstance: string): string {
  return `[cdc].${quoteName(`fn_cdc_get_all_changes_${captureInstance}`)}`;
}

export interface TableName {
  schema: string;
  table: string;
}

/**
 * Parses `schema.table` as a user types it: bare parts split at the single dot, or bracket-quoted
 * parts (`[dbo].[Order.Items]`, `]]` inside brackets). The result is only ever *looked up* in the
 * catalog; a name that is not a captured table is refused before any SQL is built from it.
 */
export function parseTableName(text: string): TableName {
  const trimmed = text.trim();
  const parts: string[] = [];
  let index = 0;
  while (index <= trimmed.length) {
    if (trimmed[index] === '[') {
      let part = '';
      index++;
      for (;;) {
        if (index >= trimmed.length) throw new EddyError('VALIDATION', `"${text}" has an unclosed [ bracket.`);
        if (trimmed[index] === ']') {
          if (trimmed[index + 1] === ']') {
            part += ']';
            index += 2;
            continue;
          }
          index++;
          break;
        }
        part += trimmed[index++];
      }
      parts.push(part);
    } else {
      const dot = trimmed.indexOf('.', index);
      const end = dot < 0 ? trimmed.length : dot;
      parts.push(trimmed.slice(index, end));
      index = end;
    }
    if (index >= trimmed.length) break;
    if (trimmed[index] !== '.') throw new EddyError('VALIDATION', `"${text}" is not schema.table.`);
    index++;
  }
  if (parts.length === 1) parts.unshift('dbo');
  if (parts.length !== 2 || parts.some((part) => part.length === 0 || part.length > SYSNAME_MAX)) {
    throw new EddyError('VALIDATION', `"${text}" is not schema.table (each part 1-${SYSNAME_MAX} characters).`);
  }
  return { schema: parts[0]!, table: parts[1]! };
}

export function tableKey(name: TableName): string {
  return `${name.schema}.${name.table}`;
}
