// The capture's decisions that need no server: which errors mean "reconnect" and which mean
// "the slot's changes are gone", default slot names, the capture state file, the discovery
// warnings, and the generic capture registry behind `onSourceState`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SourceState } from '../../../shared/contracts/cdc';
import { defaultSlotName, isSlotLost, isTransient } from '../../../main/engine/cdc/postgres/capture';
import { readCaptureState, stateFilePath, writeCaptureState } from '../../../main/engine/cdc/postgres/capture-state';
import { pgEndpointFromUrl, redactUrl } from '../../../main/engine/cdc/postgres/client';
import { identityWarning } from '../../../main/engine/cdc/postgres/discover';
import { CaptureRegistry } from '../../../main/engine/cdc/source-state';
import { commands } from '../../../shared/contract';

describe('error classification', () => {
  it('reconnects after server restarts, dropped connections and a slot still held by the old walsender', () => {
    expect(isTransient(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient(Object.assign(new Error('replication slot "s" is active for PID 42'), { code: '55006' }))).toBe(true);
    expect(isTransient(new Error('the database system is starting up'))).toBe(true);
    expect(isTransient(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBe(false);
    expect(isTransient(new Error('pgoutput message ends early'))).toBe(false);
  });

  it('recognises the server saying the slot can no longer be read', () => {
    expect(isSlotLost(new Error('can no longer get changes from replication slot "s"'))).toBe(true);
    expect(isSlotLost(new Error('This slot has been invalidated because it exceeded the maximum reserved size.'))).toBe(true);
    expect(isSlotLost(new Error('requested WAL segment 000000010000000000000010 has already been removed'))).toBe(true);
    expect(isSlotLost(new Error('replication slot "s" does not exist'))).toBe(true);
    expect(isSlotLost(new Error('Connection terminated'))).toBe(false);
  });
});

describe('names and endpoints', () => {
  it('derives a valid, stable slot name from the database and the table set', () => {
    const name = defaultSlotName('Shop-DB', ['public.b', 'public.a']);
    expect(name).toMatch(/^eddy_shop_db_[0-9a-f]{8}$/);
    expect(defaultSlotName('Shop-DB', ['public.a', 'public.b'])).toBe(name);
    expect(defaultSlotName('Shop-DB', ['public.a'])).not.toBe(name);
    expect(defaultSlotName('x'.repeat(200), ['t.t']).length).toBeLessThanOrEqual(63);
    expect(commands.pgStartCapture.request.safeParse({ url: 'postgres://h/db', tables: ['public.a'], slotName: name }).success).toBe(true);
  });

  it('never shows a password from a URL', () => {
    expect(redactUrl('could not reach postgres://app:s3cret@db:5432/shop')).toBe('could not reach postgres://app:***@db:5432/shop');
    expect(pgEndpointFromUrl('postgres://app:s3cret@db.internal:6543/shop').label).toBe('db.internal:6543/shop');
  });

  it('validates capture requests: one target, schema.table names, slot names', () => {
    const parse = (request: unknown) => commands.pgStartCapture.request.safeParse(request).success;
    expect(parse({ url: 'postgres://h/db', tables: ['public.orders'] })).toBe(true);
    expect(parse({ connectionId: 'shop', tables: ['public.Orders'] })).toBe(true);
    expect(parse({ url: 'postgres://h/db', connectionId: 'shop', tables: ['public.a'] })).toBe(false);
    expect(parse({ tables: ['public.a'] })).toBe(false);
    expect(parse({ url: 'postgres://h/db', tables: ['orders'] })).toBe(false);
    expect(parse({ url: 'postgres://h/db', tables: ['public.a'], slotName: 'Bad-Name' })).toBe(false);
    expect(parse({ url: 'mysql://h/db', tables: ['public.a'] })).toBe(false);
  });
});

describe('capture state file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through an atomic write and ignores a damaged file', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'eddy-pg-state-'));
    const file = stateFilePath(dir, 'eddy_slot');
    expect(file).toBe(path.join(dir, 'cdc', 'postgres', 'eddy_slot.json'));
    expect(await readCaptureState(file)).toBeUndefined();
    const state = { version: 1 as const, server: 'h:5432/db', database: 'db', slotName: 'eddy_slot', publicationName: 'eddy_slot', tables: ['public.a'], createdSlot: true, snapshot: 'done' as const, ackedLsn: '0/16B3', streamed: true, updatedAt: 0 };
    await writeCaptureState(file, state);
    expect(await readCaptureState(file)).toMatchObject({ ...state, updatedAt: expect.any(Number) });
    await writeCaptureState(file, { ...state, ackedLsn: '0/16B4' }, false);
    expect((await readCaptureState(file))?.ackedLsn).toBe('0/16B4');
    expect(JSON.parse(await readFile(file, 'utf8'))).not.toHaveProperty('password');
  });
});

describe('REPLICA IDENTITY warnings', () => {
  it('warns when updates or deletes would carry no or partial old values', () => {
    expect(identityWarning({ primaryKey: ['id'], replicaIdentity: 'full' })).toBeUndefined();
    expect(identityWarning({ primaryKey: [], replicaIdentity: 'default' })).toMatch(/No primary key/);
    expect(identityWarning({ primaryKey: ['id'], replicaIdentity: 'default' })).toMatch(/no `before` image/);
    expect(identityWarning({ primaryKey: ['id'], replicaIdentity: 'nothing' })).toMatch(/NOTHING/);
    expect(identityWarning({ primaryKey: ['id'], replicaIdentity: 'index' })).toMatch(/index columns/);
  });
});

describe('capture registry (source state)', () => {
  const base = { id: 'postgres/s', kind: 'postgres' as const, title: 'PostgreSQL db: public.a', streams: ['pg:db.public.a'] };

  it('publishes state changes at once and coalesces counter updates', async () => {
    vi.useFakeTimers();
    try {
      const published: SourceState[] = [];
      const registry = new CaptureRegistry((state) => published.push(state));
      const capture = registry.register(base);
      expect(published.at(-1)).toMatchObject({ state: 'starting', events: 0 });
      capture.update({ state: 'running' });
      expect(published.length).toBe(2);
      for (let events = 1; events <= 50; events++) capture.update({ events });
      expect(published.length).toBe(2);
      await vi.advanceTimersByTimeAsync(300);
      expect(published.length).toBe(3);
      expect(published.at(-1)).toMatchObject({ state: 'running', events: 50 });
      capture.update({ state: 'gap-detected', gap: { from: '0/1', to: '0/9' }, message: 'gap' });
      expect(published.at(-1)).toMatchObject({ state: 'gap-detected', gap: { from: '0/1', to: '0/9' } });
      expect(registry.list()).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a second running capture with the same id, allows it after the first ended, and stops through the callback', async () => {
    const registry = new CaptureRegistry(() => undefined);
    let stopped = false;
    const first = registry.register(base, async () => {
      stopped = true;
      first.update({ state: 'stopped' });
    });
    first.update({ state: 'caught-up' });
    expect(() => registry.register(base)).toThrow(/already running/);
    expect(await registry.stop(base.id)).toMatchObject({ state: 'stopped' });
    expect(stopped).toBe(true);
    const second = registry.register(base);
    expect(second.current().state).toBe('starting');
    await expect(registry.stop('nope')).rejects.toThrow(/No capture/);
  });
});
