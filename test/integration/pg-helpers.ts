// Shared by the PostgreSQL CDC suites: cleaning up replication slots on the shared server.
import type pg from 'pg';

/** Drops `slot`, waiting while a capture that just ended still holds it (its walsender lingers a moment). */
export async function dropSlotWhenFree(admin: pg.Client, slot: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const left = await admin.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (left.rows.length === 0) return;
    if (!left.rows[0]!.active) await admin.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
