// The Kafka sink of a pipeline against the real broker: each epoch's records and the sink's
// progress marker commit in one transaction, so after a crash between the sink's commit and the
// engine's checkpoint the re-formed epoch is skipped, and a read_committed consumer sees every
// output exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import type { NewEvent } from '../../shared/events.js';
import { findKafka } from '../support/services.js';
import { buildOperators } from '../../main/engine/pipelines/build.js';
import { FileCheckpointStore } from '../../main/engine/pipelines/checkpoint-store.js';
import { KafkaPipelineSink } from '../../main/engine/pipelines/kafka-bridge.js';
import { PipelineRunner } from '../../main/engine/pipelines/runner.js';
import { InProcessScriptExecutor } from '../../main/engine/pipelines/scripts.js';
import { LogSource } from '../../main/engine/pipelines/sources/log-source.js';
import { MemoryLog } from '../../main/engine/pipelines/sources/log-port.js';
import { MaterializedTables } from '../../main/engine/pipelines/tables.js';
import { CommittedState } from '../../main/engine/pipelines/state.js';
import { MemoryDeadLetters } from '../../main/engine/sinks/log-sink.js';

const brokers = await findKafka();
const topic = `eddy-pipeline-sink-${process.pid}-${Date.now().toString(36)}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-sink-'));

const spec = parsePipelineSpec({
  version: 1,
  name: `kafka-sink-test-${process.pid}`,
  sources: [{ id: 'in', kind: 'log', stream: 'in' }],
  stages: [{ id: 'double', kind: 'transform', inputs: ['in'], script: 'double.js' }],
  sinks: [{ id: 'out', kind: 'kafka', inputs: ['double'], connection: 'test', topic, transactional: true }],
  checkpoint: { interval: '1h', maxRecords: 100 },
});

describe.runIf(brokers)('Kafka sink with transactions and a progress marker', () => {
  const kafka = new Kafka({ clientId: 'eddy-pipeline-sink-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING });
  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect().then(() => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every record exactly once across a crash between the sink commit and the checkpoint', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const log = new MemoryLog();
    const events: NewEvent[] = Array.from({ length: 350 }, (_, index) => ({ stream: 'in', position: `p${index}`, key: `k${index}`, value: { n: index }, eventTime: index, ingestTime: index }));
    await log.append(events);
    const run = async (crashAfterSinksOf?: number): Promise<string> => {
      const checkpoints = new FileCheckpointStore({ dir: path.join(dir, 'checkpoints') });
      const restored = await checkpoints.load();
      const operators = await buildOperators(spec, { executor: new InProcessScriptExecutor(), loadScript: async () => 'export default (event) => ({ value: { n: event.value.n * 2 } });' }, new CommittedState(restored.state));
      const runner = new PipelineRunner({
        spec,
        restored,
        sources: [new LogSource(log, { streams: [{ id: 'in', stream: 'in' }], bounded: true })],
        operators,
        sinks: [new KafkaPipelineSink(spec.sinks[0] as never, kafka, spec.name)],
        tables: new MaterializedTables([]),
        checkpoints,
        deadLetters: new MemoryDeadLetters(),
        bounded: true,
        hooks: {
          afterSinks: (id) => {
            if (id === crashAfterSinksOf) throw new Error('crash after the sink committed');
          },
        },
      });
      return (await runner.run(new AbortController().signal)).state;
    };
    expect(await run(2)).toBe('failed');
    expect(await run()).toBe('completed');

    const consumer = kafka.consumer({ groupId: `eddy-sink-check-${process.pid}-${Date.now()}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} records read`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push((JSON.parse(message.value!.toString()) as { n: number }).n);
          if (seen.length >= 350) {
            clearTimeout(timer);
            setTimeout(resolve, 2000);
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen.length).toBe(350);
    expect(new Set(seen).size).toBe(350);
    expect(seen.slice(0, 5)).toEqual([0, 2, 4, 6, 8]);
  });
});
