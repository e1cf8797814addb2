// The form side of the pipeline editor: add sources, tables, stages and sinks from templates, and
// edit the selected one field by field (inputs as checkboxes of what exists upstream). It edits
// the same JSON as the text editor; the schema check runs on every change either way.
import { useState, type JSX } from 'react';
import type { JsonValue } from '../../../shared/events';

export type SpecObject = { [key: string]: JsonValue };
type Section = 'sources' | 'tables' | 'stages' | 'sinks';

const templates: Record<Section, Record<string, SpecObject>> = {
  sources: {
    log: { kind: 'log', stream: 'sqlserver:shop.dbo.Orders' },
    cdc: { kind: 'cdc', connection: 'shop', table: 'dbo.Orders', stream: 'sqlserver:shop.dbo.Orders' },
    kafka: { kind: 'kafka', connection: 'local-kafka', topic: 'orders', startFrom: 'earliest' },
  },
  tables: { table: { source: '', key: 'key' } },
  stages: {
    transform: { kind: 'transform', inputs: [], script: 'pipelines/scripts/transform.ts' },
    keyed: { kind: 'keyed', inputs: [], script: 'pipelines/scripts/keyed.ts', key: 'key' },
    window: { kind: 'window', inputs: [], key: 'key', window: { type: 'tumbling', size: '1m' }, watermark: { maxOutOfOrder: '5s' }, allowedLateness: '1m', aggregate: { count: { fn: 'count' } } },
    lookup: { kind: 'lookup', inputs: [], table: '', key: 'value.after.CustomerID', as: 'customer', onMissing: 'null' },
  },
  sinks: {
    warehouse: { kind: 'warehouse', inputs: [], table: 'results', key: ['id'] },
    log: { kind: 'log', inputs: [], stream: 'pipeline:results' },
    postgres: { kind: 'postgres', inputs: [], connection: 'warehouse-pg', table: 'public.results', key: ['id'] },
    sqlserver: { kind: 'sqlserver', inputs: [], connection: 'warehouse-mssql', table: 'dbo.Results', key: ['id'] },
    kafka: { kind: 'kafka', inputs: [], connection: 'local-kafka', topic: 'results', transactional: true },
    null: { kind: 'null', inputs: [] },
  },
};

function list(spec: SpecObject, section: Section): SpecObject[] {
  const value = spec[section];
  return Array.isArray(value) ? (value.filter((item) => item !== null && typeof item === 'object' && !Array.isArray(item)) as SpecObject[]) : [];
}

export function findNode(spec: SpecObject, id: string | undefined): { section: Section; index: number; node: SpecObject } | undefined {
  if (id === undefined) return undefined;
  for (const section of ['sources', 'tables', 'stages', 'sinks'] as Section[]) {
    const index = list(spec, section).findIndex((node) => node.id === id);
    if (index >= 0) return { section, index, node: list(spec, section)[index]! };
  }
  return undefined;
}

function upstreamIds(spec: SpecObject, self: string): string[] {
  const ids = [...list(spec, 'sources'), ...list(spec, 'stages')].map((node) => String(node.id)).filter((id) => id !== self);
  const late = list(spec, 'stages')
    .filter((stage) => stage.kind === 'window' && stage.id !== self)
    .map((stage) => `${String(stage.id)}.late`);
  return [...ids, ...late];
}

function FieldEditor({ name, value, onChange }: { name: string; value: JsonValue; onChange: (value: JsonValue) => void }): JSX.Element {
  const [draft, setDraft] = useState<string | undefined>();
  const [bad, setBad] = useState(false);
  if (typeof value === 'boolean') {
    return (
      <label className="pipeline-field">
        <span>{name}</span>
        <input type="checkbox" checked={value} onChange={(event) => onChange(event.target.checked)} />
      </label>
    );
  }
  if (typeof value === 'number') {
    return (
      <label className="pipeline-field">
        <span>{name}</span>
        <input type="number" value={value} onChange={(event) => onChange(Number(event.target.value))} />
      </label>
    );
  }
  if (typeof value === 'string') {
    return (
      <label className="pipeline-field">
        <span>{name}</span>
        <input value={value} onChange={(event) => onChange(event.target.value)} aria-label={name} />
      </label>
    );
  }
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return (
      <label className="pipeline-field">
        <span>{name}</span>
        <input
          value={draft ?? value.join(', ')}
          onChange={(event) => setDraft(event.target.value)}
          onBlur={() => {
            if (draft !== undefined) onChange(draft.split(',').map((item) => item.trim()).filter(Boolean));
            setDraft(undefined);
          }}
          aria-label={name}
        />
      </label>
    );
  }
  return (
    <label className="pipeline-field wide">
      <span>{name}</span>
      <textarea
        className={bad ? 'bad' : ''}
        rows={Math.min(8, JSON.stringify(value, null, 2).split('\n').length)}
        value={draft ?? JSON.stringify(value, null, 2)}
        spellCheck={false}
        onChange={(event) => {
          setDraft(event.target.value);
          try {
            onChange(JSON.parse(event.target.value) as JsonValue);
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
        onBlur={() => setDraft(undefined)}
        aria-label={name}
      />
    </label>
  );
}

export function PipelineForm({ spec, selected, onSelect, onChange }: { spec: SpecObject; selected: string | undefined; onSelect: (id: string | undefined) => void; onChange: (spec: SpecObject) => void }): JSX.Element {
  const found = findNode(spec, selected);
  const update = (section: Section, index: number, node: SpecObject | null): void => {
    const nodes = list(spec, section).slice();
    if (node === null) nodes.splice(index, 1);
    else nodes[index] = node;
    onChange({ ...spec, [section]: nodes });
  };
  const add = (section: Section, kind: string): void => {
    const taken = new Set([...list(spec, 'sources'), ...list(spec, 'tables'), ...list(spec, 'stages'), ...list(spec, 'sinks')].map((node) => node.id));
    let id = kind;
    for (let n = 2; taken.has(id); n++) id = `${kind}-${n}`;
    onChange({ ...spec, [section]: [...list(spec, section), { id, ...templates[section][kind]! }] });
    onSelect(id);
  };
  return (
    <div className="pipeline-form">
      <div className="pipeline-form-head">
        <FieldEditor name="name" value={String(spec.name ?? '')} onChange={(value) => onChange({ ...spec, name: value })} />
        <FieldEditor name="description" value={String(spec.description ?? '')} onChange={(value) => onChange({ ...spec, description: value })} />
      </div>
      <div className="pipeline-add">
        {(['sources', 'tables', 'stages', 'sinks'] as Section[]).map((section) => (
          <label key={section}>
            + {section.slice(0, -1)}{' '}
            <select value="" onChange={(event) => event.target.value && add(section, event.target.value)} aria-label={`Add a ${section.slice(0, -1)}`}>
              <option value="">kind…</option>
              {Object.keys(templates[section]).map((kind) => (
                <option key={kind} value={kind}>
                  {kind}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {found ? (
        <fieldset className="pipeline-node-editor" data-editing={String(found.node.id)}>
          <legend>
            {found.section.slice(0, -1)} <strong>{String(found.node.id)}</strong>
          </legend>
          {Object.entries(found.node)
            .filter(([name]) => name !== 'inputs' && name !== 'kind')
            .map(([name, value]) => (
              <FieldEditor
                key={`${String(found.node.id)}-${name}`}
                name={name}
                value={value}
                onChange={(next) => {
                  update(found.section, found.index, { ...found.node, [name]: next });
                  if (name === 'id' && typeof next === 'string') onSelect(next);
                }}
              />
            ))}
          {Array.isArray(found.node.inputs) ? (
            <div className="pipeline-field wide">
              <span>inputs</span>
              <div className="pipeline-inputs">
                {upstreamIds(spec, String(found.node.id)).map((id) => {
                  const inputs = found.node.inputs as string[];
                  return (
                    <label key={id}>
                      <input
                        type="checkbox"
                        checked={inputs.includes(id)}
                        onChange={(event) => update(found.section, found.index, { ...found.node, inputs: event.target.checked ? [...inputs, id] : inputs.filter((input) => input !== id) })}
                      />{' '}
                      {id}
                    </label>
                  );
                })}
              </div>
            </div>
          ) : null}
          <button
            className="danger"
            onClick={() => {
              update(found.section, found.index, null);
              onSelect(undefined);
            }}
          >
            Remove {String(found.node.id)}
          </button>
        </fieldset>
      ) : (
        <p className="hint">Select a node in the graph to edit it, or add one.</p>
      )}
      <details className="pipeline-settings">
        <summary>Dead letters, retries and checkpoints</summary>
        {(['deadLetter', 'retries', 'checkpoint'] as const).map((name) => (
          <FieldEditor key={name} name={name} value={(spec[name] as JsonValue | undefined) ?? {}} onChange={(value) => onChange({ ...spec, [name]: value })} />
        ))}
      </details>
    </div>
  );
}
