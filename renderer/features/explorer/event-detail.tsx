// One event in detail: its identity and times, then the value as a JSON tree, as raw text, as a
// hex dump, and for change events the before/after table with the changed fields highlighted.
// Copy its position or a link that "Go to event" opens again.
import { useMemo, useState, type JSX } from 'react';
import type { JsonValue, StoredEvent } from '../../../shared/events';
import { copyText } from '../../app/clipboard';
import { eventLink } from './event-link';
import { displayOp, formatTime } from './format';
import { HEX_LIMIT, hexDump } from './hex';
import { JsonTree, type FieldActions } from './json-tree';
import { changeSummary, connectorOf } from './change-summary';
import { HeadersTable } from './headers-table';

type DetailTab = 'changes' | 'tree' | 'raw' | 'hex' | 'headers';

type ChangeValue = { before?: Record<string, unknown> | null; after?: Record<string, unknown> | null; source?: unknown } | null;

export function isChangeEvent(event: StoredEvent): boolean {
  const value = event.value as ChangeValue;
  return event.op !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value) && ('before' in value || 'after' in value);
}

function rawBytes(event: StoredEvent): Uint8Array {
  if (event.valueBytes) {
    const binary = atob(event.valueBytes);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  return new TextEncoder().encode(event.value === null ? '' : JSON.stringify(event.value));
}

function rawText(event: StoredEvent): string {
  if (event.valueBytes) return new TextDecoder('utf-8', { fatal: false }).decode(rawBytes(event));
  return JSON.stringify(event.value, null, 2) ?? 'null';
}

export function EventDetail({ event, actions, onClose }: { event: StoredEvent; actions: FieldActions; onClose: () => void }): JSX.Element {
  const change = isChangeEvent(event);
  const [tab, setTab] = useState<DetailTab>(change ? 'changes' : 'tree');
  const current: DetailTab = tab === 'changes' && !change ? 'tree' : tab;
  const value = event.value as ChangeValue;
  const bytes = useMemo(() => (current === 'hex' ? rawBytes(event) : undefined), [current, event]);
  const tabs: [DetailTab, string][] = [
    ...(change ? ([['changes', 'Before / after']] as [DetailTab, string][]) : []),
    ['tree', 'Tree'],
    ['raw', 'Raw'],
    ['hex', 'Hex'],
    ['headers', `Headers (${event.headers.length})`],
  ];
  return (
    <aside className="event-detail" aria-label="Event details">
      <header className="detail-header">
        {displayOp(event) ? <span className={`op op-${displayOp(event)}`}>{displayOp(event)}</span> : null}
        <strong className="mono detail-title" title={event.position}>
          {event.position}
        </strong>
        <span className="spacer" />
        <button className="icon-button" aria-label="Close the event details" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </header>
      <dl>
        <dt>Stream</dt>
        <dd className="mono">{event.stream}</dd>
        <dt>Key</dt>
        <dd className="mono">{event.key === null ? '—' : JSON.stringify(event.key)}</dd>
        <dt>Event time</dt>
        <dd className="mono">{formatTime(event.eventTime)}</dd>
        <dt>Ingest time</dt>
        <dd className="mono">
          {formatTime(event.ingestTime)} <span className="dim">({formatSkew(event.ingestTime - event.eventTime)} after the event)</span>
        </dd>
        <dt>Size</dt>
        <dd className="mono">{event.size.toLocaleString('en')} bytes · seq {event.seq}</dd>
      </dl>
      <div className="detail-actions">
        <button onClick={() => void copyText(event.position, 'position')}>Copy position</button>
        <button onClick={() => void copyText(eventLink(event.stream, event.position), 'link to this event')}>Copy link</button>
        <button onClick={() => void copyText(JSON.stringify(event.value, null, 2) ?? 'null', 'value as JSON')}>Copy JSON</button>
      </div>
      {event.decodeError ? (
        <div className="banner warning">
          <strong>Not decoded</strong>
          <span>{event.decodeError}. The raw bytes are kept as they arrived: see Raw and Hex.</span>
        </div>
      ) : null}
      <div className="detail-tabs" role="tablist" aria-label="Event views">
        {tabs.map(([id, label]) => (
          <button key={id} role="tab" aria-selected={current === id} className={current === id ? 'detail-tab active' : 'detail-tab'} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
      </div>
      <div className="detail-body" role="tabpanel">
        {current === 'changes' && value ? <ChangeTable before={value.before ?? null} after={value.after ?? null} op={event.op} connector={connectorOf(value)} eventKey={event.key} /> : null}
        {current === 'tree' ? (
          <>
            {event.key !== null && typeof event.key === 'object' ? <JsonTree value={event.key} root="key" actions={actions} /> : null}
            {event.value !== null ? <JsonTree value={event.value} root="value" actions={actions} /> : <p className="dim">No value (a tombstone or an undecoded event).</p>}
          </>
        ) : null}
        {current === 'raw' ? (
          <pre className="json wrap">
            <LongText text={rawText(event)} limit={RAW_CHARS} />
          </pre>
        ) : null}
        {current === 'hex' && bytes ? (
          <>
            <pre className="hex" aria-label="Hex dump">
              {hexDump(bytes)}
            </pre>
            {bytes.length > HEX_LIMIT ? <p className="dim">First {HEX_LIMIT / 1024} KB of {bytes.length.toLocaleString('en')} bytes.</p> : null}
          </>
        ) : null}
        {current === 'headers' ? <HeadersTable headers={event.headers} className="kv" empty={<p className="dim">This event has no headers.</p>} /> : null}
      </div>
    </aside>
  );
}

function formatSkew(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${sign}${(abs / 60_000).toFixed(1)} min`;
  return `${sign}${(abs / 3_600_000).toFixed(1)} h`;
}

function cell(value: unknown): JSX.Element | string {
  return value === undefined ? '' : <LongText text={JSON.stringify(value as JsonValue)} limit={CELL_CHARS} />;
}

/** Characters of a before/after cell shown until asked for more; of the raw view. */
const CELL_CHARS = 2_000;
const RAW_CHARS = 200_000;

/**
 * Text that may be megabytes long (a 5 MB column): its start, how much more there is and a button
 * for the rest. Laying out all of it would stall the view and squeeze the table's other columns.
 */
export function LongText({ text, limit }: { text: string; limit: number }): JSX.Element {
  const [all, setAll] = useState(false);
  if (all || text.length <= limit) return <>{text}</>;
  return (
    <>
      {text.slice(0, limit)}
      <span className="dim"> … {(text.length - limit).toLocaleString('en')} more characters </span>
      <button className="link-button" onClick={() => setAll(true)}>
        Show all
      </button>
    </>
  );
}

/** Before and after of a change event, field by field; changed fields are highlighted. */
export function ChangeTable({
  before,
  after,
  op,
  connector,
  eventKey,
}: {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op?: string | null | undefined;
  connector?: string | undefined;
  eventKey?: unknown;
}): JSX.Element {
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const summary = changeSummary({ before, after, op, connector, eventKey });
  const keyFields = eventKey !== null && typeof eventKey === 'object' ? Object.keys(eventKey as object) : [];
  return (
    <>
      <p className="dim change-summary">{summary.text}</p>
      <table className="change" aria-label="Before and after">
        <thead>
          <tr>
            <th>Field</th>
            <th>Before</th>
            <th>After</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((field) => {
            const changed = before !== null && after !== null && JSON.stringify(before[field]) !== JSON.stringify(after[field]);
            const uncaptured = summary.keyOnlyBefore && !keyFields.includes(field);
            return (
              <tr key={field} className={changed ? 'changed' : undefined}>
                <td>{field}</td>
                <td className="mono">{uncaptured ? <span className="dim" title="Not captured: the source sent only the key">not captured</span> : before ? cell(before[field]) : ''}</td>
                <td className="mono">{after ? cell(after[field]) : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
