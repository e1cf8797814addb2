// Field paths as the explorer shows them (`after.City`, `key.CustomerID`, `items[0].sku`): parsing,
// evaluating on an event for JSON-path columns, and building paths from the JSON tree. The engine
// reads the same syntax (shared/contracts/explorer.ts FieldPathSchema).
import type { JsonValue, StoredEvent } from '../../../shared/events';

export type PathSegment = string | number;

export interface FieldPath {
  root: 'value' | 'key';
  segments: PathSegment[];
}

const PATH = /^(\$|\$\.)?([A-Za-z_][A-Za-z0-9_$-]*|\[\d{1,6}\])((\.[A-Za-z_][A-Za-z0-9_$-]*)|(\[\d{1,6}\]))*$/;

export function isValidPath(text: string): boolean {
  return PATH.test(text.trim());
}

export function parsePath(text: string): FieldPath | null {
  const trimmed = text.trim();
  if (!PATH.test(trimmed)) return null;
  const body = trimmed.replace(/^\$\.?/, '');
  const segments: PathSegment[] = [];
  for (const match of body.matchAll(/([A-Za-z_][A-Za-z0-9_$-]*)|\[(\d+)\]/g)) {
    segments.push(match[1] !== undefined ? match[1] : Number(match[2]));
  }
  if (segments[0] === 'key') return { root: 'key', segments: segments.slice(1) };
  return { root: 'value', segments };
}

export function formatPath(path: FieldPath): string {
  const parts = path.root === 'key' ? ['key'] : [];
  let text = parts.join('');
  for (const segment of path.segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}

/** A path from the JSON tree (value root) as text, or null when a key cannot be written in the syntax. */
export function pathFromSegments(root: 'value' | 'key', segments: PathSegment[]): string | null {
  if (segments.some((segment) => typeof segment === 'string' && !/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(segment))) return null;
  const text = formatPath({ root, segments });
  return text === '' ? null : text;
}

export function evaluatePath(event: Pick<StoredEvent, 'key' | 'value'>, path: FieldPath): JsonValue | undefined {
  let current: JsonValue | undefined = path.root === 'key' ? event.key : event.value;
  for (const segment of path.segments) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (Array.isArray(current)) return undefined;
      current = (current as Record<string, JsonValue>)[segment];
    }
  }
  return current;
}
