// One operator per stage of a spec: script sessions (opened with the stage's share of the given
// state), windows and lookups. Shared by the app's pipeline builder and the exported runner, which
// builds one set per task (partition) with the state restored from that task's changelog.
import type { JsonValue } from '../../../shared/events.js';
import type { PipelineSpec } from '../../../shared/pipeline-spec.js';
import type { Operator } from './model.js';
import type { ScriptExecutor, ScriptLoader } from './scripts.js';
import { ScriptOperator, scriptNamespace } from './stages/script.js';
import { LookupOperator } from './stages/lookup.js';
import { WindowOperator } from './stages/window.js';
import type { CommittedState } from './state.js';

export interface OperatorEnvironment {
  executor: ScriptExecutor;
  loadScript: ScriptLoader;
}

export async function buildOperators(spec: PipelineSpec, environment: OperatorEnvironment, state: CommittedState | undefined): Promise<Map<string, Operator>> {
  const operators = new Map<string, Operator>();
  try {
    for (const stage of spec.stages) {
      switch (stage.kind) {
        case 'transform':
        case 'keyed': {
          const source = await environment.loadScript(stage.script);
          const entries: [string, JsonValue][] = [];
          const namespace = scriptNamespace(stage.id);
          if (state) for (const key of state.keys(namespace)) entries.push([key, state.get(namespace, key)!]);
          const session = await environment.executor.open({ file: stage.script, source, exportName: stage.export }, entries);
          operators.set(stage.id, new ScriptOperator(stage, session, spec.name));
          break;
        }
        case 'window':
          operators.set(stage.id, new WindowOperator(stage, spec.name));
          break;
        case 'lookup':
          operators.set(stage.id, new LookupOperator(stage));
          break;
      }
    }
  } catch (error) {
    for (const operator of operators.values()) await operator.close?.().catch(() => undefined);
    throw error;
  }
  return operators;
}

