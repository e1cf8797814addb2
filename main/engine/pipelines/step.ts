// Step-through: one record of the log through every stage, showing what each did to it (changed,
// unchanged, emitted several, dropped, failed) with the state it read and wrote and the rows it
// looked up, and what each sink would receive. Nothing is written: the state overlay is thrown
// away and sinks are not called.
import type { StepResult, StepStage, EventView } from '../../../shared/contracts/pipelines.js';
import type { JsonValue } from '../../../shared/events.js';
import { durationMs, sourceStream, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import { buildOperators } from './build.js';
import { isUndecodable } from './runner.js';
import { StageGraph } from './dag.js';
import type { Envelope, PipelineEvent, TraceNote } from './model.js';
import type { ScriptExecutor, ScriptLoader } from './scripts.js';
import { storedToPipelineEvent } from './sources/log-source.js';
import type { LogPort } from './sources/log-port.js';
import { CommittedState, StateOverlay } from './state.js';
import { LogTableFeed, MaterializedTables } from './tables.js';

export function eventView(event: PipelineEvent): EventView {
  const view: EventView = {
    stream: event.stream,
    position: event.position,
    key: event.key,
    value: event.value,
    headers: event.headers,
    eventTime: event.eventTime,
    ingestTime: event.ingestTime,
  };
  if (event.op !== undefined) view.op = event.op;
  if (event.decodeError !== undefined) view.decodeError = event.decodeError;
  if (event.valueBytes !== undefined) view.valueBytes = event.valueBytes;
  return view;
}

export interface StepOptions {
  spec: PipelineSpec;
  log: LogPort;
  stream: string;
  position: string;
  state: CommittedState | undefined;
  executor: ScriptExecutor;
  loadScript: ScriptLoader;
  now?: () => number;
}

export async function stepRecord(options: StepOptions): Promise<StepResult> {
  const { spec, log } = options;
  const seq = await log.findPosition(options.stream, options.position);
  if (seq === null) throw new Error(`No event at ${options.position} in ${options.stream}.`);
  const iterator = log.replay({ streams: [options.stream], from: { seq }, toSeq: seq, batchSize: 1 });
  const found = await iterator.next();
  await iterator.return?.();
  const stored = found.done ? undefined : found.value[0];
  if (!stored) throw new Error(`No event at ${options.position} in ${options.stream}.`);
  const event = storedToPipelineEvent(stored);
  const sourceIds = spec.sources.filter((source) => sourceStream(source) === options.stream).map((source) => source.id);
  if (sourceIds.length === 0) throw new Error(`Stream ${options.stream} is not a source of pipeline ${spec.name}.`);

  if (isUndecodable(event)) {
    // Undecodable at the source: the runner dead-letters it before any stage sees it.
    const operatorsless = spec.stages.map((stage): StepStage => ({ stage: stage.id, kind: stage.kind, inputs: [], outputs: [], late: [], outcome: 'idle', error: null, notes: [] }));
    return {
      pipeline: spec.name,
      input: eventView(event),
      source: sourceIds.join(', '),
      stages: operatorsless,
      sinks: spec.sinks.map((sink) => ({ sink: sink.id, kind: sink.kind, records: [] })),
      deadLetters: sourceIds.map((id) => ({ stage: `source:${id}`, error: { name: 'DecodeError', message: event.decodeError! } })),
    };
  }
  const state = options.state ?? new CommittedState();
  const overlay = new StateOverlay(state);
  const tables = new MaterializedTables(
    spec.tables.map((table) => {
      const source = spec.sources.find((candidate) => candidate.id === table.source)!;
      const stream = sourceStream(source);
      return { id: table.id, stream, key: table.key, feed: new LogTableFeed(log, stream, storedToPipelineEvent) };
    }),
  );
  await tables.sync();
  const operators = await buildOperators(spec, options, state);
  const notes = new Map<string, TraceNote[]>();
  try {
    const graph = new StageGraph(spec, operators);
    const controller = new AbortController();
    const result = await graph.run(
      new Map(sourceIds.map((id) => [id, [{ event, origin: { source: id, stream: event.stream, position: event.position, seq: stored.seq }, order: 0, lineage: id } satisfies Envelope]])),
      {
        pipeline: spec.name,
        state: overlay,
        tables,
        now: options.now ?? Date.now,
        retry: { maxAttempts: 1, backoffMs: durationMs(spec.retries.backoff), maxBackoffMs: durationMs(spec.retries.maxBackoff) },
        signal: controller.signal,
        trace: (note) => {
          const list = notes.get(note.stage) ?? [];
          list.push(note);
          notes.set(note.stage, list);
        },
        log: () => undefined,
      },
    );
    const stages: StepStage[] = graph.order.map((stage) => {
      const inputs = stage.inputs.flatMap((input) => result.nodes.get(input) ?? []);
      const outputs = result.nodes.get(stage.id) ?? [];
      const late = result.nodes.get(`${stage.id}.late`) ?? [];
      const failure = result.deadLetters.find((letter) => letter.stage === stage.id);
      let outcome: StepStage['outcome'];
      if (inputs.length === 0) outcome = 'idle';
      else if (failure) outcome = 'error';
      else if (outputs.length === 0) outcome = 'dropped';
      else if (outputs.length > 1 || inputs.length > 1) outcome = 'emitted';
      else outcome = JSON.stringify(outputs[0]!.event.value) === JSON.stringify(inputs[0]!.event.value) && JSON.stringify(outputs[0]!.event.key) === JSON.stringify(inputs[0]!.event.key) ? 'unchanged' : 'changed';
      return {
        stage: stage.id,
        kind: stage.operator.kind,
        inputs: inputs.map((envelope) => eventView(envelope.event)),
        outputs: outputs.map((envelope) => eventView(envelope.event)),
        late: late.map((envelope) => eventView(envelope.event)),
        outcome,
        error: failure ? { ...failure.error } : null,
        notes: (notes.get(stage.id) ?? []).map((note) => ({ kind: note.kind, detail: note.detail as JsonValue })),
      };
    });
    return {
      pipeline: spec.name,
      input: eventView(event),
      source: sourceIds.join(', '),
      stages,
      sinks: spec.sinks.map((sink) => ({ sink: sink.id, kind: sink.kind, records: (result.sinks.get(sink.id) ?? []).map((envelope) => eventView(envelope.event)) })),
      deadLetters: result.deadLetters.map((letter) => ({ stage: letter.stage, error: { ...letter.error } })),
    };
  } finally {
    for (const operator of operators.values()) await operator.close?.().catch(() => undefined);
    await tables.close();
  }
}
