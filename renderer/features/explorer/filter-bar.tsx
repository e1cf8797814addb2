// The explorer's filter bar: text anywhere in the event, CDC operations, conditions on fields
// (with the stream's field paths suggested), and an event-time range. Typing is debounced; the
// engine counts and indexes the filtered view.
import { useEffect, useId, useState, type JSX } from 'react';
import type { ExplorerFilter, FieldCondition, FieldInfo } from '../../../shared/contracts/explorer';
import type { Op } from '../../../shared/events';
import { formatConditionValue, parseConditionValue } from './filter-bar-values';
import { isValidPath } from './json-path';

const OPS: { op: Op; label: string }[] = [
  { op: 'c', label: 'insert' },
  { op: 'u', label: 'update' },
  { op: 'd', label: 'delete' },
  { op: 'r', label: 'snapshot' },
];

const CONDITIONS: { op: FieldCondition['op']; label: string }[] = [
  { op: 'eq', label: '=' },
  { op: 'ne', label: '≠' },
  { op: 'contains', label: 'contains' },
  { op: 'gt', label: '>' },
  { op: 'lt', label: '<' },
  { op: 'exists', label: 'exists' },
  { op: 'missing', label: 'is missing' },
];

function toInput(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 19);
}

function fromInput(text: string): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(`${text.length === 16 ? `${text}:00` : text}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

interface DraftCondition {
  path: string;
  op: FieldCondition['op'];
  value: string;
}

export function countConditions(filter: ExplorerFilter | undefined): number {
  if (!filter) return 0;
  return (filter.text?.trim() ? 1 : 0) + (filter.fields?.length ?? 0) + (filter.ops?.length ? 1 : 0) + (filter.eventTime?.from !== undefined || filter.eventTime?.to !== undefined ? 1 : 0);
}

export function FilterBar({ filter, onChange, fields, isChangeStream }: { filter: ExplorerFilter | undefined; onChange: (filter: ExplorerFilter | undefined) => void; fields: FieldInfo[]; isChangeStream: boolean }): JSX.Element {
  const listId = useId();
  const [text, setText] = useState(filter?.text ?? '');
  const [conditions, setConditions] = useState<DraftCondition[]>(() => (filter?.fields ?? []).map((field) => ({ path: field.path, op: field.op, value: formatConditionValue(field.value) })));
  const [showTime, setShowTime] = useState(filter?.eventTime !== undefined);

  useEffect(() => setText(filter?.text ?? ''), [filter?.text]);
  useEffect(() => {
    setConditions((current) => {
      const incoming = (filter?.fields ?? []).map((field) => ({ path: field.path, op: field.op, value: formatConditionValue(field.value) }));
      const valid = current.filter((condition) => isValidPath(condition.path));
      return JSON.stringify(valid) === JSON.stringify(incoming) ? current : [...incoming, ...current.filter((condition) => !isValidPath(condition.path))];
    });
  }, [filter?.fields]);

  const emit = (patch: Partial<ExplorerFilter>): void => {
    const next: ExplorerFilter = { ...(filter ?? {}), ...patch };
    for (const key of Object.keys(next) as (keyof ExplorerFilter)[]) {
      const value = next[key];
      if (value === undefined || (Array.isArray(value) && value.length === 0) || value === '') delete next[key];
    }
    onChange(Object.keys(next).length === 0 ? undefined : next);
  };

  // Debounce typing: one view per pause, not one per key.
  useEffect(() => {
    if ((filter?.text ?? '') === text) return;
    const timer = setTimeout(() => emit({ text: text.trim() === '' ? undefined : text }), 350);
    return () => clearTimeout(timer);
  }, [text]);

  const applyConditions = (next: DraftCondition[]): void => {
    setConditions(next);
    const valid = next
      .filter((condition) => isValidPath(condition.path))
      .map((condition): FieldCondition => (condition.op === 'exists' || condition.op === 'missing' ? { path: condition.path.trim(), op: condition.op } : { path: condition.path.trim(), op: condition.op, value: parseConditionValue(condition.value) }));
    if (JSON.stringify(valid) !== JSON.stringify(filter?.fields ?? [])) emit({ fields: valid.length > 0 ? valid : undefined });
  };

  const ops = filter?.ops ?? [];
  return (
    <div className="filter-bar" role="search" aria-label="Filter events">
      <div className="filter-row">
        <input
          className="filter-text"
          type="search"
          placeholder="Filter: text in key, value, position or headers"
          aria-label="Filter text"
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter') emit({ text: text.trim() === '' ? undefined : text });
          }}
        />
        {isChangeStream || ops.length > 0 ? (
          <div className="chips" role="group" aria-label="Operations">
            {OPS.map(({ op, label }) => (
              <button
                key={op}
                className={ops.includes(op) ? `chip active op-chip-${op}` : `chip op-chip-${op}`}
                aria-pressed={ops.includes(op)}
                title={`Only ${label}s`}
                onClick={() => emit({ ops: ops.includes(op) ? ops.filter((item) => item !== op) : [...ops, op] })}
              >
                {label}
              </button>
            ))}
          </div>
        ) : null}
        <button onClick={() => setConditions([...conditions, { path: '', op: 'eq', value: '' }])} title="Add a condition on a field">
          + Field
        </button>
        <button className={showTime ? 'active' : undefined} onClick={() => setShowTime(!showTime)} aria-pressed={showTime} title="Filter by event time">
          Time
        </button>
        {filter ? (
          <button
            onClick={() => {
              setConditions([]);
              setText('');
              setShowTime(false);
              onChange(undefined);
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {conditions.map((condition, index) => (
        <div className="filter-row condition" key={index}>
          <input
            className={condition.path === '' || isValidPath(condition.path) ? 'filter-path' : 'filter-path invalid'}
            list={listId}
            placeholder="field, e.g. after.City"
            aria-label="Field path"
            value={condition.path}
            onChange={(event) => setConditions(conditions.map((item, i) => (i === index ? { ...item, path: event.target.value } : item)))}
            onBlur={() => applyConditions(conditions)}
            onKeyDown={(event) => event.key === 'Enter' && applyConditions(conditions)}
          />
          <select
            aria-label="Comparison"
            value={condition.op}
            onChange={(event) => applyConditions(conditions.map((item, i) => (i === index ? { ...item, op: event.target.value as FieldCondition['op'] } : item)))}
          >
            {CONDITIONS.map((item) => (
              <option key={item.op} value={item.op}>
                {item.label}
              </option>
            ))}
          </select>
          {condition.op === 'exists' || condition.op === 'missing' ? null : (
            <input
              className="filter-value"
              placeholder='value (42, true, null, "42")'
              aria-label="Value"
              value={condition.value}
              onChange={(event) => setConditions(conditions.map((item, i) => (i === index ? { ...item, value: event.target.value } : item)))}
              onBlur={() => applyConditions(conditions)}
              onKeyDown={(event) => event.key === 'Enter' && applyConditions(conditions)}
            />
          )}
          <button className="icon-button" aria-label="Remove this condition" onClick={() => applyConditions(conditions.filter((_, i) => i !== index))}>
            ×
          </button>
        </div>
      ))}
      {showTime ? (
        <div className="filter-row condition">
          <label className="inline-label">
            Event time from (UTC)
            <input type="datetime-local" step="1" value={toInput(filter?.eventTime?.from)} onChange={(event) => emit({ eventTime: cleanRange({ ...filter?.eventTime, from: fromInput(event.target.value) }) })} />
          </label>
          <label className="inline-label">
            to
            <input type="datetime-local" step="1" value={toInput(filter?.eventTime?.to)} onChange={(event) => emit({ eventTime: cleanRange({ ...filter?.eventTime, to: fromInput(event.target.value) }) })} />
          </label>
        </div>
      ) : null}
      <datalist id={listId}>
        {fields.map((field) => (
          <option key={field.path} value={field.path}>
            {field.types.join(' | ')}
          </option>
        ))}
      </datalist>
    </div>
  );
}

function cleanRange(range: { from?: number | undefined; to?: number | undefined }): ExplorerFilter['eventTime'] {
  const out: { from?: number; to?: number } = {};
  if (range.from !== undefined) out.from = range.from;
  if (range.to !== undefined) out.to = range.to;
  return out.from === undefined && out.to === undefined ? undefined : out;
}
