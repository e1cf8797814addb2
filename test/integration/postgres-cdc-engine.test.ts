// The CDC capture list's recoveries through the engine, against the real PostgreSQL: Resume after
// a start that failed before its snapshot takes that snapshot; Re-snapshot after a gap (the slot
// gone) starts over on a new slot with the tables' current rows. Skips with the reason on a laptop
// without PostgreSQL; fails under CI.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { findPostgres } from '../support/services';
import { startTestEngine, type TestEngine } from './kafka-helpers';
import { dropSlotWhenFree } from './pg-helpers';

const url = await findPostgres();

describe.runIf(url)('postgres captures through the engine: resume and re-snapshot', () => {
  const admin = new pg.Client({ connectionString: url });
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const slots: string[] = [];
  const tables: string[] = [];
  let engine: TestEngine;
  let database = '';

  const waitState = async (id: string, states: string[], timeoutMs = 30_000, on: () => TestEngine = () => engine): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const capture = (await on().call('listCaptures', {})).find((entry) => entry.id === id);
      if (capture && states.includes(capture.state)) return capture.state;
      if (Date.now() > deadline) throw new Error(`capture ${id} is ${capture?.state ?? 'missing'}, expected ${states.join(' or ')}: ${capture?.message ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const dropSlot = (slot: string): Promise<void> => dropSlotWhenFree(admin, slot);

  beforeAll(async () => {
    await admin.connect();
    database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    engine = await startTestEngine();
  });
  afterAll(async () => {
    await engine?.close();
    for (const slot of slots) {
      await dropSlot(slot);
      await admin.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
    }
    for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin.end();
  });

  it('resumes a capture whose first start was refused with the snapshot it asked for', async () => {
    const table = `eddy_resume_${suffix}`;
    const slot = `eddy_resume_${suffix}`;
    tables.push(table);
    slots.push(slot);
    await admin.query(`CREATE TABLE ${table} (v int)`);
    await admin.query(`INSERT INTO ${table} VALUES (1), (2), (3)`);
    const started = await engine.call('pgStartCapture', { url: url!, tables: [`public.${table}`], slotName: slot, snapshot: true, untilCaughtUp: true });
    // No key and no REPLICA IDENTITY FULL: refused before anything is created on the server.
    expect((await engine.waitJob(started.jobId)).state).toBe('failed');
    expect(await waitState(started.captureId, ['error'])).toBe('error');
    await admin.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    await engine.call('resumeCapture', { id: started.captureId });
    expect(await waitState(started.captureId, ['stopped'])).toBe('stopped');
    const events = await engine.readAll(`pg:${database}.public.${table}`);
    expect(events.map((event) => [event.op, (event.value as { after: { v: number } }).after.v])).toEqual([
      ['r', 1],
      ['r', 2],
      ['r', 3],
    ]);
  });

  it('re-snapshots a capture stopped at a gap: a new slot, the current rows, then streaming', async () => {
    const table = `eddy_resnap_${suffix}`;
    const slot = `eddy_resnap_${suffix}`;
    tables.push(table);
    slots.push(slot);
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    await admin.query(`INSERT INTO ${table} VALUES (1, 'a')`);
    const started = await engine.call('pgStartCapture', { url: url!, tables: [`public.${table}`], slotName: slot, snapshot: true, untilCaughtUp: true });
    expect(await waitState(started.captureId, ['stopped'])).toBe('stopped');
    // The slot disappears while nobody reads it (a DBA, max_slot_wal_keep_size): changes are lost.
    await admin.query(`INSERT INTO ${table} VALUES (2, 'lost')`);
    await dropSlot(slot);
    await admin.query(`INSERT INTO ${table} VALUES (3, 'c')`);
    await engine.call('resumeCapture', { id: started.captureId });
    expect(await waitState(started.captureId, ['gap-detected'])).toBe('gap-detected');
    const gap = (await engine.call('listCaptures', {})).find((entry) => entry.id === started.captureId)!;
    expect(gap.canResnapshot).toBe(true);
    expect(gap.gap?.recommendation).toMatch(/Re-snapshot the capture/);
    await expect(engine.call('resumeCapture', { id: started.captureId })).rejects.toMatchObject({ code: 'CONFLICT' });
    await engine.call('resnapshotCapture', { id: started.captureId });
    expect(await waitState(started.captureId, ['stopped'])).toBe('stopped');
    const events = await engine.readAll(`pg:${database}.public.${table}`);
    // The first snapshot (1), then the re-snapshot reads every current row (1 again, 2 and 3).
    const snapshots = events.filter((event) => event.op === 'r').map((event) => (event.value as { after: { id: number } }).after.id);
    expect(snapshots).toEqual([1, 1, 2, 3]);
    expect((await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows).toHaveLength(1);
  });

  it('lists a capture of an earlier session as stopped and resumes it from its slot', async () => {
    const table = `eddy_session_${suffix}`;
    const slot = `eddy_session_${suffix}`;
    tables.push(table);
    slots.push(slot);
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await admin.query(`INSERT INTO ${table} VALUES (1)`);
    const first = await startTestEngine(process.env);
    let second: TestEngine | undefined;
    try {
      const started = await first.call('pgStartCapture', { url: url!, tables: [`public.${table}`], slotName: slot, snapshot: true, untilCaughtUp: true });
      const stream = `pg:${database}.public.${table}`;
      expect(await waitState(started.captureId, ['stopped'], 30_000, () => first)).toBe('stopped');
      await first.close(true);
      // Eddy closed; a change happens meanwhile; Eddy starts again on the same workspace.
      await admin.query(`INSERT INTO ${table} VALUES (2)`);
      second = await startTestEngine(process.env, first.workspace);
      let listed;
      for (let attempt = 0; attempt < 100 && !listed; attempt++) {
        listed = (await second.call('listCaptures', {})).find((entry) => entry.id === started.captureId);
        if (!listed) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(listed).toMatchObject({ state: 'stopped', resumable: true, canResnapshot: true, streams: [stream] });
      expect(listed?.message).toMatch(/^Stopped when Eddy last closed, stored up to .+\. Resume continues from slot /);
      await second.call('resumeCapture', { id: started.captureId });
      const resumed = second;
      expect(await waitState(started.captureId, ['stopped'], 30_000, () => resumed)).toBe('stopped');
      const ids = (await second.readAll(stream)).map((event) => [event.op, (event.value as { after: { id: number } }).after.id]);
      expect(ids).toEqual([
        ['r', 1],
        ['c', 2],
      ]);
    } finally {
      await second?.close();
      rmSync(first.workspace, { recursive: true, force: true });
    }
  });
});
