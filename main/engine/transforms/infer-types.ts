// Infers TypeScript declarations for a stream's events from captured samples, so the editor knows
// the event's shape: nested fields, optional fields (absent from some samples) and nullable ones.
// The result augments `StreamEvents` in module 'eddy', which `Transform<'stream'>` reads.
import type { JsonValue, StoredEvent } from '../../../shared/events.js';

interface Shape {
  kinds: Set<'string' | 'number' | 'boolean' | 'null' | 'object' | 'array'>;
  /** Objects seen, and how often each field was present. */
  objects: number;
  fields: Map<string, { shape: Shape; count: number }>;
  items: Shape | undefined;
  examples: string[];
  integers: boolean;
}

function newShape(): Shape {
  return { kinds: new Set(), objects: 0, fields: new Map(), items: undefined, examples: [], integers: true };
}

const MAX_FIELDS = 500;
const MAX_DEPTH = 8;

export function addSample(shape: Shape, value: JsonValue | undefined, depth = 0): void {
  if (value === undefined) return;
  if (value === null) {
    shape.kinds.add('null');
    return;
  }
  if (Array.isArray(value)) {
    shape.kinds.add('array');
    shape.items ??= newShape();
    if (depth < MAX_DEPTH) for (const item of value.slice(0, 50)) addSample(shape.items, item, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    shape.kinds.add('object');
    shape.objects++;
    if (depth >= MAX_DEPTH) return;
    for (const [key, child] of Object.entries(value)) {
      let field = shape.fields.get(key);
      if (!field) {
        if (shape.fields.size >= MAX_FIELDS) continue;
        shape.fields.set(key, (field = { shape: newShape(), count: 0 }));
      }
      field.count++;
      addSample(field.shape, child, depth + 1);
    }
    return;
  }
  const kind = typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'boolean';
  shape.kinds.add(kind);
  if (kind === 'number' && !Number.isInteger(value)) shape.integers = false;
  if (shape.examples.length < 3) {
    const text = JSON.stringify(value);
    if (!shape.examples.includes(text) && text.length <= 60) shape.examples.push(text);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function propertyName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

export function renderShape(shape: Shape, indent = '  '): string {
  const parts: string[] = [];
  for (const kind of ['string', 'number', 'boolean'] as const) if (shape.kinds.has(kind)) parts.push(kind);
  if (shape.kinds.has('object')) {
    if (shape.fields.size === 0) parts.push('{ [key: string]: JsonValue }');
    else {
      const lines = [...shape.fields].map(([name, field]) => {
        const optional = field.count < shape.objects ? '?' : '';
        const doc = docFor(field.shape, field.count, shape.objects);
        return `${doc ? `${indent}  ${doc}\n` : ''}${indent}  ${propertyName(name)}${optional}: ${renderShape(field.shape, `${indent}  `)};`;
      });
      parts.push(`{\n${lines.join('\n')}\n${indent}}`);
    }
  }
  if (shape.kinds.has('array')) {
    const item = shape.items && shape.items.kinds.size > 0 ? renderShape(shape.items, indent) : 'JsonValue';
    parts.push(item.includes('|') || item.includes('{') ? `Array<${item}>` : `${item}[]`);
  }
  if (shape.kinds.has('null')) parts.push('null');
  return parts.length === 0 ? 'JsonValue' : parts.join(' | ');
}

function docFor(shape: Shape, count: number, of: number): string {
  const notes: string[] = [];
  if (shape.examples.length > 0) notes.push(`e.g. ${shape.examples.join(', ')}`);
  if (shape.kinds.has('number') && shape.integers && shape.kinds.size <= 2) notes.push('integer in the samples');
  if (count < of) notes.push(`in ${count} of ${of} samples`);
  return notes.length ? `/** ${notes.join('; ').replace(/\*\//g, '* /')} */` : '';
}

/** `sqlserver:shop.dbo.Orders` -> `SqlserverShopDboOrders`. */
export function typeNameFor(stream: string): string {
  const words = stream.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return /^[A-Za-z]/.test(name) ? name : `Stream${name}`;
}

function isEnvelope(value: JsonValue): value is { before?: JsonValue; after?: JsonValue; op?: JsonValue } & Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value) && 'op' in value;
}

export interface InferredTypes {
  declarations: string;
  typeName: string;
}

export function inferStreamTypes(stream: string, samples: readonly Pick<StoredEvent, 'key' | 'value'>[]): InferredTypes {
  const base = typeNameFor(stream);
  const keyShape = newShape();
  for (const sample of samples) addSample(keyShape, sample.key ?? null);
  const change = samples.length > 0 && samples.every((sample) => sample.value === null || isEnvelope(sample.value));
  const lines: string[] = [`// Inferred from ${samples.length} captured sample(s) of ${stream}.`, "declare module 'eddy' {"];
  let eventType: string;
  if (change && samples.some((sample) => sample.value !== null)) {
    const rowShape = newShape();
    for (const sample of samples) {
      const value = sample.value as Record<string, JsonValue> | null;
      if (!value) continue;
      if (value.before) addSample(rowShape, value.before);
      if (value.after) addSample(rowShape, value.after);
    }
    // Fields present in every row image are required; the envelope's nulls are on before/after.
    lines.push(`  /** A row of ${stream}. */`, `  interface ${base}Row ${rowShape.kinds.has('object') ? renderShape({ ...rowShape, kinds: new Set(['object']) }, '  ') : '{ [key: string]: JsonValue }'}`);
    lines.push(`  type ${base}Key = ${renderShape(keyShape, '  ')};`);
    eventType = `ChangeEvent<${base}Row, ${base}Key>`;
  } else {
    const valueShape = newShape();
    for (const sample of samples) addSample(valueShape, sample.value ?? null);
    lines.push(`  /** The value of an event of ${stream}. */`, `  type ${base}Value = ${renderShape(valueShape, '  ')};`);
    lines.push(`  type ${base}Key = ${renderShape(keyShape, '  ')};`);
    eventType = `TransformEvent<${base}Value, ${base}Key>`;
  }
  lines.push(`  /** An event of ${stream}. */`, `  type ${base}Event = ${eventType};`);
  lines.push('  interface StreamEvents {', `    ${JSON.stringify(stream)}: ${base}Event;`, '  }', '}', '');
  return { declarations: lines.join('\n'), typeName: `${base}Event` };
}
