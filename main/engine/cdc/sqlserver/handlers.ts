// The engine's SQL Server CDC commands (the `mssql*` part of shared/contracts/cdc.ts): test
// connection, discover, start a capture as a job (registered with the generic capture registry,
// so listCaptures/stopCapture/onSourceState cover it), and re-snapshot after a gap.
import { createHash } from 'node:crypto';
import { EddyError, type HandlersFor } from '../../../../shared/contract-kit.js';
import type { sqlServerCdcCommands } from '../../../../shared/contracts/cdc.js';
import { MssqlStartCaptureRequestSchema } from '../../../../shared/contracts/cdc.js';
import type { EngineContext } from '../../context.js';
import { captureRegistry } from '../source-state.js';
import { checkpointText, runSqlServerCapture, type CaptureSettings } from './capture.js';
import { loadCatalog, resolveTables } from './catalog.js';
import { resolveTarget, type SqlServerTarget } from './connection.js';
import { discover, openOrExplain, readServerInfo, testWithConfig, type ExecutorOpener } from './discovery.js';
import { streamName } from './envelope.js';
import { tableKey } from './identifiers.js';
import { openMssqlExecutor } from './mssql-executor.js';
import { OffsetStore } from './offset-store.js';
import { SizeGuard } from '../oversized.js';

type StartRequest = ReturnType<typeof MssqlStartCaptureRequestSchema.parse>;
type StartResponse = Awaited<ReturnType<HandlersFor<typeof sqlServerCdcCommands>['mssqlStartCapture']>>;

export interface SqlServerCdcOptions {
  /** Opens the connection (tests inject an executor that answers with recorded pages). */
  open?: ExecutorOpener;
  /** `source.version` in the envelope. */
  version?: string;
  /** How long a tablock snapshot waits for the capture job to catch up (default 30 s). */
  catchUpTimeoutMs?: number;
}

/** Requests of captures started in this engine, so that a re-snapshot can repeat them. */
const startedRequests = new WeakMap<object, Map<string, StartRequest>>();

function defaultName(database: string, tables: string[]): string {
  const digest = createHash('sha256').update(tables.map((name) => name.toLowerCase()).sort().join('\n')).digest('hex').slice(0, 8);
  const safe = database.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]+/, '').slice(0, 50) || 'db';
  return `${safe}-${digest}`;
}

function describeTables(tables: string[]): string {
  return tables.length <= 3 ? tables.join(', ') : `${tables.slice(0, 3).join(', ')} and ${tables.length - 3} more`;
}

export async function startSqlServerCapture(context: EngineContext, raw: unknown, options: SqlServerCdcOptions = {}): Promise<StartResponse> {
  const request = MssqlStartCaptureRequestSchema.parse(raw);
  const open = options.open ?? openMssqlExecutor;
  const target = await resolveTarget(context, request as SqlServerTarget);
  const registry = captureRegistry(context);
  const db = await openOrExplain(target.config, open);
  let handedOver = false;
  try {
    const info = await readServerInfo(db);
    if (!info.cdcEnabled) throw new EddyError('VALIDATION', `CDC is not enabled on database ${info.database}: EXEC sys.sp_cdc_enable_db, then sys.sp_cdc_enable_table.`);
    if (request.snapshot && request.isolation === 'snapshot' && !info.snapshotIsolation) {
      throw new EddyError(
        'VALIDATION',
        `A snapshot with snapshot isolation needs ALTER DATABASE [${info.database}] SET ALLOW_SNAPSHOT_ISOLATION ON; or choose the "tablock" snapshot (it blocks writers to the captured tables while it reads).`,
      );
    }
    const catalog = await loadCatalog(db);
    const tables = resolveTables(catalog, request.tables, info.database);
    const tableNames = tables.map(tableKey);
    const name = request.name ?? defaultName(info.database, tableNames);
    const id = `sqlserver-${name}`;
    const envelope = { serverName: request.serverName ?? info.database, database: info.database, version: options.version ?? `eddy-${context.settings.version}` };
    const streams = tables.map((table) => streamName(envelope, table));
    const store = OffsetStore.forCapture(context.workspace.localDir, name);
    if (request.resetPosition) {
      if (registry.isActive(`sqlserver-${name}`)) throw new EddyError('CONFLICT', `The capture sqlserver-${name} is running; stop it before setting its position aside.`);
      await store.retire('before-reset');
    }
    const stored = await store.load();
    const settings: CaptureSettings = {
      name,
      server: target.server,
      envelope,
      tables,
      engineEdition: info.engineEdition,
      snapshot: request.snapshot,
      isolation: request.isolation,
      startAt: request.startAt,
      maxTransactionsPerPoll: request.maxTransactionsPerPoll,
      pollIntervalMs: request.pollIntervalMs,
      catchUpTimeoutMs: options.catchUpTimeoutMs,
      pageSize: request.pageSize,
      batchSize: request.batchSize,
      maxEvents: request.maxEvents,
      untilCaughtUp: request.untilCaughtUp,
    };
    const title = `SQL Server ${info.database}: ${describeTables(tableNames)}`;
    let jobId = '';
    const registration = registry.register(
      { id, kind: 'sqlserver', title, streams, ...(target.connectionId ? { connectionId: target.connectionId } : {}) },
      async () => {
        if (!jobId) return;
        context.jobs.cancel(jobId);
        await context.jobs.wait(jobId);
      },
      // Resume: the same tables and options, from the stored position (no new snapshot).
      () => startSqlServerCapture(context, { ...request, name, snapshot: false, resetPosition: false }, options),
      // Re-snapshot (after a gap): the stored position set aside, the current rows, then streaming.
      () => startSqlServerCapture(context, { ...request, name, snapshot: true, resetPosition: true }, options),
    );
    let requests = startedRequests.get(context);
    if (!requests) startedRequests.set(context, (requests = new Map()));
    requests.set(id, request);
    // A change over the log's size limit is stored without its row values, in its place.
    const sizeGuard = new SizeGuard(context.log.maxEventBytes, context.log.encoder(), (warning) => registration.update({ warnings: [warning] }));
    const job = context.jobs.start({ kind: 'capture', title, unit: 'events' }, async (handle) => {
      try {
        return await runSqlServerCapture(settings, {
          db,
          store,
          append: (events) => context.log.append(sizeGuard.fit(events)),
          update: (patch) => registration.update(patch),
          progress: (events, message) => handle.progress(events, { message }),
          signal: handle.signal,
        });
      } finally {
        await db.close().catch(() => undefined);
      }
    });
    handedOver = true;
    jobId = job.id;
    registration.update({ jobId });
    const resumedFrom = stored && (stored.position || stored.scannedTo) ? (checkpointText({ position: stored.position, scannedTo: stored.scannedTo }) ?? null) : null;
    return { captureId: id, jobId, streams, resumedFrom, snapshot: request.snapshot && resumedFrom === null };
  } finally {
    if (!handedOver) await db.close().catch(() => undefined);
  }
}

export function createSqlServerCdcHandlers(context: EngineContext, options: SqlServerCdcOptions = {}): HandlersFor<typeof sqlServerCdcCommands> {
  const open = options.open ?? openMssqlExecutor;
  return {
    mssqlTestConnection: async (request) => {
      const started = Date.now();
      let target;
      try {
        target = await resolveTarget(context, request);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { ok: false, stage: /secret|environment variable/i.test(message) ? 'secret' : 'config', message, elapsedMs: Date.now() - started };
      }
      return testWithConfig(target.config, open, started);
    },
    mssqlDiscover: async (request) => {
      const target = await resolveTarget(context, request);
      const db = await openOrExplain(target.config, open);
      try {
        return await discover(db);
      } finally {
        await db.close().catch(() => undefined);
      }
    },
    mssqlStartCapture: async (request) => startSqlServerCapture(context, request, options),
    mssqlResnapshot: async ({ captureId, isolation }) => {
      const registry = captureRegistry(context);
      if (registry.isActive(captureId)) throw new EddyError('CONFLICT', `The capture ${captureId} is running; stop it before re-snapshotting.`);
      const request = startedRequests.get(context)?.get(captureId);
      if (!request) {
        throw new EddyError('NOT_FOUND', `No SQL Server capture ${captureId} was started in this session; start it again with a snapshot (it will set the old position aside).`);
      }
      const name = captureId.replace(/^sqlserver-/, '');
      return startSqlServerCapture(context, { ...request, name, snapshot: true, resetPosition: true, isolation: isolation ?? request.isolation }, options);
    },
  };
}
