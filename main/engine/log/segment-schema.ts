// The schema of a log segment and its numbered migrations. `PRAGMA user_version` records the
// version a segment was written with. Sealed segments are immutable files, so they are migrated in
// memory each time they are loaded; the active segment is migrated once and snapshotted.
import { EddyError } from '../../../shared/contract.js';
import { type Database, inTransaction, queryValue } from './sqljs.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Append only: never edit a migration that has shipped, add the next number. */
export const SEGMENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'event rows, stream/time indexes, the `events` view',
    sql: `
      CREATE TABLE event_rows (
        seq INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        position TEXT NOT NULL,
        key TEXT,
        value TEXT,
        value_bytes TEXT,
        decode_error TEXT,
        headers TEXT NOT NULL DEFAULT '[]',
        op TEXT,
        event_time INTEGER NOT NULL,
        ingest_time INTEGER NOT NULL,
        size INTEGER NOT NULL
      );
      CREATE INDEX event_rows_stream ON event_rows(stream, seq);
      CREATE INDEX event_rows_event_time ON event_rows(stream, event_time);
      CREATE INDEX event_rows_ingest_time ON event_rows(stream, ingest_time);
      CREATE VIEW events AS
        SELECT seq, stream, position, key, value, headers, op, event_time, ingest_time, size, decode_error, value_bytes
        FROM event_rows;
    `,
  },
];

export const SEGMENT_SCHEMA_VERSION = SEGMENT_MIGRATIONS[SEGMENT_MIGRATIONS.length - 1]!.version;

/** Brings `db` to the latest schema; refuses a segment written by a newer Eddy. */
export function migrate(db: Database, migrations: readonly Migration[], what: string): { from: number; to: number } {
  const from = Number(queryValue(db, 'PRAGMA user_version') ?? 0);
  const latest = migrations[migrations.length - 1]!.version;
  if (from > latest) {
    throw new EddyError('UNAVAILABLE', `${what} has schema version ${from}, newer than this Eddy understands (${latest}). Update Eddy to open it.`, {
      from,
      latest,
    });
  }
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    inTransaction(db, () => {
      db.run(migration.sql);
      db.run(`PRAGMA user_version = ${migration.version}`);
    });
  }
  return { from, to: latest };
}
