// The SQL Server connector against a real server: the recorded-page scenarios of
// test/unit/cdc/sqlserver-*.test.ts, replayed on live CDC. Runs only when MSSQL_URL is set, e.g.
//   MSSQL_URL='mssql://sa:${env:MSSQL_PASSWORD}@127.0.0.1:1433/master?encrypt=false' npm test
// (the login must be allowed to create a database; the suite creates a scratch database, enables
// CDC on it with sys.sp_cdc_enable_db / sys.sp_cdc_enable_table, and drops it afterwards). Changes
// are harvested by the SQL Server Agent's capture job, or by sys.sp_cdc_scan when the Agent is off.
// SQL Server is not a CI service on these machines, so without MSSQL_URL the suite is skipped with
// a printed reason, under CI too.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../shared/events.js';
import { loadCatalog, resolveTables } from '../../main/engine/cdc/sqlserver/catalog.js';
import { parseSqlServerUrl } from '../../main/engine/cdc/sqlserver/connection.js';
import { param, type SqlExecutor, type SqlQueryable } from '../../main/engine/cdc/sqlserver/executor.js';
import { quoteName } from '../../main/engine/cdc/sqlserver/identifiers.js';
import { lsnFromBuffer } from '../../main/engine/cdc/sqlserver/lsn.js';
import { openMssqlExecutor, type SqlServerConnectionConfig } from '../../main/engine/cdc/sqlserver/mssql-executor.js';
import { CdcGapError, SqlServerChangeReader, type ReaderCheckpoint, type ReaderOptions } from '../../main/engine/cdc/sqlserver/reader.js';
import { createSqlServerCdcHandlers } from '../../main/engine/cdc/sqlserver/handlers.js';
import { MssqlStartCaptureRequestSchema } from '../../shared/contracts/cdc.js';
import { drain } from '../fixtures/sqlserver/scenarios.js';
import { testContext } from '../fixtures/sqlserver/engine-context.js';

const MSSQL_URL = process.env.MSSQL_URL?.trim();
if (!MSSQL_URL) {
  process.stderr.write(
    '[skip] sqlserver: MSSQL_URL is not set, so the real-server SQL Server CDC suite does not run (SQL Server is not a CI service here; the recorded-page suite test/unit/cdc/sqlserver-*.test.ts always runs). Set MSSQL_URL=mssql://user:password@host:1433/master to run it.\n',
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function configFor(database: string): Promise<SqlServerConnectionConfig> {
  const parsed = parseSqlServerUrl(MSSQL_URL!);
  const secret = parsed.password && /^\$\{env:([A-Za-z_][A-Za-z0-9_.-]*)\}$/.exec(parsed.password);
  return {
    host: parsed.host,
    port: parsed.port,
    database,
    user: parsed.user,
    password: secret ? process.env[secret[1]!] : parsed.password,
    encrypt: parsed.encrypt,
    trustServerCertificate: parsed.trustServerCertificate,
  };
}

/**
 * Makes CDC harvest what was committed (the Agent's capture job, or sys.sp_cdc_scan when the Agent
 * is off) and waits until the change table of `captureInstance` holds at least `rows` rows.
 */
async function harvest(db: SqlQueryable, captureInstance: string, rows: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await db.query('EXEC sys.sp_cdc_scan @maxtrans = 10000, @maxscans = 10, @continuous = 0');
    } catch {
      // 22903: the capture job is already scanning (the Agent runs); it harvests on its own.
    }
    const [row] = await db.query(`SELECT COUNT(*) AS n FROM cdc.${quoteName(`${captureInstance}_CT`)}`);
    if (Number(row?.n) >= rows) return;
    if (Date.now() > deadline) throw new Error(`CDC did not harvest the test changes of ${captureInstance} within 60 s: is the SQL Server Agent running, or may this login run sys.sp_cdc_scan?`);
    await sleep(500);
  }
}

const summary = (event: NewEvent): string => `${event.op ?? 'schema'} ${event.stream.split('.').at(-1)} ${JSON.stringify(event.key)}`;
const header = (event: NewEvent, key: string): string | undefined => event.headers?.find((item) => item.key === key)?.value;

describe.runIf(MSSQL_URL)('SQL Server CDC on a real server (MSSQL_URL)', () => {
  const database = `eddy_cdc_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let admin: SqlExecutor;
  let db: SqlExecutor;
  let settings: ReaderOptions['settings'];
  let startedAt = 0;

  const reader = async (tables: string[], checkpoint: ReaderCheckpoint = { position: null, scannedTo: null }, options: Partial<ReaderOptions> = {}, start: 'stored' | 'earliest' = 'earliest'): Promise<SqlServerChangeReader> =>
    new SqlServerChangeReader(db, { settings, tables: resolveTables(await loadCatalog(db), tables, database), ...options }, checkpoint, start);

  beforeAll(async () => {
    admin = await openMssqlExecutor(await configFor('master'));
    await admin.query(`CREATE DATABASE ${quoteName(database)}`);
    await admin.query(`ALTER DATABASE ${quoteName(database)} SET ALLOW_SNAPSHOT_ISOLATION ON`);
    db = await openMssqlExecutor(await configFor(database));
    settings = { serverName: database, database, version: 'eddy-test' };
    await db.query('EXEC sys.sp_cdc_enable_db');
    await db.query('CREATE TABLE dbo.Customers (CustomerID int NOT NULL PRIMARY KEY, Name nvarchar(100) NULL, Tier varchar(20) NULL, UpdatedAt datetime2(7) NULL, Notes nvarchar(max) NULL)');
    await db.query('CREATE TABLE dbo.Orders (OrderID int NOT NULL PRIMARY KEY, CustomerID int NULL, Status varchar(20) NULL, Amount decimal(10,2) NULL, Total decimal(19,4) NULL, PlacedAt datetime2(3) NULL)');
    await db.query(`CREATE TABLE dbo.Wide (c1 int NOT NULL PRIMARY KEY, ${Array.from({ length: 19 }, (_, index) => `c${index + 2} int NULL`).join(', ')})`);
    for (const table of ['Customers', 'Orders', 'Wide']) {
      await db.query(`EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${table}', @role_name = NULL, @supports_net_changes = 0`);
    }
    startedAt = Date.now();
    const customer = (id: number): string => `INSERT INTO dbo.Customers VALUES (${id}, N'Customer ${id}', 'standard', '2026-03-02T09:00:00.0001234', N'notes of ${id}')`;
    const order = (id: number, customerId: number): string => `INSERT INTO dbo.Orders VALUES (${id}, ${customerId}, 'placed', 12.50, 1234567890123.4567, '2026-03-02T09:30:00.125')`;
    await db.query(customer(1001));
    // Interleaved transactions on two connections: A starts first, B commits first.
    await db.transaction('read-committed', async (a) => {
      await a.query(customer(1002));
      await db.transaction('read-committed', async (b) => {
        await b.query(order(50001, 1001));
      });
      await a.query(order(50002, 1002));
    });
    await db.query("BEGIN TRAN; UPDATE dbo.Orders SET Status = 'paid' WHERE OrderID = 50001; UPDATE dbo.Customers SET Tier = 'gold' WHERE CustomerID = 1001; COMMIT");
    await db.query('UPDATE dbo.Orders SET OrderID = 50003 WHERE OrderID = 50002');
    await db.query('DELETE FROM dbo.Orders WHERE OrderID = 50001');
    const big = [
      ...Array.from({ length: 12 }, (_, index) => order(50010 + index, 1001)),
      ...Array.from({ length: 3 }, (_, index) => `UPDATE dbo.Orders SET CustomerID = 9 WHERE OrderID = ${50010 + index}`),
    ];
    await db.query(`INSERT INTO dbo.Wide VALUES (${Array.from({ length: 20 }, (_, index) => index).join(', ')})`);
    await db.query(`BEGIN TRAN; ${big.join('; ')}; COMMIT`);
    await db.query('UPDATE dbo.Wide SET c3 = 300, c9 = 900, c17 = 1700, c20 = 2000 WHERE c1 = 0');
    await db.query('UPDATE dbo.Wide SET c8 = 800, c16 = 1600 WHERE c1 = 0');
    // The capture job works through the log in order: once the last change is in, so is the rest.
    await harvest(db, 'dbo_Wide', 5);
  });

  afterAll(async () => {
    await db?.query('EXEC sys.sp_cdc_disable_db').catch(() => undefined);
    await db?.close().catch(() => undefined);
    await admin?.query(`ALTER DATABASE ${quoteName(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteName(database)}`).catch(() => undefined);
    await admin?.close().catch(() => undefined);
  });

  it('merges the tables in commit order, pairs updates and splits the key change', async () => {
    const { events } = await drain(await reader(['dbo.Orders', 'dbo.Customers']));
    expect(events.map(summary)).toEqual([
      'c Customers {"CustomerID":1001}',
      'c Orders {"OrderID":50001}',
      'c Customers {"CustomerID":1002}',
      'c Orders {"OrderID":50002}',
      'u Orders {"OrderID":50001}',
      'u Customers {"CustomerID":1001}',
      'd Orders {"OrderID":50002}',
      'c Orders {"OrderID":50003}',
      'd Orders {"OrderID":50001}',
      ...Array.from({ length: 12 }, (_, index) => `c Orders {"OrderID":${50010 + index}}`),
      ...Array.from({ length: 3 }, (_, index) => `u Orders {"OrderID":${50010 + index}}`),
    ]);
    // Commit time converted with the server's offset: within a minute of when the test ran.
    for (const event of events) expect(Math.abs(event.eventTime - startedAt)).toBeLessThan(120_000);
    const customerUpdate = events[5]!;
    expect(JSON.parse(header(customerUpdate, 'eddy.changedFields')!)).toEqual(['Tier']);
    expect((customerUpdate.value as { before: { Notes: unknown } }).before.Notes).toBe('__debezium_unavailable_value');
    expect((events[0]!.value as { after: Record<string, unknown> }).after).toMatchObject({ UpdatedAt: '2026-03-02T09:00:00.0001234Z', Notes: 'notes of 1001' });
    expect((events[1]!.value as { after: Record<string, unknown> }).after).toMatchObject({ Amount: 12.5, Total: '1234567890123.4567', PlacedAt: '2026-03-02T09:30:00.125Z' });
  });

  it('gives the same events with tiny pages and one transaction per poll', async () => {
    const reference = (await drain(await reader(['dbo.Orders', 'dbo.Customers']))).events.map((event) => event.position);
    const small = (await drain(await reader(['dbo.Orders', 'dbo.Customers'], undefined, { pageSize: 4, maxTransactionsPerPoll: 1, batchSize: 3 }))).events.map((event) => event.position);
    expect(small).toEqual(reference);
  });

  it('resumes inside a transaction without losing or repeating an event', async () => {
    const reference = (await drain(await reader(['dbo.Orders', 'dbo.Customers']))).events.map((event) => event.position);
    for (const stored of [1, 4, 8, 12, 20]) {
      const first = await reader(['dbo.Orders', 'dbo.Customers'], undefined, { batchSize: 1 });
      const kept: string[] = [];
      outer: for (;;) {
        const window = first.readWindow();
        for (;;) {
          const step = await window.next();
          if (step.done) {
            if (step.value.kind !== 'read') break outer;
            break;
          }
          if (kept.length + step.value.events.length > stored) break outer;
          kept.push(...step.value.events.map((event) => event.position));
          first.acknowledge(step.value);
        }
      }
      const rest = (await drain(await reader(['dbo.Orders', 'dbo.Customers'], first.state, {}, 'stored'))).events.map((event) => event.position);
      expect([...kept, ...rest]).toEqual(reference);
    }
  });

  it('decodes the update mask of a 20-column table', async () => {
    const { events } = await drain(await reader(['dbo.Wide']));
    const changed = events.filter((event) => event.op === 'u').map((event) => JSON.parse(header(event, 'eddy.changedFields')!));
    expect(changed).toEqual([['c3', 'c9', 'c17', 'c20'], ['c8', 'c16']]);
  });

  it('answers an unknown capture instance with an all-zero minimum LSN, and the reader refuses to start from zero', async () => {
    const [row] = await db.query('SELECT sys.fn_cdc_get_min_lsn(@capture_instance) AS min_lsn', { capture_instance: param.nvarchar('no_such_instance') });
    expect(lsnFromBuffer(row!.min_lsn)).toBe('00000000000000000000');
    // A user outside the instance's gating role sees 0x00… as well.
    await db.query('CREATE TABLE dbo.Gated (Id int NOT NULL PRIMARY KEY, Secret nvarchar(20) NULL)');
    await db.query("CREATE ROLE eddy_gate; EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Gated', @role_name = N'eddy_gate'");
    await db.query('CREATE USER eddy_outsider WITHOUT LOGIN; GRANT SELECT ON SCHEMA::cdc TO eddy_outsider; GRANT SELECT ON dbo.Gated TO eddy_outsider');
    await db.transaction('read-committed', async (tx) => {
      await tx.query("EXECUTE AS USER = N'eddy_outsider'");
      try {
        const outsider = new SqlServerChangeReader(tx, { settings, tables: resolveTables(await loadCatalog(tx), ['dbo.Gated'], database) }, { position: null, scannedTo: null }, 'earliest');
        await expect(drain(outsider)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      } finally {
        await tx.query('REVERT');
      }
    });
  });

  it('snapshots then streams with no gap and no duplicate (through the capture command)', async () => {
    const test = await testContext(process.env);
    try {
      const handlers = createSqlServerCdcHandlers(test.context);
      const started = await handlers.mssqlStartCapture(MssqlStartCaptureRequestSchema.parse({ url: MSSQL_URL, database, tables: ['dbo.Orders', 'dbo.Customers'], snapshot: true, untilCaughtUp: true, pollIntervalMs: 200 }));
      await test.context.jobs.wait(started.jobId);
      expect(test.context.jobs.get(started.jobId).state).toBe('succeeded');
      const reads = test.log.events.filter((event) => event.op === 'r');
      expect(reads.map((event) => JSON.stringify(event.key))).toEqual([
        '{"OrderID":50003}',
        ...Array.from({ length: 12 }, (_, index) => `{"OrderID":${50010 + index}}`),
        '{"CustomerID":1001}',
        '{"CustomerID":1002}',
      ]);
      expect(test.log.events.filter((event) => event.op !== 'r')).toHaveLength(0);
      // A change after the snapshot streams exactly once.
      await db.query("UPDATE dbo.Customers SET Tier = 'platinum' WHERE CustomerID = 1002");
      await harvest(db, 'dbo_Customers', 6);
      const again = await handlers.mssqlStartCapture(MssqlStartCaptureRequestSchema.parse({ url: MSSQL_URL, database, tables: ['dbo.Orders', 'dbo.Customers'], untilCaughtUp: true, pollIntervalMs: 200 }));
      await test.context.jobs.wait(again.jobId);
      expect(test.log.events.filter((event) => event.op !== 'r').map(summary)).toEqual(['u Customers {"CustomerID":1002}']);
      expect(test.log.duplicates).toBe(0);
    } finally {
      await test.close();
    }
  });

  it('switches to a second capture instance after ALTER TABLE, emitting nothing twice', async () => {
    const first = await reader(['dbo.Orders']);
    expect((await drain(first)).events.length).toBeGreaterThan(0);
    await db.query('ALTER TABLE dbo.Orders ADD Channel varchar(20) NULL');
    await db.query("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Orders', @role_name = NULL, @capture_instance = N'dbo_Orders_v2'");
    await db.query("INSERT INTO dbo.Orders (OrderID, CustomerID, Status, Amount, Total, PlacedAt, Channel) VALUES (70001, 1001, 'placed', 1, 1, '2026-03-02T10:00:00', 'web')");
    await db.query("UPDATE dbo.Orders SET Channel = 'app' WHERE OrderID = 50003");
    await harvest(db, 'dbo_Orders_v2', 3);
    const { events } = await drain(first);
    expect(events.map((event) => event.op ?? 'schema')).toEqual(['schema', 'c', 'u']);
    expect((events[1]!.value as { after: Record<string, unknown> }).after.Channel).toBe('web');
    expect((events[2]!.value as { after: Record<string, unknown> }).after.Channel).toBe('app');
    await db.query("EXEC sys.sp_cdc_disable_table @source_schema = N'dbo', @source_name = N'Orders', @capture_instance = N'dbo_Orders'");
    await db.query('DELETE FROM dbo.Orders WHERE OrderID = 70001');
    await harvest(db, 'dbo_Orders_v2', 4);
    expect((await drain(first)).events.map((event) => event.op)).toEqual(['d']);
  });

  it('detects a gap when cleanup removed changes the capture had not read (run last: it deletes change rows)', async () => {
    const early = await reader(['dbo.Customers'], undefined, { maxTransactionsPerPoll: 1 });
    const window = early.readWindow();
    for (let step = await window.next(); !step.done; step = await window.next()) early.acknowledge(step.value);
    const [head] = await db.query('SELECT sys.fn_cdc_get_max_lsn() AS max_lsn');
    await db.query("EXEC sys.sp_cdc_cleanup_change_table @capture_instance = N'dbo_Customers', @low_water_mark = @lsn, @threshold = 5000", { lsn: param.lsn(lsnFromBuffer(head!.max_lsn)) });
    const restarted = await reader(['dbo.Customers'], early.state, {}, 'stored');
    await expect(drain(restarted)).rejects.toBeInstanceOf(CdcGapError);
  });
});
