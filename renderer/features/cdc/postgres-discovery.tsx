// What PostgreSQL discovery found: the server's readiness (wal_level, replication rights, slot
// limits), the tables with their keys and REPLICA IDENTITY (a warning and a "Set FULL" fix where
// updates or deletes would carry no old values), the replication slots with wal_status and the
// WAL they hold (Drop for inactive ones), and the publications.
import type { JSX } from 'react';
import { publishingBlocksWrites, type PgDiscovery, type PgTableInfo } from '../../../shared/contracts/cdc';

function bytes(value: number | null): string {
  if (value === null) return '–';
  if (value >= 1024 ** 3) return `${(value / 1024 ** 3).toFixed(1)} GB`;
  if (value >= 1024 ** 2) return `${(value / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.round(value / 1024)} kB`;
}

export const tableName = (table: Pick<PgTableInfo, 'schema' | 'name'>): string => `${table.schema}.${table.name}`;

export function PostgresDiscovery({
  discovery,
  selected,
  onToggle,
  onSetFull,
  onDropSlot,
  busy,
}: {
  discovery: PgDiscovery;
  selected: Set<string>;
  onToggle: (table: string) => void;
  onSetFull: (table: string) => void;
  onDropSlot: (slot: string) => void;
  busy: boolean;
}): JSX.Element {
  return (
    <div className="pg-discovery">
      <div className="pg-server">
        PostgreSQL {discovery.serverVersion} · database <strong>{discovery.database}</strong> as {discovery.user} ·{' '}
        <span className={discovery.walLevel === 'logical' ? 'ok' : 'bad'}>wal_level = {discovery.walLevel}</span> ·{' '}
        <span className={discovery.canReplicate ? 'ok' : 'bad'}>{discovery.canReplicate ? 'may replicate' : 'may not replicate'}</span> · slots {discovery.slots.length}/
        {discovery.maxReplicationSlots} · max_slot_wal_keep_size {discovery.maxSlotWalKeepSize === '-1' ? 'unlimited' : discovery.maxSlotWalKeepSize}
      </div>
      {discovery.warnings.length ? (
        <ul className="pg-warnings" role="alert">
          {discovery.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      ) : null}

      <table className="pg-table" aria-label="Tables">
        <thead>
          <tr>
            <th />
            <th>table</th>
            <th>primary key</th>
            <th>replica identity</th>
            <th>rows (est.)</th>
            <th>publications</th>
          </tr>
        </thead>
        <tbody>
          {discovery.tables.map((table) => {
            const name = tableName(table);
            return (
              <tr key={name} data-table={name}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`capture ${name}`}
                    checked={selected.has(name)}
                    onChange={() => onToggle(name)}
                    // Publishing it as it is would make the application's UPDATE and DELETE fail: never offered.
                    disabled={publishingBlocksWrites(table) && !selected.has(name)}
                    title={publishingBlocksWrites(table) ? 'Set REPLICA IDENTITY FULL (or add a primary key) first: published as it is, the application\'s UPDATE and DELETE on it would fail.' : undefined}
                  />
                </td>
                <td>
                  <code>{name}</code>
                </td>
                <td>{table.primaryKey.length ? table.primaryKey.join(', ') : <span className="bad">none</span>}</td>
                <td>
                  <span className={table.replicaIdentity === 'full' ? 'ok' : table.warning ? 'warn' : ''}>{table.replicaIdentity}</span>
                  {table.warning ? (
                    <>
                      {' '}
                      <span className={publishingBlocksWrites(table) ? 'pg-warning-mark danger' : 'pg-warning-mark'} title={table.warning} aria-label={table.warning}>
                        {publishingBlocksWrites(table) ? '⚠ needs FULL to be captured' : '⚠'}
                      </span>{' '}
                      <button className="link-button" disabled={busy} onClick={() => onSetFull(name)} title="ALTER TABLE ... REPLICA IDENTITY FULL: updates and deletes then carry the whole old row">
                        Set FULL
                      </button>
                    </>
                  ) : null}
                </td>
                <td title={table.estimatedRows < 0 ? 'No estimate yet: the table was never analyzed' : undefined}>{table.estimatedRows < 0 ? '?' : table.estimatedRows.toLocaleString()}</td>
                <td>{table.publications.join(', ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {discovery.tables.length === 0 ? <p className="hint">No tables in the chosen schemas.</p> : null}

      <details open={discovery.slots.length > 0}>
        <summary>Replication slots ({discovery.slots.length})</summary>
        <table className="pg-table" aria-label="Replication slots">
          <thead>
            <tr>
              <th>slot</th>
              <th>plugin</th>
              <th>database</th>
              <th>active</th>
              <th>wal_status</th>
              <th>confirmed</th>
              <th>WAL held</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {discovery.slots.map((slot) => (
              <tr key={slot.name} data-slot={slot.name}>
                <td>
                  <code>{slot.name}</code>
                </td>
                <td>{slot.plugin ?? slot.slotType}</td>
                <td>{slot.database ?? '–'}</td>
                <td>{slot.active ? 'yes' : 'no'}</td>
                <td className={slot.walStatus === 'lost' ? 'bad' : slot.walStatus === 'unreserved' ? 'warn' : ''}>{slot.walStatus ?? '–'}</td>
                <td>{slot.confirmedFlushLsn ?? '–'}</td>
                <td>{bytes(slot.retainedBytes)}</td>
                <td>
                  {!slot.active ? (
                    <button className="link-button" disabled={busy} onClick={() => onDropSlot(slot.name)} title="Drop the slot: the server stops keeping WAL for it">
                      Drop
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>

      <details>
        <summary>Publications ({discovery.publications.length})</summary>
        <ul className="pg-publications">
          {discovery.publications.map((publication) => (
            <li key={publication.name}>
              <code>{publication.name}</code>: {publication.allTables ? 'all tables' : publication.tables.join(', ') || 'no tables'} ·{' '}
              {(['insert', 'update', 'delete', 'truncate'] as const).filter((operation) => publication[operation]).join(', ')}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}
