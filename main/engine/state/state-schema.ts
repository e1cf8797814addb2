// The state store's schema and its numbered migrations (applied on open; `PRAGMA user_version`
// records the version). Keyed state, CDC table versions and pipeline checkpoints live in one
// sql.js database whose durability comes from the state journal and snapshots.
import type { Migration } from '../log/segment-schema.js';

/** Append only: never edit a migration that has shipped, add the next number. */
export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'keyed state, table versions, checkpoints',
    sql: `
      CREATE TABLE keyed_state (
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (pipeline, stage, key)
      ) WITHOUT ROWID;
      CREATE TABLE table_versions (
        table_name TEXT NOT NULL,
        key TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        version INTEGER NOT NULL,
        op TEXT NOT NULL,
        row TEXT,
        position TEXT,
        PRIMARY KEY (table_name, key, event_time, version)
      ) WITHOUT ROWID;
      CREATE TABLE checkpoints (
        pipeline TEXT PRIMARY KEY,
        commit_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        positions TEXT NOT NULL,
        sinks TEXT
      );
    `,
  },
];
