// The engine's pipelines: runs keyed by pipeline name (live, replay, dry run), each a job with
// progress and cancel, their status and metrics pushed to the UI, step-through, dead letters and
// the local warehouse. The app's handlers and `eddy run` both go through here, so a pipeline runs
// the same way with and without a UI.
import path from 'node:path';
import { readFile, readdir, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { EddyError } from '../../../shared/contract-kit.js';
import type { Problem } from '../../../shared/contract.js';
import type { ConnectionProfile } from '../../../shared/contracts/connections.js';
import type { DeadLetterView, PipelineMetrics, ReplayFrom, RunStatus, StepResult } from '../../../shared/contracts/pipelines.js';
import { StartPipelineRequestSchema } from '../../../shared/contracts/pipelines.js';
import type { JsonValue } from '../../../shared/events.js';
import { deadLetterStream, parsePipelineSpec, sourceStream, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import { connectPg, pgEndpointFromProfile } from '../cdc/postgres/client.js';
import { openMssqlExecutor } from '../cdc/sqlserver/mssql-executor.js';
import type { Emit } from '../context.js';
import type { Jobs } from '../jobs.js';
import { kafkaClientFor } from '../kafka/client.js';
import type { EventLog } from '../log/index.js';
import type { SecretResolver } from '../secrets.js';
import { Warehouse } from '../sinks/warehouse.js';
import { buildPipeline, inputSources, type BuildEnvironment } from './build.js';
import { FileCheckpointStore, MemoryCheckpointStore } from './checkpoint-store.js';
import { captureIntoLog, KafkaPipelineSink, type EmbeddedCapture } from './kafka-bridge.js';
import type { CheckpointStore, RestoredCheckpoint } from './model.js';
import { PipelineRunner, type RunOutcome } from './runner.js';
import type { ScriptExecutor } from './scripts.js';
import { CommittedState } from './state.js';
import { eventView, stepRecord } from './step.js';

export interface PipelineHost {
  root: string;
  localDir: string;
  log: EventLog;
  jobs?: Jobs | undefined;
  emit?: Emit | undefined;
  report(severity: Problem['severity'], source: string, message: string): void;
  resolveSecret: SecretResolver;
  loadConnection(id: string): Promise<ConnectionProfile>;
  executor: ScriptExecutor;
}

interface ActiveRun {
  status: RunStatus;
  runner: PipelineRunner | undefined;
  controller: AbortController;
  done: Promise<RunOutcome>;
  metrics: PipelineMetrics | null;
}

export interface StartOptions {
  path: string;
  mode?: 'live' | 'replay';
  replay?: ReplayFrom | undefined;
  dryRun?: boolean;
  follow?: boolean;
  /** Headless runs: stop a live run once no record arrived for this long. */
  stopWhenIdleMs?: number | undefined;
}

const METRICS_EVERY_MS = 250;

export function resolveInside(root: string, relative: string): string {
  const absolute = path.resolve(root, relative);
  if (absolute !== root && !absolute.startsWith(root + path.sep)) throw new EddyError('FORBIDDEN', `${relative} is outside the workspace.`);
  return absolute;
}

export class PipelineManager {
  private readonly runs = new Map<string, ActiveRun>();
  private warehouse: Promise<Warehouse> | undefined;

  constructor(private readonly host: PipelineHost) {}

  get warehouseFile(): string {
    return path.join(this.host.localDir, 'warehouse', 'warehouse.sqlite');
  }

  pipelineDir(name: string): string {
    return path.join(this.host.localDir, 'pipelines', name);
  }

  async readSpec(relative: string): Promise<PipelineSpec> {
    const file = resolveInside(this.host.root, relative);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      throw new EddyError('NOT_FOUND', `No pipeline file ${relative}.`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new EddyError('VALIDATION', `${relative} is not JSON: ${(error as Error).message}`);
    }
    try {
      return parsePipelineSpec(raw);
    } catch (error) {
      const issues = (error as { issues?: { path: (string | number)[]; message: string }[] }).issues ?? [];
      const first = issues[0];
      throw new EddyError('VALIDATION', `${relative} is not a valid pipeline${first ? `: ${first.path.join('.') || 'spec'}: ${first.message}` : ''}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
    }
  }

  status(name: string): RunStatus | null {
    return this.runs.get(name)?.status ?? null;
  }

  list(): RunStatus[] {
    return [...this.runs.values()].map((run) => run.status);
  }

  metrics(name: string): PipelineMetrics | null {
    const run = this.runs.get(name);
    if (!run) return null;
    return run.metrics ?? run.runner?.metrics.snapshot() ?? null;
  }

  async warehouseHandle(): Promise<Warehouse> {
    this.warehouse ??= Warehouse.openShared(this.warehouseFile);
    return this.warehouse;
  }

  environment(): BuildEnvironment {
    const host = this.host;
    return {
      log: host.log,
      executor: host.executor,
      loadScript: async (script) => readFile(resolveInside(host.root, script), 'utf8'),
      warehouse: () => Warehouse.openShared(this.warehouseFile),
      connectPostgres: async (connection) => {
        const profile = await host.loadConnection(connection);
        if (profile.kind !== 'postgres') throw new EddyError('VALIDATION', `Connection "${connection}" is a ${profile.kind} connection, not PostgreSQL.`);
        return connectPg(await pgEndpointFromProfile(profile, host.resolveSecret), { applicationName: 'eddy-pipeline' });
      },
      connectSqlServer: async (connection) => {
        const profile = await host.loadConnection(connection);
        if (profile.kind !== 'sqlserver') throw new EddyError('VALIDATION', `Connection "${connection}" is a ${profile.kind} connection, not SQL Server.`);
        const password = profile.password === undefined ? undefined : await host.resolveSecret(profile.password);
        return openMssqlExecutor({ host: profile.host, port: profile.port, database: profile.database, user: profile.user, password, encrypt: profile.encrypt, trustServerCertificate: profile.trustServerCertificate });
      },
      kafkaSink: async (spec, pipeline) => {
        const profile = await host.loadConnection(spec.connection);
        if (profile.kind !== 'kafka') throw new EddyError('VALIDATION', `Connection "${spec.connection}" is a ${profile.kind} connection, not Kafka.`);
        return new KafkaPipelineSink(spec, await kafkaClientFor(profile, host.resolveSecret), pipeline);
      },
    };
  }

  /** Starts a run and returns its first status; the run goes on in the background (a job). */
  async start(options: StartOptions): Promise<{ status: RunStatus; done: Promise<RunOutcome> }> {
    const request = StartPipelineRequestSchema.parse({ path: options.path, mode: options.mode ?? 'live', ...(options.replay ? { replay: options.replay } : {}), dryRun: options.dryRun ?? false, follow: options.follow ?? false });
    const spec = await this.readSpec(request.path);
    const existing = this.runs.get(spec.name);
    if (existing && ['starting', 'running', 'paused', 'stopping'].includes(existing.status.state)) {
      throw new EddyError('CONFLICT', `Pipeline ${spec.name} is already ${existing.status.state}; stop it first.`);
    }
    const now = Date.now();
    const controller = new AbortController();
    const status: RunStatus = {
      pipeline: spec.name,
      path: request.path,
      runId: randomUUID(),
      mode: request.mode,
      dryRun: request.dryRun,
      replay: request.mode === 'replay' ? (request.replay ?? { from: 'beginning' }) : null,
      state: 'starting',
      reason: null,
      startedAt: now,
      updatedAt: now,
      checkpoint: null,
    };
    const run: ActiveRun = { status, runner: undefined, controller, done: Promise.resolve({ state: 'stopped', reason: null, checkpoint: undefined }), metrics: null };
    this.runs.set(spec.name, run);
    const publish = (patch: Partial<RunStatus>): void => {
      run.status = { ...run.status, ...patch, updatedAt: Date.now() };
      this.host.emit?.('onPipelineStatus', run.status);
    };
    publish({});

    let resolveDone!: (outcome: RunOutcome) => void;
    run.done = new Promise((resolve) => (resolveDone = resolve));
    const work = async (signal: AbortSignal, progress: (done: number) => void): Promise<string> => {
      const stop = (): void => controller.abort();
      signal.addEventListener('abort', stop, { once: true });
      const captures: EmbeddedCapture[] = [];
      let built: Awaited<ReturnType<typeof buildPipeline>> | undefined;
      let timer: ReturnType<typeof setInterval> | undefined;
      try {
        const dir = this.pipelineDir(spec.name);
        let checkpoints: CheckpointStore;
        let restored: RestoredCheckpoint;
        if (request.dryRun) {
          checkpoints = new MemoryCheckpointStore();
          restored = await checkpoints.load();
        } else {
          const store = new FileCheckpointStore({ dir: path.join(dir, 'checkpoints'), onProblem: (message) => this.host.report('error', `pipeline:${spec.name}`, message) });
          restored = await store.load();
          if (request.mode === 'replay') {
            // Reprocessing starts a new lineage: fresh state, positions from the replay's start.
            await store.reset();
            restored = await store.load();
          }
          checkpoints = store;
        }
        if (request.mode === 'live') {
          for (const source of inputSources(spec)) {
            if (source.kind !== 'kafka') continue;
            const profile = await this.host.loadConnection(source.connection);
            if (profile.kind !== 'kafka') throw new EddyError('VALIDATION', `Source "${source.id}": connection "${source.connection}" is not a Kafka connection.`);
            const kafka = await kafkaClientFor(profile, this.host.resolveSecret, { retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 1000 } });
            captures.push(
              await captureIntoLog({
                kafka,
                topic: source.topic,
                stream: sourceStream(source),
                startFrom: source.startFrom,
                log: this.host.log,
                offsetsFile: path.join(dir, `capture-${source.id}.offsets.json`),
                onIncident: (severity, message) => {
                  this.host.report(severity, `pipeline:${spec.name}`, `Source ${source.id}: ${message}`);
                  publish({ reason: severity === 'warning' ? `Source ${source.id}: ${message}` : null });
                },
              }),
            );
          }
        }
        built = await buildPipeline(
          { spec, mode: request.mode, replay: status.replay ?? undefined, dryRun: request.dryRun, follow: request.follow, checkpoints, initialState: async () => new CommittedState(restored.state) },
          this.environment(),
        );
        if (request.dryRun) publish({ shadowTables: built.shadowTables });
        let lastRecords = -1;
        let idleSince = Date.now();
        const runner = new PipelineRunner({
          ...built.runner,
          restored,
          onState: (state, reason) => publish({ state, reason }),
          onCheckpoint: (checkpoint) => publish({ checkpoint: { id: checkpoint.id, at: checkpoint.at }, runId: checkpoint.runId }),
          log: (level, message) => {
            if (level !== 'info') this.host.report(level === 'warn' ? 'warning' : 'error', `pipeline:${spec.name}`, message);
          },
        });
        run.runner = runner;
        timer = setInterval(() => {
          run.metrics = runner.metrics.snapshot();
          this.host.emit?.('onPipelineMetrics', run.metrics);
          progress(run.metrics.records.in);
          if (options.stopWhenIdleMs !== undefined) {
            if (run.metrics.records.in !== lastRecords) {
              lastRecords = run.metrics.records.in;
              idleSince = Date.now();
            } else if (Date.now() - idleSince >= options.stopWhenIdleMs) {
              controller.abort();
            }
          }
        }, METRICS_EVERY_MS);
        const outcome = await runner.run(controller.signal);
        run.metrics = runner.metrics.snapshot();
        this.host.emit?.('onPipelineMetrics', run.metrics);
        resolveDone(outcome);
        if (outcome.state === 'failed') throw new EddyError('INTERNAL', outcome.reason ?? 'The pipeline failed.');
        return `${outcome.state}: ${run.metrics.records.in} records, ${run.metrics.records.deadLetters} dead letters`;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (run.status.state !== 'failed') publish({ state: 'failed', reason: message });
        resolveDone({ state: 'failed', reason: message, checkpoint: undefined });
        throw error;
      } finally {
        if (timer) clearInterval(timer);
        signal.removeEventListener('abort', stop);
        for (const capture of captures) await capture.stop();
        await built?.close();
      }
    };
    if (this.host.jobs) {
      this.host.jobs.start({ kind: 'pipeline', title: `Pipeline ${spec.name}${request.dryRun ? ' (dry run)' : ''}${request.mode === 'replay' ? ' replay' : ''}`, unit: 'records' }, (handle) =>
        work(handle.signal, (done) => handle.progress(done)),
      );
    } else {
      void work(controller.signal, () => undefined).catch(() => undefined);
    }
    return { status: run.status, done: run.done };
  }

  private active(name: string): ActiveRun {
    const run = this.runs.get(name);
    if (!run) throw new EddyError('NOT_FOUND', `Pipeline ${name} is not running.`);
    return run;
  }

  pause(name: string): RunStatus {
    const run = this.active(name);
    run.runner?.pause();
    return run.status;
  }

  resume(name: string): RunStatus {
    const run = this.active(name);
    run.runner?.resume();
    return run.status;
  }

  async stop(name: string): Promise<RunStatus> {
    const run = this.active(name);
    if (['starting', 'running', 'paused'].includes(run.status.state)) {
      run.status = { ...run.status, state: 'stopping', updatedAt: Date.now() };
      this.host.emit?.('onPipelineStatus', run.status);
      run.controller.abort();
      await run.done;
    }
    return run.status;
  }

  async reset(name: string): Promise<boolean> {
    const run = this.runs.get(name);
    if (run && ['starting', 'running', 'paused', 'stopping'].includes(run.status.state)) throw new EddyError('CONFLICT', `Stop pipeline ${name} before resetting it.`);
    const dir = this.pipelineDir(name);
    try {
      await readdir(dir);
    } catch {
      return false;
    }
    await rm(dir, { recursive: true, force: true });
    return true;
  }

  async step(options: { path: string; text?: string | undefined; stream: string; position: string; withState: boolean }): Promise<StepResult> {
    const spec = options.text !== undefined ? parsePipelineSpec(JSON.parse(options.text)) : await this.readSpec(options.path);
    let state: CommittedState | undefined;
    if (options.withState) {
      const run = this.runs.get(spec.name);
      if (run?.runner && ['running', 'paused', 'stopping'].includes(run.status.state)) state = run.runner.committedState();
      else {
        const store = new FileCheckpointStore({ dir: path.join(this.pipelineDir(spec.name), 'checkpoints') });
        try {
          state = new CommittedState((await store.load()).state);
        } finally {
          await store.close();
        }
      }
    }
    const environment = this.environment();
    return stepRecord({ spec, log: this.host.log, stream: options.stream, position: options.position, state, executor: environment.executor, loadScript: environment.loadScript });
  }

  async deadLetters(name: string, limit: number, cursor: string | undefined): Promise<{ stream: string; letters: DeadLetterView[]; nextCursor: string | null }> {
    let stream = `dead-letters:${name}`;
    const known = (await this.listSpecs()).find((entry) => entry.spec?.name === name)?.spec;
    if (known) stream = deadLetterStream(known);
    const page = await this.host.log.read({ stream, direction: 'newest', limit, cursor });
    const letters = page.events.map((event): DeadLetterView => {
      const value = (event.value ?? {}) as Record<string, JsonValue>;
      const error = (value.error ?? {}) as Record<string, JsonValue>;
      const origin = (value.origin ?? {}) as Record<string, JsonValue>;
      const input = (value.input ?? {}) as Record<string, JsonValue>;
      const inputEvent = eventView({
        stream: String(input.stream ?? origin.stream ?? ''),
        position: String(input.position ?? origin.position ?? ''),
        key: (input.key ?? null) as JsonValue,
        value: (input.value ?? null) as JsonValue,
        headers: Array.isArray(input.headers) ? (input.headers as { key: string; value: string }[]) : [],
        op: typeof input.op === 'string' ? (input.op as 'c') : undefined,
        eventTime: Number(input.eventTime ?? event.eventTime),
        ingestTime: Number(input.ingestTime ?? event.ingestTime),
        decodeError: typeof input.decodeError === 'string' ? input.decodeError : undefined,
        valueBytes: typeof input.valueBytes === 'string' ? input.valueBytes : undefined,
      });
      const view: DeadLetterView = {
        seq: event.seq,
        pipeline: String(value.pipeline ?? name),
        stage: String(value.stage ?? ''),
        error: { name: String(error.name ?? 'Error'), message: String(error.message ?? '') },
        attempts: Number(value.attempts ?? 1),
        origin: { source: String(origin.source ?? ''), stream: String(origin.stream ?? ''), position: String(origin.position ?? '') },
        input: inputEvent,
        at: Number(value.at ?? event.ingestTime),
      };
      if (typeof error.line === 'number') view.error.line = error.line;
      if (typeof error.stack === 'string') view.error.stack = error.stack;
      if (typeof origin.seq === 'number') view.origin.seq = origin.seq;
      return view;
    });
    return { stream, letters, nextCursor: page.nextCursor };
  }

  async listSpecs(): Promise<{ path: string; text: string | null; spec: PipelineSpec | null; error: unknown }[]> {
    const dir = path.join(this.host.root, 'pipelines');
    let names: string[] = [];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.pipeline.json')).sort();
    } catch {
      return [];
    }
    return Promise.all(
      names.map(async (name) => {
        const relative = `pipelines/${name}`;
        let text: string | null = null;
        try {
          text = await readFile(path.join(dir, name), 'utf8');
          return { path: relative, text, spec: parsePipelineSpec(JSON.parse(text)), error: null };
        } catch (error) {
          return { path: relative, text, spec: null, error };
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.runs.values()].map(async (run) => {
      run.controller.abort();
      await run.done;
    }));
    if (this.warehouse) await (await this.warehouse).close();
    await this.host.executor.close?.();
  }
}
