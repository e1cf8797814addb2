// From a pipeline spec to the runner's parts: the log source over every input stream, tables
// materialized from their CDC streams, one operator per stage, one sink per sink (or, in a dry
// run, a shadow table in the local warehouse per sink), the dead-letter stream, and where a
// replay starts emitting. Connections, scripts and the warehouse come from the environment, so
// the same builder serves the app, `eddy run`, pipeline tests and step-through.
import type pg from 'pg';
import type { ReplayFrom } from '../../../shared/contracts/pipelines.js';
import { deadLetterStream, sourceStream, type PipelineSpec, type SinkSpec, type SourceSpec } from '../../../shared/pipeline-spec.js';
import type { SqlExecutor } from '../cdc/sqlserver/executor.js';
import { LogDeadLetters, LogSink, NullSink } from '../sinks/log-sink.js';
import { PostgresSink } from '../sinks/postgres-sink.js';
import type { Sink } from '../sinks/sink.js';
import { SqlServerSink } from '../sinks/sqlserver-sink.js';
import { type Warehouse, WarehouseSink, warehouseName } from '../sinks/warehouse.js';
import type { CheckpointStore, DeadLetter, Origin, Source } from './model.js';
import type { DeadLetterSink, RunnerOptions } from './runner.js';
import { buildOperators } from './operators.js';
import type { ScriptExecutor, ScriptLoader } from './scripts.js';

export { buildOperators };
import { LogSource, storedToPipelineEvent } from './sources/log-source.js';
import type { LogPort } from './sources/log-port.js';
import { LogTableFeed, MaterializedTables } from './tables.js';
import type { CommittedState } from './state.js';

export interface BuildEnvironment {
  log: LogPort;
  loadScript: ScriptLoader;
  executor: ScriptExecutor;
  warehouse: () => Promise<Warehouse>;
  connectPostgres?: (connection: string) => Promise<pg.Client>;
  connectSqlServer?: (connection: string) => Promise<SqlExecutor>;
  kafkaSink?: (spec: Extract<SinkSpec, { kind: 'kafka' }>, pipeline: string) => Promise<Sink>;
}

export interface BuildOptions {
  spec: PipelineSpec;
  mode: 'live' | 'replay' | 'test';
  replay?: ReplayFrom | undefined;
  dryRun: boolean;
  /** Replays: keep following the log once caught up. */
  follow?: boolean;
  checkpoints: CheckpointStore;
  /** Where state comes from for script sessions (restored before the runner starts). */
  initialState?: () => Promise<CommittedState | undefined>;
  clock?: () => number;
}

export interface BuiltPipeline {
  runner: Omit<RunnerOptions, 'onState' | 'onCheckpoint' | 'log' | 'hooks'>;
  /** Dry runs: sink id -> warehouse table. */
  shadowTables: Record<string, string>;
  /** Replays: the first seq whose outputs are written (earlier records only build state). */
  emitFromSeq: number | null;
  sourceSpecs: SourceSpec[];
  warehouse: Warehouse | undefined;
  close(): Promise<void>;
}

/** Sources whose records flow into stages or sinks (a source only feeding a table is not read as input). */
export function inputSources(spec: PipelineSpec): SourceSpec[] {
  const used = new Set<string>();
  for (const node of [...spec.stages, ...spec.sinks]) for (const input of node.inputs) used.add(input);
  return spec.sources.filter((source) => used.has(source.id));
}

export function isStateful(spec: PipelineSpec): boolean {
  return spec.stages.some((stage) => stage.kind === 'keyed' || stage.kind === 'window');
}

export function shadowTableName(pipeline: string, sink: string): string {
  return warehouseName('dryrun', pipeline, sink);
}

/** Where a replay starts writing outputs: a log seq. */
export async function resolveReplayStart(log: LogPort, streams: string[], replay: ReplayFrom): Promise<number> {
  if (replay.from === 'beginning') return 1;
  if (replay.from === 'offset') return replay.seq;
  const iterator = log.replay({ streams, from: { eventTime: replay.time }, batchSize: 1 });
  try {
    const first = await iterator.next();
    return first.done || first.value.length === 0 ? log.lastSeq + 1 : first.value[0]!.seq;
  } finally {
    await iterator.return?.();
  }
}

class WarehouseDeadLetters implements DeadLetterSink {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly table: string,
  ) {}

  async write(letters: DeadLetter[]): Promise<void> {
    await this.warehouse.commit((db) => {
      this.warehouse.ensureTable(this.table, ['_id'], ['stage', 'error', 'attempts', 'origin_stream', 'origin_position', 'input', 'at']);
      for (const letter of letters) {
        this.warehouse.upsert(db, this.table, ['_id'], {
          _id: `${letter.stage}/${letter.origin.stream}@${letter.origin.position}/${letter.lineage ?? ''}`,
          stage: letter.stage,
          error: `${letter.error.name}: ${letter.error.message}`,
          attempts: letter.attempts,
          origin_stream: letter.origin.stream,
          origin_position: letter.origin.position,
          input: letter.input.value,
          at: letter.at,
        });
      }
    });
  }
}

export async function buildPipeline(options: BuildOptions, environment: BuildEnvironment): Promise<BuiltPipeline> {
  const { spec } = options;
  const log = environment.log;
  const inputs = inputSources(spec);
  const streams = inputs.map((source) => ({ id: source.id, stream: sourceStream(source) }));
  const opened: { close(): Promise<void> }[] = [];
  let warehouse: Warehouse | undefined;
  const useWarehouse = async (): Promise<Warehouse> => {
    if (!warehouse) {
      warehouse = await environment.warehouse();
      opened.push(warehouse);
    }
    return warehouse;
  };
  try {
    // Where reading starts and which records write outputs.
    let startAfterSeq = 0;
    let emitFromSeq: number | null = null;
    let bounded = options.mode !== 'live';
    if (options.mode === 'replay') {
      const replay = options.replay ?? { from: 'beginning' };
      const start = await resolveReplayStart(
        log,
        streams.map((entry) => entry.stream),
        replay,
      );
      emitFromSeq = start;
      // Stateful stages must see what came before, or their state (totals, windows) would differ.
      startAfterSeq = isStateful(spec) ? 0 : Math.max(0, start - 1);
      bounded = !options.follow;
    } else if (options.mode === 'live' && inputs.some((source) => source.kind === 'kafka' && source.startFrom === 'latest')) {
      startAfterSeq = log.lastSeq;
    }
    const source: Source = new LogSource(log, { streams, startAfterSeq, bounded });
    const tables = new MaterializedTables(
      spec.tables.map((table) => {
        const tableSource = spec.sources.find((candidate) => candidate.id === table.source)!;
        const stream = sourceStream(tableSource);
        return { id: table.id, stream, key: table.key, feed: new LogTableFeed(log, stream, storedToPipelineEvent) };
      }),
    );
    const state = await options.initialState?.();
    const operators = await buildOperators(spec, environment, state);
    // From here the runner owns the operators; close them ourselves only if building fails.
    const closeOperators = { close: async () => void (await Promise.all([...operators.values()].map((operator) => operator.close?.()))) };
    opened.push(closeOperators);

    const sinks: Sink[] = [];
    const shadowTables: Record<string, string> = {};
    for (const sinkSpec of spec.sinks) {
      if (options.dryRun) {
        const table = shadowTableName(spec.name, sinkSpec.id);
        shadowTables[sinkSpec.id] = table;
        const keyed = sinkSpec.kind === 'postgres' || sinkSpec.kind === 'sqlserver' || sinkSpec.kind === 'warehouse';
        sinks.push(
          new WarehouseSink({
            id: sinkSpec.id,
            table,
            mode: keyed ? 'table' : 'records',
            shape: keyed ? { key: sinkSpec.key, columns: sinkSpec.columns } : undefined,
            warehouse: await useWarehouse(),
            progressName: table,
          }),
        );
        continue;
      }
      switch (sinkSpec.kind) {
        case 'log':
          sinks.push(new LogSink(sinkSpec.id, sinkSpec.stream, log));
          break;
        case 'null':
          sinks.push(new NullSink(sinkSpec.id));
          break;
        case 'warehouse':
          sinks.push(new WarehouseSink({ id: sinkSpec.id, table: sinkSpec.table, mode: 'table', shape: { key: sinkSpec.key, columns: sinkSpec.columns }, warehouse: await useWarehouse() }));
          break;
        case 'postgres': {
          const connect = environment.connectPostgres;
          if (!connect) throw new Error(`Sink "${sinkSpec.id}": PostgreSQL connections are not available here.`);
          sinks.push(new PostgresSink({ id: sinkSpec.id, table: sinkSpec.table, key: sinkSpec.key, columns: sinkSpec.columns, connect: () => connect(sinkSpec.connection) }));
          break;
        }
        case 'sqlserver': {
          const connect = environment.connectSqlServer;
          if (!connect) throw new Error(`Sink "${sinkSpec.id}": SQL Server connections are not available here.`);
          sinks.push(new SqlServerSink({ id: sinkSpec.id, table: sinkSpec.table, key: sinkSpec.key, columns: sinkSpec.columns, connect: () => connect(sinkSpec.connection) }));
          break;
        }
        case 'kafka': {
          if (!environment.kafkaSink) throw new Error(`Sink "${sinkSpec.id}": Kafka is not available here.`);
          sinks.push(await environment.kafkaSink(sinkSpec, spec.name));
          break;
        }
      }
    }
    let deadLetters: DeadLetterSink = new LogDeadLetters(deadLetterStream(spec), log);
    if (options.dryRun) {
      // A dry run starts from clean shadow tables, dead letters included.
      shadowTables['dead-letters'] = shadowTableName(spec.name, '_dead_letters');
      for (const table of Object.values(shadowTables)) await (await useWarehouse()).dropTable(table);
      deadLetters = new WarehouseDeadLetters(await useWarehouse(), shadowTables['dead-letters']);
    }

    const emitFrom = emitFromSeq !== null && emitFromSeq > 1 ? (origin: Origin) => (origin.seq ?? Infinity) >= emitFromSeq! : undefined;
    return {
      runner: {
        spec,
        sources: [source],
        operators,
        sinks,
        tables,
        checkpoints: options.checkpoints,
        deadLetters,
        bounded,
        emitFrom,
        clock: options.clock,
      },
      shadowTables,
      emitFromSeq,
      sourceSpecs: inputs,
      warehouse,
      async close() {
        for (const item of opened.reverse()) if (item !== closeOperators) await item.close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const item of opened.reverse()) await item.close().catch(() => undefined);
    throw error;
  }
}
