// The engine's implementation of the transforms part of the contract (shared/contracts/transforms.ts):
// transform and test files in the workspace, compile and type diagnostics, types inferred from
// samples, per-record previews in the sandbox, tests, and comparing two versions. The sandbox pool
// starts on first use and closes with the engine.
import { EddyError, type HandlersFor } from '../../../shared/contract-kit.js';
import type { FixtureEvent, FixtureTables, PreviewResult, TestFile, transformCommands } from '../../../shared/contracts/transforms.js';
import type { EngineContext } from '../context.js';
import { compileTransform, typecheckTransform, type CompiledTransform } from './compile.js';
import { compareRuns } from './compare.js';
import { exists, formatTest, listTests, listTransforms, readTest, readText, testPathFor, transformInfo, writeText } from './files.js';
import { inferStreamTypes } from './infer-types.js';
import { maskEvent, maskTables, suggestMasking } from './masking.js';
import { runTransform, type RunOutcome } from './run.js';
import { LogTables, readWindow, type SampleReader } from './samples.js';
import { TransformPool, type PoolOptions } from './sandbox/pool.js';
import { runTests } from './test-runner.js';
import { workspacePoolOptions } from './sandbox-settings.js';

export interface TransformsOptions {
  /** Overrides the workspace's `sandbox` settings (tests use this). */
  pool?: PoolOptions;
}

type Request<K extends keyof typeof transformCommands> = Parameters<HandlersFor<typeof transformCommands>[K]>[0];

export function createTransformsHandlers(context: EngineContext, options: TransformsOptions = {}): HandlersFor<typeof transformCommands> {
  const root = context.workspace.root;
  const reader: SampleReader = context.log;
  let pool: TransformPool | undefined;
  let poolStarting: Promise<TransformPool> | undefined;
  const channels = new Map<string, AbortController>();

  const getPool = (): Promise<TransformPool> => {
    if (pool) return Promise.resolve(pool);
    poolStarting ??= workspacePoolOptions(root).then((fromWorkspace) => {
      pool = new TransformPool({ ...fromWorkspace, ...options.pool, limits: { ...fromWorkspace.limits, ...options.pool?.limits } });
      return pool;
    });
    return poolStarting;
  };
  context.onClose(async () => {
    for (const controller of channels.values()) controller.abort();
    await pool?.close();
  });

  const scriptOf = async (script: Request<'previewTransform'>['script']): Promise<CompiledTransform> => {
    const filename = script.path ?? 'transforms/untitled.ts';
    const source = script.source ?? (await readText(root, script.path!));
    return compileTransform(source, filename);
  };

  const eventsOf = async (request: { events?: FixtureEvent[] | undefined; window?: Request<'previewTransform'>['window'] }): Promise<FixtureEvent[]> => {
    if (request.events) return request.events;
    if (request.window) return readWindow(reader, request.window);
    throw new EddyError('VALIDATION', 'Give sample events or a window of a stream to read them from.');
  };

  const samplesForTypes = async (stream: string, limit: number) => (await reader.read({ stream, direction: 'newest', limit })).events;

  const run = async (compiled: CompiledTransform, events: FixtureEvent[], request: Pick<Request<'previewTransform'>, 'time' | 'initialState' | 'tables'>, signal?: AbortSignal, lookups?: LogTables): Promise<RunOutcome> =>
    runTransform(await getPool(), {
      compiled,
      events,
      ...(request.time ? { time: request.time } : {}),
      ...(request.initialState ? { initialState: request.initialState } : {}),
      ...(request.tables ? { tables: request.tables } : {}),
      ...(lookups ? { lookupSource: lookups } : {}),
      ...(signal ? { signal } : {}),
    });

  return {
    listTransforms: async () => listTransforms(root),

    readTransform: async ({ path: file }) => {
      const source = await readText(root, file);
      return { info: await transformInfo(root, file, source), source };
    },

    saveTransform: async ({ path: file, source }) => {
      const compiled = await compileTransform(source, file);
      await writeText(root, file, source);
      return { info: await transformInfo(root, file, source), diagnostics: compiled.diagnostics };
    },

    compileTransform: async ({ source, path: file, typecheck, stream }) => {
      const started = Date.now();
      const filename = file ?? 'transforms/untitled.ts';
      const compiled = await compileTransform(source, filename);
      const diagnostics = [...compiled.diagnostics];
      if (typecheck) {
        const declarations = stream ? inferStreamTypes(stream, await samplesForTypes(stream, 500)).declarations : '';
        diagnostics.push(...typecheckTransform(source, filename, declarations).filter((diagnostic) => diagnostic.severity === 'error' || diagnostic.message));
      }
      return { ok: diagnostics.every((diagnostic) => diagnostic.severity !== 'error'), diagnostics, elapsedMs: Date.now() - started };
    },

    getStreamTypes: async ({ stream, limit }) => {
      const samples = await samplesForTypes(stream, limit);
      const inferred = inferStreamTypes(stream, samples);
      return { stream, declarations: inferred.declarations, typeName: inferred.typeName, samples: samples.length };
    },

    previewTransform: async (request) => {
      // A newer preview on the same channel (the editor re-running on every edit) cancels this one.
      const controller = new AbortController();
      if (request.channel) {
        channels.get(request.channel)?.abort();
        channels.set(request.channel, controller);
      }
      try {
        const compiled = await scriptOf(request.script);
        const events = await eventsOf(request);
        const lookups = new LogTables(reader);
        const outcome = await run(compiled, events, request, controller.signal, lookups);
        const result: PreviewResult = {
          ok: outcome.ok,
          diagnostics: outcome.diagnostics,
          records: outcome.records,
          stats: {
            records: outcome.records.length,
            outputs: outcome.records.reduce((sum, record) => sum + record.outputs.length, 0),
            errors: outcome.records.filter((record) => record.error).length,
            elapsedMs: outcome.elapsedMs,
          },
          finalState: outcome.finalState,
          lookups: lookups.pinned(),
        };
        return result;
      } catch (error) {
        if (controller.signal.aborted) throw new EddyError('CANCELLED', 'A newer preview replaced this one.');
        throw error;
      } finally {
        if (request.channel && channels.get(request.channel) === controller) channels.delete(request.channel);
      }
    },

    compareTransforms: async (request) => {
      const [base, candidate] = await Promise.all([scriptOf(request.base), scriptOf(request.candidate)]);
      const events = await eventsOf(request);
      const lookups = new LogTables(reader);
      const baseRun = await run(base, events, request, undefined, lookups);
      const candidateRun = await run(candidate, events, request, undefined, lookups);
      return compareRuns(baseRun, candidateRun);
    },

    listTests: async () => listTests(root),

    readTest: async ({ path: file }) => ({ path: file, test: await readTest(root, file) }),

    saveTest: async ({ path: file, test }) => {
      await writeText(root, file, formatTest(test));
      return { path: file, name: test.name, transform: test.transform, events: test.events.length };
    },

    createTest: async (request) => {
      const file = request.path ?? testPathFor(request.name);
      if (!request.overwrite && (await exists(root, file))) throw new EddyError('CONFLICT', `${file} already exists.`, { path: file });
      const source = request.source ?? (await readText(root, request.transform));
      const compiled = await compileTransform(source, request.transform);
      if (!compiled.ok) throw new EddyError('VALIDATION', `${request.transform} does not compile: ${compiled.diagnostics[0]?.message ?? ''}`, { diagnostics: compiled.diagnostics });
      // First run on the real events to learn which table rows the script reads, then mask events
      // and rows alike and compute the expected outputs from the masked fixture: the test must pass
      // on exactly what is written to the file.
      const lookups = new LogTables(reader);
      await run(compiled, request.events, request, undefined, request.tables ? undefined : lookups);
      const tables: FixtureTables = { ...lookups.pinned(), ...request.tables };
      const masking = request.masking ?? suggestMasking(request.events, tables);
      const events = request.events.map((event) => maskEvent(event, masking));
      const maskedTables = maskTables(tables, masking);
      const outcome = await run(compiled, events, { ...request, tables: maskedTables });
      if (!outcome.ok) throw new EddyError('VALIDATION', `${request.transform} failed to load: ${outcome.diagnostics[0]?.message ?? ''}`, { diagnostics: outcome.diagnostics });
      const test: TestFile = {
        name: request.name,
        transform: request.transform,
        stream: events[0]?.stream,
        masking,
        ...(request.time ? { time: request.time } : {}),
        initialState: request.initialState ?? {},
        tables: maskedTables,
        events,
        expect: {
          outputs: outcome.records.flatMap((record) => record.outputs.map((output) => ({ key: output.key, value: output.value }))),
          ordered: request.ordered,
          errors: outcome.records.filter((record) => record.error).map((record) => ({ event: record.input.position, message: record.error!.message })),
        },
      };
      if (test.stream === undefined) delete test.stream;
      await writeText(root, file, formatTest(test));
      return { path: file, test };
    },

    runTests: async ({ paths, detail }) => runTests({ root, pool: await getPool(), ...(paths ? { paths } : {}), detail }),

    getSandboxInfo: async () => {
      const current = await getPool();
      return {
        engine: await current.engineDescription(),
        workers: current.workerCount,
        memoryLimitMb: Math.round(current.limits.memoryLimitBytes / 1048576),
        timeoutMs: current.limits.timeoutMs,
        restarts: current.restarts,
      };
    },
  };
}
