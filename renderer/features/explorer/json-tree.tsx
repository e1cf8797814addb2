// A collapsible JSON tree for one event. Children render only when expanded and long arrays or
// objects show 100 entries at a time, so a large payload never floods the DOM. Each field offers
// its actions (add as a column, filter by its value, chart its distribution).
import { useState, type JSX } from 'react';
import type { JsonValue } from '../../../shared/events';
import { pathFromSegments, type PathSegment } from './json-path';

export interface FieldActions {
  onAddColumn?: (path: string) => void;
  onFilter?: (path: string, value: JsonValue) => void;
  onChart?: (path: string) => void;
}

const CHUNK = 100;

export function JsonTree({ value, root, actions }: { value: JsonValue; root: 'value' | 'key'; actions: FieldActions }): JSX.Element {
  return (
    <div className="json-tree" role="tree" aria-label={root === 'key' ? 'Key' : 'Value'}>
      <Node name={root === 'key' ? 'key' : 'value'} value={value} segments={[]} depth={0} root={root} actions={actions} />
    </div>
  );
}

function summary(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.length}]`;
  if (value !== null && typeof value === 'object') return `{${Object.keys(value).length}}`;
  return '';
}

function Scalar({ value }: { value: JsonValue }): JSX.Element {
  if (value === null) return <span className="json-null">null</span>;
  if (typeof value === 'string') return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="json-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="json-boolean">{String(value)}</span>;
  return <span>{JSON.stringify(value)}</span>;
}

function Node(props: { name: string | number; value: JsonValue; segments: PathSegment[]; depth: number; root: 'value' | 'key'; actions: FieldActions }): JSX.Element {
  const { value, depth, segments } = props;
  const container = value !== null && typeof value === 'object';
  const [open, setOpen] = useState(depth < 2);
  const [shown, setShown] = useState(CHUNK);
  const path = depth === 0 ? (props.root === 'key' ? 'key' : null) : pathFromSegments(props.root, segments);
  const entries: [string | number, JsonValue][] = container ? (Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value)) : [];
  return (
    <div className="json-node" role="treeitem" aria-expanded={container ? open : undefined} aria-level={depth + 1}>
      <div className="json-line">
        {container ? (
          <button className="json-toggle" aria-label={open ? 'Collapse' : 'Expand'} onClick={() => setOpen(!open)}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="json-toggle-space" />
        )}
        <span className="json-key">{typeof props.name === 'number' ? `[${props.name}]` : props.name}</span>
        <span className="json-colon">:</span>
        {container ? <span className="json-summary">{summary(value)}</span> : <Scalar value={value} />}
        {path ? (
          <span className="json-actions">
            {props.actions.onAddColumn ? (
              <button className="link-button" title={`Show ${path} as a column`} onClick={() => props.actions.onAddColumn?.(path)}>
                column
              </button>
            ) : null}
            {!container && props.actions.onFilter ? (
              <button className="link-button" title={`Only events where ${path} is ${JSON.stringify(value)}`} onClick={() => props.actions.onFilter?.(path, value)}>
                filter
              </button>
            ) : null}
            {!container && props.actions.onChart ? (
              <button className="link-button" title={`Chart how ${path} is distributed`} onClick={() => props.actions.onChart?.(path)}>
                chart
              </button>
            ) : null}
          </span>
        ) : null}
      </div>
      {container && open ? (
        <div className="json-children" role="group">
          {entries.slice(0, shown).map(([name, child]) => (
            <Node key={String(name)} name={name} value={child} segments={[...segments, name]} depth={depth + 1} root={props.root} actions={props.actions} />
          ))}
          {entries.length > shown ? (
            <button className="link-button json-more" onClick={() => setShown(shown + CHUNK)}>
              Show {Math.min(CHUNK, entries.length - shown)} more of {entries.length - shown}
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
