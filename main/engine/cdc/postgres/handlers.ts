// The engine's PostgreSQL CDC commands (shared/contracts/cdc.ts, `pg*`): test connection,
// discovery, the REPLICA IDENTITY fix, starting a capture as a job with its source state, and
// dropping a slot.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { EddyError, type HandlersFor } from '../../../../shared/contract-kit.js';
import { PgStartCaptureRequestSchema, type cdcCommands } from '../../../../shared/contracts/cdc.js';
import { getConnectionProfile } from '../../connections/store.js';
import type { EngineContext } from '../../context.js';
import { toEnvelope } from '../../dispatch.js';
import { captureRegistry } from '../source-state.js';
import { readCaptureState, stateFilePath } from './capture-state.js';
import { writeFileAtomic } from '../../log/atomic-file.js';
import { nodeFs } from '../../log/fs-layer.js';
import { defaultSlotName, GapDetectedError, runPostgresCapture, type CaptureUpdate } from './capture.js';
import { connectFailure, connectPg, pgEndpointFromProfile, pgEndpointFromUrl, quoteIdent, redactUrl, splitTableName, testPostgresEndpoint, type PgEndpoint } from './client.js';
import { discoverPostgres, setReplicaIdentity } from './discover.js';
import { streamName } from './envelope.js';

type PostgresCommands = 'pgTestConnection' | 'pgDiscover' | 'pgSetReplicaIdentity' | 'pgStartCapture' | 'pgDropSlot';
type PostgresHandlers = Pick<HandlersFor<typeof cdcCommands>, PostgresCommands>;

export async function resolvePgEndpoint(context: Pick<EngineContext, 'workspace' | 'resolveSecret'>, target: { connectionId?: string | undefined; url?: string | undefined }): Promise<PgEndpoint> {
  if (target.url !== undefined) return pgEndpointFromUrl(target.url);
  if (target.connectionId === undefined) throw new EddyError('VALIDATION', 'Give either connectionId or url.');
  const profile = await getConnectionProfile(context, target.connectionId);
  if (profile.kind !== 'postgres') throw new EddyError('VALIDATION', `Connection ${profile.id} is a ${profile.kind} connection, not PostgreSQL.`);
  return pgEndpointFromProfile(profile, context.resolveSecret);
}

async function withClient<T>(endpoint: PgEndpoint, work: (client: pg.Client) => Promise<T>): Promise<T> {
  let client: pg.Client;
  try {
    client = await connectPg(endpoint, { applicationName: 'eddy-discover' });
  } catch (error) {
    throw connectFailure(error, endpoint);
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The capture id for a slot: one capture per slot and engine. */
export function postgresCaptureId(slotName: string): string {
  return `postgres/${slotName}`;
}

/**
 * Where a capture's start request is kept (beside its state file), so a capture stopped when Eddy
 * closed is listed again at the next start and can be resumed. Only requests without a secret
 * are kept: a saved connection (its password is a reference), or a URL without a password.
 */
function requestFilePath(localDir: string, slotName: string): string {
  return stateFilePath(localDir, slotName).replace(/\.json$/, '.request.json');
}

type StartRequest = Parameters<PostgresHandlers['pgStartCapture']>[0];

function keepableRequest(request: StartRequest): boolean {
  if (request.url === undefined) return true;
  try {
    return new URL(request.url).password === '';
  } catch {
    return false;
  }
}

export function createPostgresCdcHandlers(context: EngineContext): PostgresHandlers {
  // Captures of earlier sessions, listed as stopped and resumable (errors only reported).
  void restoreCaptures().catch((error: unknown) => context.report('warning', 'capture', `Could not list the PostgreSQL captures of earlier sessions: ${error instanceof Error ? error.message : String(error)}`));

  return {
    pgTestConnection: async (target) => {
      const started = Date.now();
      let endpoint: PgEndpoint;
      try {
        endpoint = await resolvePgEndpoint(context, target);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { ok: false, stage: /secret|environment variable/i.test(message) ? 'secret' : 'config', message, elapsedMs: Date.now() - started };
      }
      return testPostgresEndpoint(endpoint);
    },

    pgDiscover: async (request) => {
      const endpoint = await resolvePgEndpoint(context, request);
      return withClient(endpoint, (client) => discoverPostgres(client, request.schemas));
    },

    pgSetReplicaIdentity: async (request) => {
      const endpoint = await resolvePgEndpoint(context, request);
      const { schema, table } = splitTableName(request.table);
      return withClient(endpoint, (client) => setReplicaIdentity(client, schema, table, request.identity));
    },

    pgDropSlot: async (request) => {
      const endpoint = await resolvePgEndpoint(context, request);
      if (captureRegistry(context).isActive(postgresCaptureId(request.slotName))) {
        throw new EddyError('CONFLICT', `A capture is reading slot ${request.slotName}; stop it first.`);
      }
      const result = await withClient(endpoint, async (client) => {
        const slot = await client.query<{ active: boolean; active_pid: number | null }>('SELECT active, active_pid FROM pg_replication_slots WHERE slot_name = $1', [request.slotName]);
        if (slot.rows[0]?.active) throw new EddyError('CONFLICT', `Slot ${request.slotName} is in use by process ${slot.rows[0].active_pid}.`);
        const droppedSlot = slot.rows.length > 0 && (await client.query('SELECT pg_drop_replication_slot($1)', [request.slotName]), true);
        let droppedPublication = false;
        if (request.publicationName) {
          const existing = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [request.publicationName]);
          if (existing.rows.length) {
            await client.query(`DROP PUBLICATION ${quoteIdent(request.publicationName)}`);
            droppedPublication = true;
          }
        }
        return { droppedSlot, droppedPublication };
      });
      // Dropped on purpose: the next capture on this slot name starts fresh, not in "gap detected".
      await rm(stateFilePath(context.workspace.localDir, request.slotName), { force: true });
      await rm(requestFilePath(context.workspace.localDir, request.slotName), { force: true });
      return result;
    },

    pgStartCapture: (request) => startCapture(request),
  };

  /** Id, title and streams of a capture of `tables` in `database` on `slotName`. */
  function describeCapture(database: string, tables: string[], slotName: string): { id: string; title: string; streams: string[] } {
    const streams = tables.map((name) => {
      const { schema, table } = splitTableName(name);
      return streamName(database, schema, table);
    });
    return { id: postgresCaptureId(slotName), title: `PostgreSQL ${database}: ${tables.join(', ')} (slot ${slotName})`, streams };
  }

  async function restoreCaptures(): Promise<void> {
    const folder = path.dirname(stateFilePath(context.workspace.localDir, 'x'));
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return; // no capture yet in this workspace
    }
    const registry = captureRegistry(context);
    for (const name of names.filter((entry) => entry.endsWith('.request.json'))) {
      const slotName = name.slice(0, -'.request.json'.length);
      let kept: unknown;
      try {
        kept = JSON.parse(await readFile(path.join(folder, name), 'utf8'));
      } catch {
        continue; // unreadable or damaged: that capture is started again from its source
      }
      const parsed = PgStartCaptureRequestSchema.safeParse(kept);
      const state = await readCaptureState(stateFilePath(context.workspace.localDir, slotName));
      if (!parsed.success || !state || registry.get(postgresCaptureId(slotName))) continue;
      const request = { ...parsed.data, slotName };
      const described = describeCapture(state.database, state.tables, slotName);
      const registration = registry.register(
        { ...described, kind: 'postgres', ...(request.connectionId ? { connectionId: request.connectionId } : {}) },
        async () => undefined,
        () => startCapture({ ...request, resetSlot: false }),
        () => startCapture({ ...request, snapshot: true, resetSlot: true }),
      );
      registration.update({
        state: 'stopped',
        message: `Stopped when Eddy last closed${state.ackedLsn ? `, stored up to ${state.ackedLsn}` : ''}. Resume continues from slot ${slotName}.`,
        ...(state.ackedLsn ? { position: state.ackedLsn } : {}),
      });
    }
  }

  async function startCapture(request: StartRequest): ReturnType<PostgresHandlers['pgStartCapture']> {
    const endpoint = await resolvePgEndpoint(context, request);
    const tables = [...new Set(request.tables)];
    const slotName = request.slotName ?? defaultSlotName(endpoint.database, tables);
    const publicationName = request.publicationName ?? slotName;
    const { id, title, streams } = describeCapture(endpoint.database, tables, slotName);
    const registry = captureRegistry(context);
    // The job's id is known only once it starts; stopping before that has nothing to stop.
    const running: { jobId?: string } = {};
    const registration = registry.register(
      { id, kind: 'postgres', title, streams, ...(endpoint.connectionId ? { connectionId: endpoint.connectionId } : {}) },
      async () => {
        if (!running.jobId) return;
        context.jobs.cancel(running.jobId);
        await context.jobs.wait(running.jobId);
      },
      // Resume: the same tables and stop rule on the same slot, from its confirmed position.
      // A snapshot asked for and never finished (the first start failed before it) is taken then, if
      // the slot is still to be created; on an existing slot the capture says it cannot be.
      () => startCapture({ ...request, slotName, publicationName, resetSlot: false }),
      // Re-snapshot (after a gap): a new slot, the current rows, then streaming.
      () => startCapture({ ...request, slotName, publicationName, snapshot: true, resetSlot: true }),
    );

    if (keepableRequest(request)) {
      // The next session lists this capture again, resumable (see restoreCaptures).
      const kept = { ...request, slotName, publicationName, resetSlot: false };
      const file = requestFilePath(context.workspace.localDir, slotName);
      await mkdir(path.dirname(file), { recursive: true })
        .then(() => writeFileAtomic(nodeFs, file, [Buffer.from(JSON.stringify(kept, null, 2) + '\n')]))
        .catch((error: unknown) =>
        context.report('warning', 'capture', `Could not keep the request of capture ${id} for the next session: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    const job = context.jobs.start({ kind: 'capture-postgres', title, unit: 'events', total: request.maxEvents ?? null }, async (handle) => {
      registration.update({ jobId: handle.id });
      const report = (update: CaptureUpdate): void => {
        registration.update(update);
        if (update.events !== undefined || update.message !== undefined) handle.progress(registration.current().events, update.message !== undefined ? { message: update.message } : {});
      };
      try {
        const result = await runPostgresCapture(
          {
            endpoint,
            tables,
            slotName,
            publicationName,
            createSlot: request.createSlot,
            createPublication: request.createPublication,
            snapshot: request.snapshot,
            resetSlot: request.resetSlot,
            ...(request.maxEvents !== undefined ? { maxEvents: request.maxEvents } : {}),
            untilCaughtUp: request.untilCaughtUp,
            batchSize: request.batchSize,
            stateFile: stateFilePath(context.workspace.localDir, slotName),
            source: { name: endpoint.connectionId ?? endpoint.database, version: context.settings.version },
          },
          {
            append: async (events) => {
              const appended = await context.log.append(events);
              if (appended.rejected.length > 0) {
                const first = appended.rejected[0]!;
                const message = `The event log refused ${appended.rejected.length} change event(s) from ${title} (${first.reason}; e.g. ${first.stream} at ${first.position}).`;
                context.report('error', 'capture', message);
                registration.update({ message });
              }
              return appended;
            },
            encoder: () => context.log.encoder(),
            maxEventBytes: context.log.maxEventBytes,
          },
          report,
          handle.signal,
        );
        const summary =
          result.reason === 'cancelled'
            ? `Stopped after ${result.events} events; the slot is confirmed at ${result.ackedLsn}.`
            : result.reason === 'caught-up'
              ? `Caught up: ${result.events} events (${result.snapshotRows} from the snapshot); the slot is confirmed at ${result.ackedLsn}.`
              : `Captured ${result.events} events; the slot is confirmed at ${result.ackedLsn}.`;
        handle.progress(result.events, { message: summary });
        registration.update({ state: 'stopped', message: summary, events: result.events, position: result.ackedLsn });
        return summary;
      } catch (error) {
        if (error instanceof GapDetectedError) registration.update({ state: 'gap-detected', error: error.toEnvelope() });
        else if (handle.signal.aborted) registration.update({ state: 'stopped', message: 'Stopped.' });
        else {
          const envelope = toEnvelope(error);
          envelope.message = redactUrl(envelope.message);
          registration.update({ state: 'error', message: envelope.message, error: envelope });
          throw EddyError.from(envelope);
        }
        throw error;
      }
    });
    running.jobId = job.id;
    return { captureId: id, jobId: job.id, slotName, publicationName, streams };
  }
}
