// The SQL Server CDC commands end to end on recorded pages: discover, test connection, capture into
// the log with the source state visible, positions stored only after the log acknowledged, resume,
// a restart after a crash mid-transaction, the initial snapshot (no gap, no duplicate), a gap that
// stops the capture and the re-snapshot that recovers, and refused input.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceState } from '../../../shared/contracts/cdc.js';
import type { NewEvent } from '../../../shared/events.js';
import { createSqlServerCdcHandlers } from '../../../main/engine/cdc/sqlserver/handlers.js';
import { captureRegistry } from '../../../main/engine/cdc/source-state.js';
import { testSqlServerConnection } from '../../../main/engine/cdc/sqlserver/discovery.js';
import type { FakeSqlServer } from '../../fixtures/sqlserver/fake-server.js';
import { customer, drain, readerFor, shopServer } from '../../fixtures/sqlserver/scenarios.js';
import { testContext, testLog, type TestContext } from '../../fixtures/sqlserver/engine-context.js';
import { MssqlStartCaptureRequestSchema, type MssqlStartCaptureRequest } from '../../../shared/contracts/cdc.js';

const URL = 'mssql://sa:not-a-real-password@fake-host:1433/shop?trustServerCertificate=true';
const TABLES = ['dbo.Orders', 'dbo.Customers'];

let contexts: TestContext[] = [];
afterEach(async () => {
  for (const context of contexts) await context.close();
  contexts = [];
});

type Handlers = ReturnType<typeof createSqlServerCdcHandlers>;

async function setup(server: FakeSqlServer, log = testLog()): Promise<TestContext & { handlers: Handlers; start: (request: MssqlStartCaptureRequest) => ReturnType<Handlers['mssqlStartCapture']> }> {
  const test = await testContext({ MSSQL_PASSWORD: 'from-env' }, log);
  contexts.push(test);
  // Each open hands out the same server but a fresh "connection" (close() must not break the next run).
  const handlers = createSqlServerCdcHandlers(test.context, {
    open: async () => Object.assign(Object.create(server) as FakeSqlServer, { closed: false }),
    catchUpTimeoutMs: 600,
  });
  // As the dispatcher does: validate (and fill defaults) before the handler sees the request.
  return { ...test, handlers, start: (request) => handlers.mssqlStartCapture(MssqlStartCaptureRequestSchema.parse(request)) };
}

async function finish(test: TestContext, jobId: string): Promise<void> {
  await test.context.jobs.wait(jobId);
}

const states = (test: TestContext, id: string): SourceState['state'][] => test.states.filter((state) => state.id === id).map((state) => state.state);

describe('SQL Server CDC commands', () => {
  it('discovers captured tables, capture instances, columns, keys and warns about a stopped Agent', async () => {
    const server = shopServer();
    server.agent = 'stopped';
    server.snapshotIsolation = false;
    const { handlers } = await setup(server);
    const discovery = await handlers.mssqlDiscover({ url: URL });
    expect(discovery).toMatchObject({ database: 'shop', cdcEnabled: true, snapshotIsolation: false, timeZoneOffsetMinutes: 60, retentionMinutes: 4320 });
    expect(discovery.agent.state).toBe('stopped');
    expect(discovery.warnings.join(' ')).toMatch(/SQL Server Agent is stopped.*captures will see no new changes/);
    expect(discovery.warnings.join(' ')).toMatch(/ALLOW_SNAPSHOT_ISOLATION is OFF/);
    const orders = discovery.tables.find((table) => table.table === 'Orders')!;
    expect(orders.primaryKey).toEqual(['OrderID']);
    expect(orders.captureInstances).toHaveLength(1);
    expect(orders.captureInstances[0]!.name).toBe('dbo_Orders');
    expect(orders.captureInstances[0]!.startLsn).toMatch(/^[0-9a-f]{8}:[0-9a-f]{8}:[0-9a-f]{4}$/);
    expect(orders.captureInstances[0]!.columns.map((column) => `${column.ordinal}:${column.name}`).slice(0, 3)).toEqual(['1:OrderID', '2:CustomerID', '3:Sku']);

    server.addColumn('dbo.Orders', { name: 'Channel', type: 'varchar' });
    server.enableCdc('dbo.Orders', 'dbo_Orders_v2');
    const later = await handlers.mssqlDiscover({ url: URL });
    const switched = later.tables.find((table) => table.table === 'Orders')!;
    expect(switched.captureInstances.map((instance) => instance.name)).toEqual(['dbo_Orders', 'dbo_Orders_v2']);
    expect(switched.warnings.join(' ')).toMatch(/switches to dbo_Orders_v2/);
  });

  it('tests a connection in plain words, stage by stage', async () => {
    const server = shopServer();
    const { handlers } = await setup(server);
    const ok = await handlers.mssqlTestConnection({ url: URL });
    expect(ok.ok).toBe(true);
    expect(ok.message).toMatch(/CDC is enabled; 2 table\(s\) captured.*SQL Server Agent is running/);

    const profile = { id: 'shop', name: 'Shop', environment: { label: 'dev', color: '#2e7d32' }, kind: 'sqlserver' as const, host: 'db', port: 1433, database: 'shop', user: 'sa', password: '${env:MSSQL_PASSWORD}', encrypt: true, trustServerCertificate: false };
    // As tedious reports it: two ConnectionErrors around an AggregateError of socket errors.
    const refused = Object.assign(new Error('Failed to connect to db:1433 - Could not connect (sequence)'), {
      code: 'ESOCKET',
      originalError: Object.assign(new Error('Failed to connect to db:1433 - Could not connect (sequence)'), {
        code: 'ESOCKET',
        originalError: new AggregateError([Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:1433'), { code: 'ECONNREFUSED' })], 'Could not connect (sequence)'),
      }),
    });
    const login = Object.assign(new Error("Login failed for user 'sa'."), { code: 'ELOGIN' });
    const timeout = Object.assign(new Error('Failed to connect to db:1433 in 15000ms'), { code: 'ETIMEOUT' });
    const resolve = async (): Promise<string> => 'secret';
    const refusedResult = await testSqlServerConnection(profile, resolve, async () => Promise.reject(refused));
    expect(refusedResult.stage).toBe('connect');
    expect(refusedResult.message).toMatch(/Connection refused/);
    expect((await testSqlServerConnection(profile, resolve, async () => Promise.reject(login))).stage).toBe('auth');
    const slow = await testSqlServerConnection(profile, resolve, async () => Promise.reject(timeout));
    expect(slow.stage).toBe('connect');
    expect(slow.message).toMatch(/No answer/);
    const missing = await testSqlServerConnection(profile, async () => Promise.reject(new Error('The environment variable MSSQL_PASSWORD is not set')), async () => server);
    expect(missing).toMatchObject({ ok: false, stage: 'secret' });
    server.cdcEnabled = false;
    expect((await testSqlServerConnection(profile, resolve, async () => server)).message).toMatch(/CDC is NOT enabled on shop/);
  });

  it('captures into the log, shows its state, stores the position only after the log acknowledged, and resumes', async () => {
    const server = shopServer();
    const test = await setup(server);
    const started = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true, pollIntervalMs: 50, name: 'shop-main' });
    expect(started.captureId).toBe('sqlserver-shop-main');
    expect(started.streams).toEqual(['sqlserver:shop.dbo.Orders', 'sqlserver:shop.dbo.Customers']);
    expect(started.resumedFrom).toBeNull();
    await finish(test, started.jobId);
    const job = test.context.jobs.get(started.jobId);
    expect(job.state).toBe('succeeded');
    expect(job.done).toBe(26);
    expect(test.log.events).toHaveLength(26);
    expect(test.log.duplicates).toBe(0);
    expect(states(test, started.captureId)).toEqual(expect.arrayContaining(['starting', 'running', 'caught-up', 'stopped']));
    const listed = captureRegistry(test.context).get(started.captureId)!;
    expect(listed).toMatchObject({ kind: 'sqlserver', state: 'stopped', events: 26, jobId: started.jobId });
    expect(listed.position).toBe(test.log.events.at(-1)!.position);

    const stored = JSON.parse(await readFile(path.join(test.workspace, '.eddy', 'cdc', 'sqlserver', 'shop-main.json'), 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ name: 'shop-main', server: 'fake-host:1433', database: 'shop', tables: ['dbo.Customers', 'dbo.Orders'] });
    expect(JSON.stringify(stored)).not.toContain('not-a-real-password');

    // New changes, same capture name: it resumes where it stopped.
    server.commit('2026-03-02T10:01:00.000', { table: 'dbo.Customers', op: 'c', after: customer(2001) });
    const again = await test.start({ url: URL, tables: TABLES, untilCaughtUp: true, pollIntervalMs: 50, name: 'shop-main' });
    expect(again.resumedFrom).toMatch(/^sqlserver:/);
    await finish(test, again.jobId);
    expect(test.log.events).toHaveLength(27);
    expect(test.log.events.at(-1)!.key).toEqual({ CustomerID: 2001 });
    expect(test.log.duplicates).toBe(0);

    // Resume from the capture list: same tables and options, from the stored position.
    const registry = captureRegistry(test.context);
    expect(registry.get(started.captureId)).toMatchObject({ state: 'stopped', resumable: true });
    server.commit('2026-03-02T10:02:00.000', { table: 'dbo.Customers', op: 'c', after: customer(2002) });
    const resumed = await registry.resume(started.captureId);
    expect(resumed.jobId).toBeDefined();
    expect(resumed.jobId).not.toBe(again.jobId);
    await finish(test, resumed.jobId!);
    expect(test.log.events).toHaveLength(28);
    expect(test.log.events.at(-1)!.key).toEqual({ CustomerID: 2002 });
    expect(test.log.duplicates).toBe(0);
    await expect(registry.resume('sqlserver-nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores changes over the log\'s size limit without their row values, in their place, and warns on the capture', async () => {
    const server = shopServer();
    const log = testLog();
    // Every change of the shop is over 300 bytes.
    log.maxEventBytes = 300;
    const test = await setup(server, log);
    const started = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true, pollIntervalMs: 50, name: 'shop-small' });
    await finish(test, started.jobId);
    expect(test.context.jobs.get(started.jobId).state).toBe('succeeded');
    expect(test.log.events).toHaveLength(26);
    for (const event of test.log.events) {
      expect(event.decodeError).toMatch(/^over the event size limit \(\d+ B; the limit is 300 B\): the row values were not stored$/);
      expect((event.value as { after: unknown; before: unknown }).after).toBeNull();
      expect((event.value as { source: { table: string } }).source.table).toMatch(/^(Orders|Customers)$/);
      expect(event.key).not.toBeNull();
    }
    const listed = captureRegistry(test.context).get(started.captureId)!;
    expect(listed.warnings?.[0]).toMatch(/^26 change\(s\) over the event size limit \(300 B\) were kept without their row values/);
  });

  it('loses nothing and repeats nothing when the process dies mid-transaction (the log refused an append)', async () => {
    const reference = (await drain(await readerFor(shopServer(), TABLES))).events.map((event) => event.position);
    for (const failOnAppend of [2, 5, 9, 14]) {
      const server = shopServer();
      const log = testLog();
      log.failOnAppend = failOnAppend;
      const test = await setup(server, log);
      const first = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true, batchSize: 2, maxTransactionsPerPoll: 1, name: 'crashy' });
      await finish(test, first.jobId);
      expect(test.context.jobs.get(first.jobId).state).toBe('failed');
      expect(captureRegistry(test.context).get(first.captureId)!.state).toBe('error');
      const storedBefore = test.log.events.length;
      log.failOnAppend = undefined;
      const second = await test.start({ url: URL, tables: TABLES, untilCaughtUp: true, batchSize: 3, name: 'crashy' });
      await finish(test, second.jobId);
      expect(test.log.events.map((event) => event.position), `failing append #${failOnAppend}`).toEqual(reference);
      // Re-reading the partly stored transaction skipped what was stored: nothing was offered twice.
      expect(test.log.duplicates).toBe(0);
      expect(storedBefore).toBeLessThan(reference.length);
    }
  });

  it('snapshots consistently with the stream: current rows as r events, then only later changes, once', async () => {
    const server = shopServer();
    const test = await setup(server);
    let concurrent = false;
    server.onSnapshotRead = () => {
      // A change committed while the snapshot reads: not in the snapshot's view, so it must stream.
      if (concurrent) return;
      concurrent = true;
      server.commit('2026-03-02T10:05:00.000', { table: 'dbo.Customers', op: 'u', before: { CustomerID: 1001 }, after: { Tier: 'platinum' } });
    };
    const started = await test.start({ url: URL, tables: TABLES, snapshot: true, untilCaughtUp: true, pollIntervalMs: 50 });
    expect(started.snapshot).toBe(true);
    await finish(test, started.jobId);
    expect(test.context.jobs.get(started.jobId).state).toBe('succeeded');
    expect(server.transactions).toEqual(['snapshot']);
    const events = test.log.events;
    const reads = events.filter((event) => event.op === 'r');
    // Orders 50003 and 50010-50021; Customers 1001 and 1003 (as of the snapshot).
    expect(reads.map((event) => JSON.stringify(event.key))).toEqual([
      '{"OrderID":50003}',
      ...Array.from({ length: 12 }, (_, index) => `{"OrderID":${50010 + index}}`),
      '{"CustomerID":1001}',
      '{"CustomerID":1003}',
    ]);
    const markers = reads.map((event) => (event.value as { source: { snapshot: string } }).source.snapshot);
    expect(markers[0]).toBe('first');
    expect(markers[12]).toBe('last_in_data_collection');
    expect(markers[13]).toBe('first_in_data_collection');
    expect(markers.at(-1)).toBe('last');
    expect((reads[13]!.value as { after: { Tier: string } }).after.Tier).toBe('gold');
    // After the snapshot: exactly the concurrent change, nothing from before it.
    const streamed = events.filter((event) => event.op !== 'r');
    expect(streamed.map((event) => `${event.op} ${JSON.stringify(event.key)}`)).toEqual(['u {"CustomerID":1001}']);
    // Identity is (stream, position): snapshot rows are numbered per table.
    expect(new Set(events.map((event) => `${event.stream} ${event.position}`)).size).toBe(events.length);
    expect(states(test, started.captureId)).toContain('snapshotting');
  });

  it('takes table locks for a tablock snapshot and says so when the capture job did not confirm it caught up', async () => {
    const server = shopServer();
    server.snapshotIsolation = false;
    server.captureCaughtUp = false;
    const test = await setup(server);
    await expect(test.start({ url: URL, tables: TABLES, snapshot: true })).rejects.toThrow(/ALLOW_SNAPSHOT_ISOLATION ON.*tablock/);
    const started = await test.start({ url: URL, tables: TABLES, snapshot: true, isolation: 'tablock', untilCaughtUp: true, pollIntervalMs: 50 });
    await finish(test, started.jobId);
    expect(server.transactions).toEqual(['read-committed']);
    expect(server.locks.sort()).toEqual(['dbo.Customers', 'dbo.Orders']);
    expect(test.states.map((state) => state.message ?? '').join('\n')).toMatch(/did not confirm/);
  });

  it('stops in gap-detected naming the lost range, then re-snapshots on request', async () => {
    const server = shopServer();
    const test = await setup(server);
    const first = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true, maxEvents: 5, name: 'gappy' });
    await finish(test, first.jobId);
    expect(test.log.events).toHaveLength(5);
    // Stopped for longer than the retention: cleanup removed what it had not read.
    server.cleanup(server.lsnTimeMapping.map((entry) => entry.start).sort().at(-1)!);
    const second = await test.start({ url: URL, tables: TABLES, untilCaughtUp: true, name: 'gappy' });
    await finish(test, second.jobId);
    expect(test.context.jobs.get(second.jobId).state).toBe('failed');
    const state = captureRegistry(test.context).get(second.captureId)!;
    expect(state.state).toBe('gap-detected');
    expect(state.gap).toMatchObject({ from: expect.stringMatching(/^[0-9a-f]{8}:/), to: expect.stringMatching(/^[0-9a-f]{8}:/) });
    expect(state.gap!.recommendation).toMatch(/Re-snapshot/);
    expect(state.message).toMatch(/may be lost/);
    expect(test.log.events).toHaveLength(5);
    // Resuming cannot cross a gap: only a re-snapshot can.
    await expect(captureRegistry(test.context).resume(second.captureId)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/Re-snapshot/) });

    const again = await test.handlers.mssqlResnapshot({ captureId: second.captureId });
    expect(again.snapshot).toBe(true);
    await finish(test, again.jobId);
    expect(test.context.jobs.get(again.jobId).state).toBe('succeeded');
    expect(test.log.events.filter((event) => event.op === 'r')).toHaveLength(15);
    const files = await readdir(path.join(test.workspace, '.eddy', 'cdc', 'sqlserver'));
    expect(files.some((file) => file.startsWith('gappy.before-reset-'))).toBe(true);
  });

  it('rides out a dropped connection and a deadlock: reads again from what the log stored', async () => {
    const server = shopServer();
    const test = await setup(server);
    let failures = 0;
    const query = server.query.bind(server);
    server.query = async (text, params) => {
      if (/eddy:changes/.test(text) && failures < 2 && server.queries.filter((entry) => entry.name === 'changes').length >= 2) {
        failures++;
        server.queries.push({ name: 'changes', text, params: params ?? {} });
        throw failures === 1
          ? Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ESOCKET', originalError: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) })
          : Object.assign(new Error('Transaction was deadlocked on lock resources with another process and has been chosen as the deadlock victim.'), { number: 1205 });
      }
      return query(text, params);
    };
    const started = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true, maxTransactionsPerPoll: 1, batchSize: 1 });
    await finish(test, started.jobId);
    expect(failures).toBe(2);
    expect(test.context.jobs.get(started.jobId).state).toBe('succeeded');
    expect(test.log.events).toHaveLength(26);
    expect(test.log.duplicates).toBe(0);
    expect(test.states.some((state) => /retrying/.test(state.message ?? ''))).toBe(true);
  }, 20_000);

  it('explains a connection that cannot be opened', async () => {
    const test = await testContext();
    contexts.push(test);
    const handlers = createSqlServerCdcHandlers(test.context, { open: async () => Promise.reject(Object.assign(new Error("Login failed for user 'sa'."), { code: 'ELOGIN' })) });
    await expect(handlers.mssqlDiscover({ url: URL })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/refused the credentials/) });
  });

  it('reports an all-zero minimum LSN as an error', async () => {
    const server = shopServer();
    server.instances.get('dbo_Customers')!.forbidden = true;
    const test = await setup(server);
    const started = await test.start({ url: URL, tables: TABLES, startAt: 'earliest', untilCaughtUp: true });
    await finish(test, started.jobId);
    const state = captureRegistry(test.context).get(started.captureId)!;
    expect(state.state).toBe('error');
    expect(state.error?.code).toBe('FORBIDDEN');
    expect(test.log.events).toHaveLength(0);
  });

  it('refuses hostile or unknown table names before building SQL, and stops cleanly on request', async () => {
    const server = shopServer();
    const test = await setup(server);
    await expect(test.start({ url: URL, tables: ['dbo.[Orders]]; DROP TABLE Customers; --]'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(server.queries.some((query) => /DROP/.test(query.text))).toBe(false);

    const started = await test.start({ url: URL, tables: ['dbo.Orders'], pollIntervalMs: 50 });
    await expect(test.start({ url: URL, tables: ['dbo.Orders'] })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(captureRegistry(test.context).resume(started.captureId)).rejects.toMatchObject({ code: 'CONFLICT' });
    const stopped = await captureRegistry(test.context).stop(started.captureId);
    expect(stopped.state).toBe('stopped');
    expect(test.context.jobs.get(started.jobId).state).toBe('cancelled');
  });

  it('uses the engine log interface: events validate as NewEvent and carry commit time as event time', async () => {
    const server = shopServer();
    const test = await setup(server);
    const started = await test.start({ url: URL, tables: ['dbo.Customers'], startAt: 'earliest', untilCaughtUp: true });
    await finish(test, started.jobId);
    const { NewEventSchema } = await import('../../../shared/events.js');
    for (const event of test.log.events as NewEvent[]) expect(NewEventSchema.safeParse(event).success).toBe(true);
    expect(test.log.events[0]!.eventTime).toBe(Date.parse('2026-03-02T09:00:00.000Z'));
  });
});
