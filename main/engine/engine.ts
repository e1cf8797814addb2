// The engine: owns the open workspace and its services (event log, later connectors, transforms,
// pipelines) and implements the contract's handlers. Hosts (utilityProcess, web-mode child, CLI)
// construct it and wire its `handlers` and `emit` to their transport.
import path from 'node:path';
import type { Problem } from '../../shared/contract.js';
import type { EngineContext, Emit } from './context.js';
import type { Handlers } from './dispatch.js';
import { Jobs } from './jobs.js';
import { openEventLog } from './log/index.js';
import type { AskHostSecrets } from './secrets.js';
import type { EngineSettings } from './settings.js';
import { importSamples, openWorkspace } from './workspace/workspace.js';
import { createCdcHandlers } from './cdc/handlers.js';
import { createConnectionsHandlers } from './connections/handlers.js';
import { createExplorerHandlers } from './explorer/handlers.js';
import { createExportHandlers } from './export/handlers.js';
import { createKafkaHandlers } from './kafka/handlers.js';
import { createPipelinesHandlers } from './pipelines/handlers.js';
import { createTransformsHandlers } from './transforms/handlers.js';

export type { Emit } from './context.js';

export interface Engine {
  handlers: Handlers;
  context: EngineContext;
  close(): Promise<void>;
}

/** Live views want to know what changed, not every event: coalesce to at most 10 notices a second. */
function appendNotifier(emit: Emit): { add: (stream: string, count: number) => void; stop: () => void } {
  let pending = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    timer = undefined;
    const streams = [...pending].map(([stream, count]) => ({ stream, count }));
    pending = new Map();
    if (streams.length > 0) emit('onLogAppended', { streams });
  };
  return {
    add(stream, count) {
      pending.set(stream, (pending.get(stream) ?? 0) + count);
      timer ??= setTimeout(flush, 100);
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}

export async function createEngine(settings: EngineSettings, emit: Emit, askHost: AskHostSecrets): Promise<Engine> {
  const startedAt = Date.now();
  const problems: Problem[] = [];
  let problemId = 0;
  const report = (severity: Problem['severity'], source: string, message: string): void => {
    const problem: Problem = { id: `p${++problemId}`, severity, source, message, at: Date.now() };
    problems.push(problem);
    if (problems.length > 500) problems.shift();
    emit('onProblem', problem);
  };

  const workspace = await openWorkspace(settings);
  const log = await openEventLog({
    dir: path.join(workspace.localDir, 'log'),
    holder: settings.host === 'cli' ? 'an eddy command' : settings.host === 'desktop' ? 'the Eddy app' : 'Eddy in web mode',
    onProblem: (problem) => report(problem.severity, problem.source, problem.message),
  });
  const notifier = appendNotifier(emit);
  const stopTail = log.onAppended((events) => {
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.stream, (counts.get(event.stream) ?? 0) + 1);
    for (const [stream, count] of counts) notifier.add(stream, count);
  });
  await importSamples(workspace, (events) => log.append(events), (message) => report('warning', 'workspace', message));

  const cleanups: (() => Promise<void> | void)[] = [];
  const jobs = new Jobs((job) => emit('onJobProgress', job));
  const context: EngineContext = {
    settings,
    workspace,
    log,
    jobs,
    emit,
    report,
    resolveSecret: async (ref) => String(await askHost({ op: 'resolve', ref })),
    askHost,
    onClose: (cleanup) => void cleanups.push(cleanup),
  };

  // Running explorer queries by their client-chosen id, so that cancelQuery can stop them.
  const runningQueries = new Map<string, AbortController>();
  const handlers: Handlers = {
    ...createConnectionsHandlers(context),
    ...createKafkaHandlers(context),
    ...createCdcHandlers(context),
    ...createTransformsHandlers(context),
    ...createPipelinesHandlers(context),
    ...createExplorerHandlers(context),
    ...createExportHandlers(context),
    getAppInfo: async () => ({
      name: 'Eddy',
      version: settings.version,
      host: settings.host,
      enginePid: process.pid,
      engineStartedAt: startedAt,
      nodeVersion: process.version,
      workspace: { name: workspace.file.name, path: workspace.root, isDemo: workspace.isDemo },
    }),
    listStreams: async () => log.streams(),
    readEvents: async (request) => log.read(request),
    queryLog: async (request) => {
      const controller = new AbortController();
      if (request.queryId) runningQueries.set(request.queryId, controller);
      try {
        return await log.query(request.sql, { maxRows: request.maxRows, timeoutMs: request.timeoutMs, signal: controller.signal });
      } finally {
        if (request.queryId && runningQueries.get(request.queryId) === controller) runningQueries.delete(request.queryId);
      }
    },
    cancelQuery: async (request) => {
      const controller = runningQueries.get(request.queryId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
    listProblems: async () => [...problems],
    listJobs: async () => jobs.list(),
    cancelJob: async ({ id }) => jobs.cancel(id),
  };

  return {
    handlers,
    context,
    async close() {
      jobs.cancelAll();
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          report('warning', 'engine', `Clean-up failed while closing: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      stopTail();
      notifier.stop();
      await log.close();
    },
  };
}
