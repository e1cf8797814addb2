// The production runner's core (issue 8 item 2): the app's pipeline stages (the same StageGraph,
// operators and QuickJS sandbox) over Kafka consumer groups, with exactly-once results for
// read_committed readers. The design is Kafka Streams' "exactly once" with one transactional
// producer per task:
//
// - A task is a partition number: partition p of every input topic, and partition p of every
//   changelog topic, which holds the keyed state of the records read from those partitions (inputs
//   must be co-partitioned, as in Kafka Streams). N runner processes in one consumer group spread
//   the tasks between them.
// - Per fetched batch, one Kafka transaction holds the sink records, the dead letters, the batch's
//   state changes (changelog records for partition p) and the consumer offsets. A crash leaves
//   none of it visible; the next owner re-reads the batch from the committed offset.
// - A task's producer has the transactional id `<group>.task-<p>`: whoever takes the task over
//   registers that id first, which fences the previous owner (its later commits fail) and aborts
//   its open transaction, then restores the state from the changelog up to its last stable offset.
// - Keyed sinks outside Kafka (PostgreSQL, SQL Server) are upserts written before the transaction commits:
//   a re-read batch writes the same rows again and changes nothing.
import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import type { JsonValue } from '../shared/events.js';
import { durationMs, sourceStream, type PipelineSpec, type SinkSpec, type SourceSpec } from '../shared/pipeline-spec.js';
import { rawClusterOf, type RawCluster } from '../main/engine/kafka/cluster-access.js';
import type { KafkaRecordLike } from '../main/engine/kafka/decode.js';
import { eventsToSinkMessages, KafkaSink, type SinkMessage } from '../main/engine/kafka/sink.js';
import { buildOperators } from '../main/engine/pipelines/operators.js';
import { StageGraph, type DagDeadLetter } from '../main/engine/pipelines/dag.js';
import type { Envelope, Operator, OperatorContext, RetryPolicy, StateWrite, Tables } from '../main/engine/pipelines/model.js';
import { admitSourceRecord } from '../main/engine/pipelines/runner.js';
import type { ScriptExecutor, ScriptLoader } from '../main/engine/pipelines/scripts.js';
import { CommittedState, StateOverlay } from '../main/engine/pipelines/state.js';
import { MaterializedTables } from '../main/engine/pipelines/tables.js';
import type { Sink, SinkRecord } from '../main/engine/sinks/sink.js';
import { TopicTableFeed } from './topic-tables.js';
import { debeziumKey, sourceEvent } from './decode.js';
import { consumedSources, unsupportedParts } from '../main/engine/export/runner-support.js';

export { consumedSources, debeziumKey, unsupportedParts };

export interface ProductionOptions {
  spec: PipelineSpec;
  kafka: Kafka;
  group: string;
  /** Input topic per source id. */
  inputTopics: { source: string; topic: string }[];
  /** Changelog topic per stateful stage. */
  changelogTopics: { stage: string; topic: string }[];
  deadLetterTopic: string;
  executor: ScriptExecutor;
  loadScript: ScriptLoader;
  /** Keyed sinks outside Kafka, built per task (PostgreSQL upserts, SQL Server MERGE). */
  externalSink?: (spec: SinkSpec, task: number) => Sink;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  sessionTimeoutMs?: number;
  transactionTimeoutMs?: number;
  maxEventBytes?: number;
  /** Tests: called after a task's transaction committed. */
  onCommitted?: (task: number, records: number) => void;
}

export type ProductionState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ProductionMetrics {
  recordsIn: number;
  recordsOut: Map<string, number>;
  deadLetters: number;
  transactions: number;
  abortedTransactions: number;
  restores: number;
  restoredRecords: number;
  rebalances: number;
  lastCommitAt: number;
  commitSeconds: number;
}

/** A changelog record's key: the state namespace and key, as JSON (stable, readable). */
export function changelogKey(write: Pick<StateWrite, 'namespace' | 'key'>): string {
  return JSON.stringify([write.namespace, write.key]);
}

/** Dead letters above this are written without their input's payload (the topic allows 8 MB). */
const MAX_DEAD_LETTER_CHARS = 4 * 1024 * 1024;

class Task {
  state = new CommittedState();
  operators = new Map<string, Operator>();
  graph: StageGraph | undefined;
  externalSinks = new Map<string, Sink>();
  /** Progress id for external sinks: grows with every committed batch of this task. */
  sequence = 0;
  /** Next offset to process per input topic (the committed offset when the task opened). */
  readonly positions = new Map<string, number>();

  constructor(
    readonly partition: number,
    readonly producer: KafkaSink,
  ) {}

  async close(): Promise<void> {
    for (const operator of this.operators.values()) await operator.close?.().catch(() => undefined);
    for (const sink of this.externalSinks.values()) await sink.close().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }
}

export class ProductionRunner {
  readonly metrics: ProductionMetrics = {
    recordsIn: 0,
    recordsOut: new Map(),
    deadLetters: 0,
    transactions: 0,
    abortedTransactions: 0,
    restores: 0,
    restoredRecords: 0,
    rebalances: 0,
    lastCommitAt: 0,
    commitSeconds: 0,
  };
  state: ProductionState = 'starting';
  reason: string | null = null;
  readonly instanceId = randomUUID();
  private consumer: Consumer | undefined;
  private raw: RawCluster | undefined;
  private readonly tasks = new Map<number, Promise<Task>>();
  private assigned = new Map<string, number[]>();
  private memberId: string | undefined;
  private recovering = false;
  private crashedWhileStarting: string | null = null;
  private readonly sourceByTopic = new Map<string, SourceSpec>();
  private tables: Tables | undefined;
  private readonly changelogByNamespace = new Map<string, string>();
  private readonly retry: RetryPolicy;
  private readonly maxEventBytes: number;
  private readonly stop = new AbortController();
  private stopped: Promise<void> | undefined;
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProductionOptions) {
    const { spec } = options;
    const consumed = consumedSources(spec);
    for (const { source, topic } of options.inputTopics) {
      const sourceSpec = consumed.find((candidate) => candidate.id === source);
      if (sourceSpec) this.sourceByTopic.set(topic, sourceSpec);
    }
    for (const { stage, topic } of options.changelogTopics) {
      // The namespaces each stateful operator writes (stages/script.ts, stages/window.ts).
      for (const namespace of [`script:${stage}`, `window:${stage}`, `stage:${stage}`]) this.changelogByNamespace.set(namespace, topic);
    }
    this.maxEventBytes = options.maxEventBytes ?? 16 * 1024 * 1024;
    this.retry = {
      maxAttempts: spec.retries.maxAttempts,
      backoffMs: durationMs(spec.retries.backoff),
      maxBackoffMs: durationMs(spec.retries.maxBackoff),
    };
  }

  get assignment(): Map<string, number[]> {
    return this.assigned;
  }

  get taskCount(): number {
    return this.tasks.size;
  }

  /** Creates missing changelog and dead-letter topics (compacted changelogs, co-partitioned with the inputs). */
  async ensureTopics(): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const inputs = [...this.sourceByTopic.keys()];
      const existing = new Set(await admin.listTopics());
      const tableTopics = this.options.spec.tables.map((table) => this.options.inputTopics.find((entry) => entry.source === table.source)?.topic ?? '');
      const absent = [...new Set([...inputs, ...tableTopics])].filter((topic) => !existing.has(topic));
      if (absent.length > 0) {
        throw new Error(`Input topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} ${absent.length > 1 ? 'do' : 'does'} not exist yet (for Debezium topics: deploy the connectors in connect/ first).`);
      }
      const metadata = await admin.fetchTopicMetadata({ topics: inputs });
      const counts = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
      const partitions = Math.max(1, ...counts.values());
      // A task is a partition number: every input's partition p belongs to it (co-partitioning).
      if (new Set(counts.values()).size > 1) {
        throw new Error(`The input topics have different partition counts (${[...counts].map(([topic, count]) => `${topic}: ${count}`).join(', ')}); the runner needs co-partitioned inputs (the same count, keyed alike).`);
      }
      // State lives with the input partition of the record that wrote it: a stateful stage keyed on
      // anything but the source record's key would split one key's state over partitions.
      const rekeyed = statefulStagesNotOnRecordKey(this.options.spec);
      if (rekeyed.length > 0 && partitions > 1) {
        throw new Error(
          `Stage${rekeyed.length > 1 ? 's' : ''} ${rekeyed.map((stage) => `"${stage}"`).join(', ')} keep${rekeyed.length > 1 ? '' : 's'} state by a field other than the input records' Kafka key, and the inputs have ${partitions} partitions: one key's state would be split between partitions. Use single-partition input topics, or produce the input keyed by that field.`,
        );
      }
      const wanted = [
        ...this.options.changelogTopics.map(({ topic }) => ({ topic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] })),
        // Room for a dead letter that carries a large input.
        { topic: this.options.deadLetterTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] },
      ].filter((entry) => !existing.has(entry.topic));
      if (wanted.length > 0) {
        await admin.createTopics({ topics: wanted, waitForLeaders: true }).catch((error: unknown) => {
          if (!/already exists/i.test((error as Error).message)) throw error;
        });
      }
      for (const { topic } of this.options.changelogTopics) {
        if (!existing.has(topic)) continue;
        const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        if (meta && meta.partitions.length < partitions) {
          throw new Error(`Changelog topic ${topic} has ${meta.partitions.length} partitions but the inputs have ${partitions}; state could not follow its records.`);
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  async start(): Promise<void> {
    const problems = unsupportedParts(this.options.spec, this.options.inputTopics);
    if (problems.length > 0) throw new Error(`This pipeline cannot run in the production runner: ${problems.join('; ')}.`);
    await this.ensureTopics();
    this.raw = rawClusterOf(this.options.kafka);
    if (!this.raw) throw new Error('This kafkajs version does not expose the fetch API the state restore needs (kafkajs 2.2.4 is pinned).');
    const raw = this.raw;
    // Lookup tables: every process reads each table's whole topic (global tables).
    this.tables = new MaterializedTables(
      this.options.spec.tables.map((table) => {
        const source = this.options.spec.sources.find((candidate) => candidate.id === table.source)!;
        const topic = this.options.inputTopics.find((entry) => entry.source === source.id)!.topic;
        const feed = new TopicTableFeed(raw, topic, source, this.maxEventBytes);
        return { id: table.id, stream: sourceStream(source), key: table.key, feed };
      }),
    );
    await this.tables.sync();
    if (this.tables.stats().length > 0) this.options.log('info', `Tables loaded: ${this.tables.stats().map((entry) => `${entry.table} (${entry.keys} keys, ${entry.versions} versions)`).join(', ')}.`);
    await this.startConsumer();
    this.state = 'running';
    this.options.log('info', `Running pipeline ${this.options.spec.name} in consumer group ${this.options.group} (instance ${this.instanceId}).`);
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.options.kafka.consumer({
      groupId: this.options.group,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.max(500, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 10)),
      rebalanceTimeout: 60_000,
      partitionAssigners: [coPartitionedAssigner],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onJoin(event.payload.memberId, event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error;
      if (event.payload.restart) this.options.log('warn', `Consumer restarting after: ${error.message}`);
      else if (this.recovering && this.consumer === consumer) this.crashedWhileStarting = error.message;
      else void this.recover(consumer, error.message);
    });
    await consumer.connect();
    const startFrom = new Map<string, boolean>();
    for (const [topic, source] of this.sourceByTopic) startFrom.set(topic, source.kind !== 'kafka' || source.startFrom !== 'latest');
    for (const [topic, fromBeginning] of startFrom) await consumer.subscribe({ topics: [topic], fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.isEmpty()) return;
        const run = this.processBatch(batch.topic, batch.partition, batch.messages, batch.lastOffset(), heartbeat);
        this.busy = run.catch(() => undefined);
        await run;
        resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
  }

  /**
   * kafkajs gives up on some errors for good (the group coordinator unreachable after its retries,
   * as while a broker restarts): start a new consumer, with backoff, until one runs. Tasks are
   * dropped first, so every partition is restored from its changelog and read from its committed
   * offset; the health endpoint says "starting" meanwhile.
   */
  private async recover(crashed: Consumer, reason: string): Promise<void> {
    if (this.recovering || this.stop.signal.aborted || this.consumer !== crashed) return;
    this.recovering = true;
    this.state = 'starting';
    this.reason = `recovering: ${reason}`;
    this.options.log('warn', `The consumer stopped (${reason}); starting a new one.`);
    try {
      await crashed.disconnect().catch(() => undefined);
      for (let attempt = 1; !this.stop.signal.aborted; attempt++) {
        for (const [partition, task] of this.tasks) {
          this.tasks.delete(partition);
          await task.then((opened) => opened.close()).catch(() => undefined);
        }
        this.memberId = undefined;
        this.crashedWhileStarting = null;
        try {
          await this.startConsumer();
          // kafkajs reports a failed first join as a crash while run() still resolves.
          await new Promise((resolve) => setTimeout(resolve, 500));
          if (this.crashedWhileStarting !== null) throw new Error(this.crashedWhileStarting);
          this.state = 'running';
          this.reason = null;
          this.options.log('info', `Consumer running again (attempt ${attempt}).`);
          return;
        } catch (error) {
          this.options.log('warn', `Could not start a new consumer (attempt ${attempt}): ${(error as Error).message}`);
          await this.consumer?.disconnect().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5))));
        }
      }
    } finally {
      this.recovering = false;
      // A crash that came after the check above: recover again rather than lose it.
      const late = this.crashedWhileStarting;
      this.crashedWhileStarting = null;
      if (late !== null && this.consumer && !this.stop.signal.aborted) void this.recover(this.consumer, late);
    }
  }

  private onJoin(memberId: string, memberAssignment: Record<string, number[]>): void {
    this.metrics.rebalances++;
    const previous = this.memberId;
    this.memberId = memberId;
    this.assigned = new Map(Object.entries(memberAssignment).map(([topic, partitions]) => [topic, [...partitions].sort((a, b) => a - b)]));
    const keep = new Set<number>();
    // Kept only while this is the same member: a new member id means it was out of the group
    // while others may have processed (and changed the state of) its old partitions. (Fencing by
    // transactional id catches that too: a stale task's next commit fails and it is restored.)
    if (memberId === previous) for (const partitions of this.assigned.values()) for (const partition of partitions) keep.add(partition);
    for (const [partition, task] of this.tasks) {
      if (keep.has(partition)) continue;
      this.tasks.delete(partition);
      void task.then((opened) => opened.close()).catch(() => undefined);
    }
    this.options.log('info', `Joined the group: assigned ${[...this.assigned].map(([topic, partitions]) => `${topic}[${partitions.join(',')}]`).join(' ') || 'nothing'}.`);
  }

  private task(partition: number, heartbeat: () => Promise<void>): Promise<Task> {
    let task = this.tasks.get(partition);
    if (!task) {
      task = this.openTask(partition, heartbeat);
      this.tasks.set(partition, task);
      task.catch(() => this.tasks.delete(partition));
    }
    return task;
  }

  private async openTask(partition: number, heartbeat: () => Promise<void>): Promise<Task> {
    const started = Date.now();
    const producer = new KafkaSink(this.options.kafka, {
      topic: this.options.deadLetterTopic,
      mode: 'transactional',
      transactionalId: `${this.options.group}.task-${partition}`,
      transactionTimeoutMs: this.options.transactionTimeoutMs ?? 60_000,
    });
    const task = new Task(partition, producer);
    try {
      await producer.open();
      // Fence the previous owner and abort its open transaction before reading the changelog.
      await producer.fence();
      // Where this task really is: the group's committed offsets, read after the fence (a previous
      // owner may have committed after kafkajs fetched the offsets this member started from).
      // Records below them are already in the restored state and in the sinks: skipped.
      const admin = this.options.kafka.admin();
      await admin.connect();
      try {
        for (const topic of this.sourceByTopic.keys()) {
          const [entry] = await admin.fetchOffsets({ groupId: this.options.group, topics: [topic] });
          const committed = entry?.partitions.find((candidate) => candidate.partition === partition);
          if (committed && Number(committed.offset) >= 0) task.positions.set(topic, Number(committed.offset));
        }
      } finally {
        await admin.disconnect();
      }
      let restored = 0;
      let beat = Date.now();
      const writes: StateWrite[] = [];
      for (const { topic } of this.options.changelogTopics) {
        restored += await this.raw!.readCommitted(
          topic,
          partition,
          (records) => {
            for (const record of records) {
              if (!record.key) continue;
              const [namespace, key] = JSON.parse(record.key.toString('utf8')) as [string, string];
              writes.push({ namespace, key, value: record.value === null ? null : (JSON.parse(record.value.toString('utf8')) as JsonValue) });
            }
            // A long restore must not get this member thrown out of the group.
            if (Date.now() - beat > 2000) {
              beat = Date.now();
              return heartbeat();
            }
          },
          this.stop.signal,
        );
      }
      task.state.apply(writes);
      task.operators = await buildOperators(this.options.spec, { executor: this.options.executor, loadScript: this.options.loadScript }, task.state);
      task.graph = new StageGraph(this.options.spec, task.operators);
      for (const sink of this.options.spec.sinks) {
        if (sink.kind !== 'postgres' && sink.kind !== 'sqlserver') continue;
        const external = this.options.externalSink?.(sink, partition);
        if (!external) throw new Error(`Sink "${sink.id}": no ${sink.kind} connection available.`);
        // A lineage of its own per opening: the rows are keyed upserts (a batch read again writes the
        // same rows), so progress written by a previous owner must never make this one skip a batch.
        task.sequence = Math.max(task.sequence, await external.open({ pipeline: this.options.spec.name, runId: `${this.options.group}.task-${partition}.${randomUUID()}` }));
        task.externalSinks.set(sink.id, external);
      }
      this.metrics.restores++;
      this.metrics.restoredRecords += restored;
      this.options.log('info', `Task ${partition}: restored ${task.state.size()} state entries from ${restored} changelog records in ${Date.now() - started} ms.`);
      return task;
    } catch (error) {
      await task.close();
      throw error;
    }
  }

  private async processBatch(
    topic: string,
    partition: number,
    messages: KafkaRecordLike[],
    lastOffset: string,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const opening = this.task(partition, heartbeat);
    const task = await opening;
    // Records a previous owner already committed (see openTask) are not processed again.
    const position = task.positions.get(topic) ?? 0;
    const fresh = Number(messages[0]?.offset ?? 0) >= position ? messages : messages.filter((message) => Number(message.offset) >= position);
    if (fresh.length === 0) return;
    try {
      await this.runBatch(task, topic, partition, fresh, lastOffset, heartbeat);
    } catch (error) {
      // Whatever the cause (fenced, broker gone, a sink down), this task's in-memory state may be
      // ahead of what committed: drop it; the batch is read again and the task restored.
      this.metrics.abortedTransactions++;
      // Only this task: a rebalance may already have replaced (and closed) it.
      if (this.tasks.get(partition) === opening) {
        this.tasks.delete(partition);
        await task.close();
      }
      throw error;
    }
  }

  private async runBatch(
    task: Task,
    topic: string,
    partition: number,
    messages: KafkaRecordLike[],
    lastOffset: string,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const { spec } = this.options;
    const overlay = new StateOverlay(task.state);
    // Tables catch up with their topics before each batch, as the app's do with the log.
    const tables = this.tables!;
    if (tables.stats().length > 0) await tables.sync();
    const context: OperatorContext = {
      pipeline: spec.name,
      state: overlay,
      tables,
      now: Date.now,
      retry: this.retry,
      signal: this.stop.signal,
      log: (level, message) => this.options.log(level, message),
    };
    const chunk = new Map<string, Envelope[]>();
    const letters: DagDeadLetter[] = [];
    const source = this.sourceByTopic.get(topic)!;
    messages.forEach((message, order) => {
      const event = sourceEvent(source, topic, partition, message, this.maxEventBytes);
      admitSourceRecord({ event, origin: { source: source.id, stream: event.stream, position: event.position }, order, lineage: source.id }, chunk, letters);
    });
    const result = await task.graph!.run(chunk, context);
    letters.push(...result.deadLetters);
    // Still a member (a slow batch with retries may take a while)? A rebalance error here ends the
    // batch without committing; the new owner reads it again.
    await heartbeat();

    const outgoing: SinkMessage[] = [];
    const sequence = task.sequence + 1;
    for (const sink of spec.sinks) {
      const records: SinkRecord[] = result.sinks.get(sink.id) ?? [];
      if (records.length === 0) continue;
      if (sink.kind === 'kafka') {
        const { messages: converted, skipped } = eventsToSinkMessages(records.map((record) => record.event));
        for (const message of converted) outgoing.push({ ...message, topic: sink.topic });
        for (const skip of skipped) {
          const record = records.find((candidate) => candidate.event.position === skip.position) ?? records[0]!;
          letters.push({ stage: sink.id, envelope: { ...record, order: 0 }, error: { name: 'SinkRejected', message: skip.reason }, attempts: 1 });
        }
      } else if (sink.kind === 'postgres' || sink.kind === 'sqlserver') {
        const external = task.externalSinks.get(sink.id)!;
        const committed = await external.commit(sequence, records);
        for (const { index, message } of committed.rejected) letters.push({ stage: sink.id, envelope: { ...records[index]!, order: 0 }, error: { name: 'SinkRejected', message }, attempts: 1 });
      }
      this.metrics.recordsOut.set(sink.id, (this.metrics.recordsOut.get(sink.id) ?? 0) + records.length);
    }
    const at = Date.now();
    for (const letter of letters) {
      const body = { pipeline: spec.name, stage: letter.stage, error: letter.error, attempts: letter.attempts, origin: letter.envelope.origin, lineage: letter.envelope.lineage, input: letter.envelope.event as unknown, at };
      let value = JSON.stringify(body);
      if (value.length > MAX_DEAD_LETTER_CHARS) {
        // Too big for the dead-letter topic: keep where it came from and why, not the payload
        // (it is still in the input topic at its position).
        const { value: _value, valueBytes: _bytes, ...rest } = letter.envelope.event;
        value = JSON.stringify({ ...body, input: { ...rest, value: null, omitted: `the input (${value.length} characters of JSON) is too big for a dead letter; read it at ${letter.envelope.origin.position}` } });
      }
      outgoing.push({
        topic: this.options.deadLetterTopic,
        key: `${letter.envelope.origin.stream}@${letter.envelope.origin.position}`,
        value,
        headers: { 'eddy-stage': letter.stage, 'eddy-error': letter.error.message.slice(0, 500) },
      });
    }
    const writes = overlay.writes();
    for (const write of writes) {
      const changelog = this.changelogByNamespace.get(write.namespace);
      if (!changelog) throw new Error(`State namespace ${write.namespace} belongs to no changelog topic.`);
      outgoing.push({ topic: changelog, partition, key: changelogKey(write), value: write.value === null ? null : JSON.stringify(write.value) });
    }
    const commitStarted = Date.now();
    await task.producer.writeTransaction(outgoing, {
      groupId: this.options.group,
      topics: [{ topic, partitions: [{ partition, offset: String(Number(lastOffset) + 1) }] }],
    });
    task.state.apply(writes);
    task.sequence = sequence;
    task.positions.set(topic, Number(lastOffset) + 1);
    this.metrics.recordsIn += messages.length;
    this.metrics.deadLetters += letters.length;
    this.metrics.transactions++;
    this.metrics.lastCommitAt = Date.now();
    this.metrics.commitSeconds += (Date.now() - commitStarted) / 1000;
    try {
      this.options.onCommitted?.(partition, messages.length);
    } catch {
      // A hook's failure must not make a committed batch count as failed.
    }
  }

  /** Graceful stop (SIGTERM): finishes and commits the batch in hand, leaves the group, closes. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.state !== 'failed') this.state = 'stopping';
      // The batch in hand finishes and commits; one stuck on a dead broker is given 30 s.
      await Promise.race([this.busy, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
      this.stop.abort();
      await this.consumer?.disconnect().catch(() => undefined);
      for (const task of this.tasks.values()) await task.then((opened) => opened.close()).catch(() => undefined);
      this.tasks.clear();
      await this.options.executor.close?.().catch(() => undefined);
      await this.tables?.close().catch(() => undefined);
      await this.raw?.disconnect();
      if (this.state !== 'failed') this.state = 'stopped';
    })();
    return this.stopped;
  }
}

/**
 * Stateful stages (keyed scripts, windows) whose state is not keyed by the Kafka key of the records
 * a source delivered: keyed on another field, or fed through a stage that may re-key.
 */
export function statefulStagesNotOnRecordKey(spec: PipelineSpec): string[] {
  const sources = new Set(spec.sources.map((source) => source.id));
  return spec.stages
    .filter((stage) => stage.kind === 'keyed' || stage.kind === 'window')
    .filter((stage) => (stage as { key?: string }).key !== 'key' || stage.inputs.some((input) => !sources.has(input)))
    .map((stage) => stage.id);
}

/**
 * Deals partition numbers (tasks) to the group's members: a member gets partition p of every input
 * topic, so one task's records and its changelog partition always have one owner. (kafkajs' default
 * round-robin deals topic-partitions one by one, which splits a task between members.)
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'EddyCoPartitioned',
  version: 0,
  async assign({ members, topics }) {
    const sorted = members.map(({ memberId }) => memberId).sort();
    const count = Math.max(0, ...topics.map((topic) => cluster.findTopicPartitionMetadata(topic).length));
    const assignment = new Map<string, Record<string, number[]>>(sorted.map((memberId) => [memberId, {}]));
    for (let partition = 0; partition < count; partition++) {
      const owner = assignment.get(sorted[partition % sorted.length]!)!;
      for (const topic of topics) {
        if (!cluster.findTopicPartitionMetadata(topic).some((meta) => meta.partitionId === partition)) continue;
        (owner[topic] ??= []).push(partition);
      }
    }
    return [...assignment].map(([memberId, topicPartitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topicPartitions, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'EddyCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});

/** Prometheus text exposition of the runner's metrics. */
export function prometheusText(runner: ProductionRunner, pipeline: string): string {
  const label = `pipeline="${pipeline.replace(/["\\\n]/g, '_')}"`;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, values: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of values) lines.push(`${name}{${label}${labels}} ${value}`);
  };
  const m = runner.metrics;
  metric('eddy_runner_records_in_total', 'counter', 'Input records committed.', [['', m.recordsIn]]);
  metric(
    'eddy_runner_records_out_total',
    'counter',
    'Records written per sink.',
    [...m.recordsOut].map(([sink, value]) => [`,sink="${sink}"`, value]),
  );
  metric('eddy_runner_dead_letters_total', 'counter', 'Records sent to the dead-letter topic.', [['', m.deadLetters]]);
  metric('eddy_runner_transactions_total', 'counter', 'Committed Kafka transactions.', [['', m.transactions]]);
  metric('eddy_runner_failed_batches_total', 'counter', 'Batches whose transaction was aborted (read again).', [['', m.abortedTransactions]]);
  metric('eddy_runner_state_restores_total', 'counter', 'Tasks whose state was restored from the changelog.', [['', m.restores]]);
  metric('eddy_runner_restored_records_total', 'counter', 'Changelog records read by restores.', [['', m.restoredRecords]]);
  metric('eddy_runner_rebalances_total', 'counter', 'Consumer group generations joined.', [['', m.rebalances]]);
  metric('eddy_runner_commit_seconds_total', 'counter', 'Time spent committing transactions.', [['', Number(m.commitSeconds.toFixed(3))]]);
  metric('eddy_runner_last_commit_timestamp_seconds', 'gauge', 'When the last transaction committed.', [['', Math.floor(m.lastCommitAt / 1000)]]);
  metric('eddy_runner_tasks', 'gauge', 'Tasks (partitions) open in this process.', [['', runner.taskCount]]);
  metric('eddy_runner_up', 'gauge', '1 while the runner is running.', [['', runner.state === 'running' ? 1 : 0]]);
  return lines.join('\n') + '\n';
}
