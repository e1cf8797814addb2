// A JSON value as a table of leaf fields (`after.Amount  387`), marking the fields a transform
// added, removed or changed: the field-level diff of the preview and the version comparison.
import type { JSX } from 'react';
import type { FieldChange } from '../../../shared/contracts/transforms';
import type { JsonValue } from '../../../shared/events';

export function flattenJson(value: JsonValue | undefined, prefix = '', into: [string, JsonValue][] = []): [string, JsonValue][] {
  if (value === undefined) return into;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) flattenJson(child, prefix ? `${prefix}.${key}` : key, into);
  } else if (Array.isArray(value) && value.length > 0) {
    value.forEach((item, index) => flattenJson(item, `${prefix}[${index}]`, into));
  } else {
    into.push([prefix || '(value)', value]);
  }
  return into;
}

export function formatJson(value: JsonValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value);
}

export interface FieldTableProps {
  value: JsonValue | undefined;
  /** Changes from the input to the output; `side` picks which half of them marks this table. */
  changes?: FieldChange[];
  side: 'input' | 'output';
  empty?: string;
}

export function FieldTable({ value, changes = [], side, empty = '(nothing)' }: FieldTableProps): JSX.Element {
  const rows = flattenJson(value);
  const marks = new Map<string, FieldChange['kind']>();
  for (const change of changes) {
    if (side === 'input' && change.kind !== 'added') marks.set(change.path, change.kind);
    if (side === 'output' && change.kind !== 'removed') marks.set(change.path, change.kind);
  }
  if (rows.length === 0) return <div className="field-empty dim">{empty}</div>;
  return (
    <table className="field-table mono">
      <tbody>
        {rows.map(([path, leaf]) => {
          const mark = marks.get(path);
          return (
            <tr key={path} className={mark ? `field-${mark}` : undefined} data-field={path}>
              <td className="field-name">{path}</td>
              <td className="field-value">{formatJson(leaf)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
