// The engine's implementation of the pipelines part of the contract (shared/contracts/pipelines.ts):
// pipeline files in the workspace, runs through the PipelineManager, step-through, dead letters,
// the local warehouse, and pipeline tests.
import path from 'node:path';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { EddyError, type HandlersFor } from '../../../shared/contract-kit.js';
import type { PipelineInfo, pipelineCommands, SpecProblemView } from '../../../shared/contracts/pipelines.js';
import { PipelineTestFileSchema } from '../../../shared/contracts/pipelines.js';
import type { JsonValue } from '../../../shared/events.js';
import { checkPipelineSpec, pipelineJsonSchema } from '../../../shared/pipeline-spec.js';
import { getConnectionProfile } from '../connections/store.js';
import type { EngineContext } from '../context.js';
import { PipelineManager, resolveInside } from './manager.js';
import { findPipelineTests, runWorkspacePipelineTests } from './pipeline-test.js';
import { SandboxScriptExecutor } from './sandbox-executor.js';

const managers = new WeakMap<EngineContext, PipelineManager>();

/** The engine's one PipelineManager (the handlers and `eddy run` share it). */
export function pipelineManagerFor(context: EngineContext): PipelineManager {
  let manager = managers.get(context);
  if (!manager) {
    const created = new PipelineManager({
      root: context.workspace.root,
      localDir: context.workspace.localDir,
      log: context.log,
      jobs: context.jobs,
      emit: context.emit,
      report: context.report,
      resolveSecret: context.resolveSecret,
      loadConnection: (id) => getConnectionProfile(context, id),
      executor: new SandboxScriptExecutor({ workers: 1 }),
    });
    managers.set(context, created);
    context.onClose(() => created.close());
    manager = created;
  }
  return manager;
}

export function specProblems(text: string): { problems: SpecProblemView[]; spec: JsonValue | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { problems: [{ path: [], message: `Not JSON: ${(error as Error).message}` }], spec: null };
  }
  const checked = checkPipelineSpec(raw);
  return checked.ok ? { problems: [], spec: checked.spec as unknown as JsonValue } : { problems: checked.problems, spec: null };
}

export function createPipelinesHandlers(context: EngineContext): HandlersFor<typeof pipelineCommands> {
  const root = context.workspace.root;
  const manager = (): PipelineManager => pipelineManagerFor(context);

  const info = async (relative: string, text: string | null): Promise<PipelineInfo> => {
    const checked = text === null ? { problems: [{ path: [], message: 'Could not read the file.' }], spec: null } : specProblems(text);
    const spec = checked.spec as { name?: string; description?: string } | null;
    const name = spec?.name ?? path.basename(relative, '.pipeline.json');
    return { path: relative, name, description: spec?.description ?? null, valid: checked.problems.length === 0, problems: checked.problems, run: manager().status(name) };
  };

  return {
    listPipelines: async () => Promise.all((await manager().listSpecs()).map((entry) => info(entry.path, entry.text))),
    readPipeline: async ({ path: relative }) => {
      let text: string;
      try {
        text = await readFile(resolveInside(root, relative), 'utf8');
      } catch {
        throw new EddyError('NOT_FOUND', `No pipeline file ${relative}.`);
      }
      return { path: relative, text, problems: specProblems(text).problems };
    },
    savePipeline: async ({ path: relative, text, overwrite }) => {
      const file = resolveInside(root, relative);
      if (!overwrite) {
        const exists = await stat(file).then(
          () => true,
          () => false,
        );
        if (exists) throw new EddyError('CONFLICT', `${relative} already exists.`);
      }
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text.endsWith('\n') ? text : `${text}\n`);
      return info(relative, text);
    },
    validatePipeline: async ({ text }) => {
      const checked = specProblems(text);
      return { ok: checked.problems.length === 0, problems: checked.problems, spec: checked.spec };
    },
    getPipelineSchema: async () => ({ schema: pipelineJsonSchema() as JsonValue }),
    startPipeline: async (request) => (await manager().start(request)).status,
    pausePipeline: async ({ pipeline }) => manager().pause(pipeline),
    resumePipeline: async ({ pipeline }) => manager().resume(pipeline),
    stopPipeline: async ({ pipeline }) => manager().stop(pipeline),
    resetPipeline: async ({ pipeline }) => ({ pipeline, removed: await manager().reset(pipeline) }),
    listPipelineRuns: async () => manager().list(),
    getPipelineMetrics: async ({ pipeline }) => manager().metrics(pipeline),
    stepPipeline: async (request) => {
      try {
        return await manager().step(request);
      } catch (error) {
        if (error instanceof EddyError) throw error;
        throw new EddyError('VALIDATION', error instanceof Error ? error.message : String(error));
      }
    },
    listDeadLetters: async ({ pipeline, limit, cursor }) => manager().deadLetters(pipeline, limit, cursor),
    listWarehouseTables: async () => (await manager().warehouseHandle()).tables(),
    queryWarehouse: async ({ sql, maxRows }) => {
      try {
        return (await manager().warehouseHandle()).query(sql, maxRows);
      } catch (error) {
        if (error instanceof EddyError) throw error;
        throw new EddyError('VALIDATION', error instanceof Error ? error.message : String(error));
      }
    },
    listPipelineTests: async () =>
      Promise.all(
        (await findPipelineTests(root)).map(async (relative) => {
          try {
            const test = PipelineTestFileSchema.parse(JSON.parse(await readFile(path.join(root, relative), 'utf8')));
            return { path: relative, name: test.name, pipeline: test.pipeline };
          } catch (error) {
            return { path: relative, name: path.basename(relative), pipeline: null, invalid: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
          }
        }),
      ),
    runPipelineTests: async ({ paths }) => runWorkspacePipelineTests(root, paths),
  };
}
