// Completion for the SQL editor: the `events` view and its columns, SQLite's JSON and date
// functions, the log's stream names (as string literals) and the field paths of each stream (as
// json_extract calls or bare `$.path` inside a string). Field paths come from a sample of each
// stream's newest events, refreshed when the streams change.
import type * as Monaco from 'monaco-editor';
import type { FieldInfo } from '../../../shared/contracts/explorer';
import { engine } from '../../client/engine-client';
import { streams } from './streams';

export const EVENT_COLUMNS: { name: string; detail: string }[] = [
  { name: 'seq', detail: 'log sequence number (integer, ascending)' },
  { name: 'stream', detail: 'stream name, e.g. kafka:orders' },
  { name: 'position', detail: 'source position (the event identity)' },
  { name: 'key', detail: 'key as JSON text' },
  { name: 'value', detail: 'value as JSON text: use json_extract(value, $.path)' },
  { name: 'headers', detail: 'headers as a JSON array of {key, value}' },
  { name: 'op', detail: 'CDC operation: c, u, d, r' },
  { name: 'event_time', detail: 'event time, ms since the epoch' },
  { name: 'ingest_time', detail: 'ingest time, ms since the epoch' },
  { name: 'size', detail: 'bytes in the log' },
  { name: 'decode_error', detail: 'why the value could not be decoded' },
  { name: 'value_bytes', detail: 'raw bytes (base64) of an undecoded value' },
];

const FUNCTIONS = [
  ['json_extract', 'json_extract(value, \'$.${1:path}\')', 'value at a JSON path'],
  ['json_type', 'json_type(value, \'$.${1:path}\')', 'JSON type at a path'],
  ['json_each', 'json_each(${1:value})', 'table of a JSON array or object'],
  ['datetime', "datetime(${1:event_time} / 1000, 'unixepoch')", 'ms since the epoch as a UTC date-time'],
  ['strftime', "strftime('%Y-%m-%d %H:%M', ${1:event_time} / 1000, 'unixepoch')", 'format a time'],
  ['count', 'count(*)', 'number of rows'],
  ['min', 'min(${1})', 'smallest'],
  ['max', 'max(${1})', 'largest'],
  ['avg', 'avg(${1})', 'average'],
  ['sum', 'sum(${1})', 'sum'],
  ['lower', 'lower(${1})', 'lower case'],
  ['instr', 'instr(${1:text}, ${2:needle})', 'position of a substring'],
  ['coalesce', 'coalesce(${1}, ${2})', 'first non-null'],
] as const;

const KEYWORDS = ['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'GROUP BY', 'ORDER BY', 'LIMIT', 'OFFSET', 'DESC', 'ASC', 'AS', 'IN', 'LIKE', 'IS NULL', 'IS NOT NULL', 'DISTINCT', 'HAVING', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'WITH', 'BETWEEN', 'JOIN', 'LEFT JOIN', 'ON', 'UNION ALL'];

let fieldsByStream = new Map<string, FieldInfo[]>();
let fieldsFor = '';

async function refreshFields(): Promise<void> {
  const list = streams.get().list ?? [];
  const signature = list.map((item) => item.stream).join('\u0000');
  if (signature === fieldsFor) return;
  fieldsFor = signature;
  const next = new Map<string, FieldInfo[]>();
  await Promise.all(
    list.slice(0, 30).map(async (item) => {
      try {
        next.set(item.stream, (await engine.describeFields({ stream: item.stream, sample: 200 })).fields);
      } catch {
        // A stream that cannot be sampled just has no field completion.
      }
    }),
  );
  fieldsByStream = next;
}

/** Streams named in the query text, to rank their fields first. */
function streamsIn(text: string): Set<string> {
  const found = new Set<string>();
  for (const match of text.matchAll(/'([^']+)'/g)) if (fieldsByStream.has(match[1]!)) found.add(match[1]!);
  return found;
}

const registered = new WeakSet<object>();

export function registerSqlCompletion(monaco: typeof Monaco): void {
  if (registered.has(monaco.languages)) return;
  registered.add(monaco.languages);
  void refreshFields();
  streams.subscribe(() => void refreshFields());
  monaco.languages.registerCompletionItemProvider('sql', {
    triggerCharacters: ["'", '.', '$', ' ', '('],
    provideCompletionItems(model, position) {
      const word = model.getWordUntilPosition(position);
      const range = { startLineNumber: position.lineNumber, endLineNumber: position.lineNumber, startColumn: word.startColumn, endColumn: word.endColumn };
      const line = model.getLineContent(position.lineNumber).slice(0, position.column - 1);
      const kinds = monaco.languages.CompletionItemKind;
      const snippet = monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet;
      const inString = (line.match(/'/g)?.length ?? 0) % 2 === 1;
      const mentioned = streamsIn(model.getValue());
      const suggestions: Monaco.languages.CompletionItem[] = [];
      if (inString) {
        // Inside a string: stream names, or `$.path` after json_extract(…, '
        const quote = line.lastIndexOf("'");
        const typed = line.slice(quote + 1);
        const stringRange = { ...range, startColumn: quote + 2 };
        if (/json_(extract|type)\(\s*(value|key)\s*,\s*'[^']*$/i.test(line)) {
          const onKey = /json_(extract|type)\(\s*key/i.test(line);
          for (const [stream, fields] of fieldsByStream) {
            for (const field of fields) {
              if (onKey !== field.path.startsWith('key')) continue;
              const path = onKey ? `$${field.path.slice(3)}` : `$.${field.path}`;
              suggestions.push({ label: path, kind: kinds.Field, insertText: path, range: stringRange, detail: `${field.types.join(' | ')} · ${stream}`, sortText: `${mentioned.has(stream) ? 0 : 1}${path}` });
            }
          }
        } else {
          for (const item of streams.get().list ?? []) {
            suggestions.push({ label: item.stream, kind: kinds.Constant, insertText: item.stream, range: stringRange, detail: `${item.count.toLocaleString('en')} events`, filterText: typed + item.stream });
          }
        }
        return { suggestions: dedupe(suggestions) };
      }
      suggestions.push({ label: 'events', kind: kinds.Class, insertText: 'events', range, detail: 'every event of the log (one row per event)' });
      for (const column of EVENT_COLUMNS) suggestions.push({ label: column.name, kind: kinds.Field, insertText: column.name, range, detail: column.detail, sortText: `0${column.name}` });
      for (const [name, insert, detail] of FUNCTIONS) suggestions.push({ label: name, kind: kinds.Function, insertText: insert, insertTextRules: snippet, range, detail });
      for (const keyword of KEYWORDS) suggestions.push({ label: keyword, kind: kinds.Keyword, insertText: keyword, range, sortText: `9${keyword}` });
      for (const item of streams.get().list ?? []) {
        suggestions.push({ label: `'${item.stream}'`, kind: kinds.Constant, insertText: `'${item.stream}'`, range, detail: `stream · ${item.count.toLocaleString('en')} events`, sortText: `5${item.stream}` });
      }
      for (const [stream, fields] of fieldsByStream) {
        for (const field of fields) {
          const onKey = field.path.startsWith('key');
          const path = onKey ? `$${field.path.slice(3)}` : `$.${field.path}`;
          const insert = `json_extract(${onKey ? 'key' : 'value'}, '${path}')`;
          suggestions.push({ label: field.path, kind: kinds.Property, insertText: insert, range, detail: `${insert} · ${field.types.join(' | ')} · ${stream}`, sortText: `${mentioned.has(stream) ? 1 : 6}${field.path}` });
        }
      }
      return { suggestions: dedupe(suggestions) };
    },
  });
}

function dedupe(items: Monaco.languages.CompletionItem[]): Monaco.languages.CompletionItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${typeof item.label === 'string' ? item.label : item.label.label}|${item.insertText}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
