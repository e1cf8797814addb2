// Runs one chunk of source records through the stage graph in topological order, a whole batch
// per stage. A stage with several inputs sees them merged by the order of the source records that
// caused them, so batching changes nothing a record-at-a-time run would see. Collects what each
// sink receives, the dead letters, and per-stage counts and timings for the charts.
import { topologicalStages, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import type { Envelope, Operator, OperatorContext, OperatorResult, StageError } from './model.js';

export interface StageCounters {
  in: number;
  out: number;
  late: number;
  deadLetters: number;
  busyMs: number;
  /** Per-record latency of the last batch through this stage, in ms. */
  lastLatencyMs: number;
}

export interface DagDeadLetter {
  stage: string;
  envelope: Envelope;
  error: StageError;
  attempts: number;
}

export interface DagResult {
  sinks: Map<string, Envelope[]>;
  deadLetters: DagDeadLetter[];
  /** What every node produced, for step-through. */
  nodes: Map<string, Envelope[]>;
}

function mergeByOrder(lists: Envelope[][]): Envelope[] {
  const nonEmpty = lists.filter((list) => list.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  // Array.prototype.sort is stable: ties keep the order of the stage's `inputs`.
  return nonEmpty.flat().sort((a, b) => a.order - b.order);
}

export class StageGraph {
  readonly order: { id: string; inputs: string[]; operator: Operator }[];
  readonly sinks: { id: string; inputs: string[] }[];
  readonly counters = new Map<string, StageCounters>();

  constructor(spec: PipelineSpec, operators: Map<string, Operator>) {
    this.order = topologicalStages(spec.stages).map((stage) => {
      const operator = operators.get(stage.id);
      if (!operator) throw new Error(`No operator built for stage "${stage.id}".`);
      return { id: stage.id, inputs: stage.inputs, operator };
    });
    this.sinks = spec.sinks.map((sink) => ({ id: sink.id, inputs: sink.inputs }));
    for (const stage of this.order) this.counters.set(stage.id, { in: 0, out: 0, late: 0, deadLetters: 0, busyMs: 0, lastLatencyMs: 0 });
  }

  /** `sources`: each source's records of the chunk, keyed by source id. */
  async run(sources: Map<string, Envelope[]>, context: OperatorContext, finishing = false): Promise<DagResult> {
    const nodes = new Map<string, Envelope[]>(sources);
    const deadLetters: DagDeadLetter[] = [];
    for (const stage of this.order) {
      const inputs = mergeByOrder(stage.inputs.map((input) => nodes.get(input) ?? []));
      const counters = this.counters.get(stage.id)!;
      const started = performance.now();
      let result: OperatorResult = { outputs: [], late: [], deadLetters: [] };
      if (inputs.length > 0) result = await stage.operator.process(inputs, context);
      if (finishing && stage.operator.finish) {
        const finished = await stage.operator.finish(context);
        result = {
          outputs: [...result.outputs, ...finished.outputs],
          late: [...(result.late ?? []), ...(finished.late ?? [])],
          deadLetters: [...result.deadLetters, ...finished.deadLetters],
        };
      }
      const elapsed = performance.now() - started;
      counters.in += inputs.length;
      counters.out += result.outputs.length;
      counters.late += result.late?.length ?? 0;
      counters.deadLetters += result.deadLetters.length;
      counters.busyMs += elapsed;
      if (inputs.length > 0) counters.lastLatencyMs = elapsed / inputs.length;
      nodes.set(stage.id, result.outputs);
      if (result.late) nodes.set(`${stage.id}.late`, result.late);
      for (const letter of result.deadLetters) deadLetters.push({ stage: stage.id, ...letter });
    }
    const sinks = new Map<string, Envelope[]>();
    for (const sink of this.sinks) sinks.set(sink.id, mergeByOrder(sink.inputs.map((input) => nodes.get(input) ?? [])));
    return { sinks, deadLetters, nodes };
  }
}
