// How the filter bar reads and writes a condition's value: `42` is a number, `true` a boolean,
// `null` null, `"42"` the string 42, anything else the text as typed.
import type { FieldCondition } from '../../../shared/contracts/explorer';

/** `42` → 42, `true` → true, `null` → null, `"42"` → "42", anything else → the text. */
export function parseConditionValue(text: string): string | number | boolean | null {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed === 'null') return null;
  if (/^".*"$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed) as string;
    } catch {
      return trimmed;
    }
  }
  return text;
}

export function formatConditionValue(value: FieldCondition['value']): string {
  if (value === undefined) return '';
  if (typeof value === 'string' && (/^-?\d/.test(value) || ['true', 'false', 'null'].includes(value))) return JSON.stringify(value);
  return value === null ? 'null' : String(value);
}
