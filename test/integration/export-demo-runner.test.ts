// The promotion path of the README, end to end with the demo workspace and the real broker:
// `eddy export` of the demo's production-shaped pipeline (customer-totals), the demo's captured
// changes replayed into the Debezium topic names with `eddy produce` (standing in for Kafka
// Connect), and the bundle's runner (`node runner.js`) processing them: every order change comes
// out on the sink topic, joined and totalled as in the app's run of the same pipeline.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../shared/events.js';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../main/engine/pipelines/pipeline-test.js';
import { createTopics, removeTestTopics } from '../support/kafka-topics.js';
import { findKafka } from '../support/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const brokers = await findKafka();
const EDDY = path.join(ROOT, 'bin', 'eddy.mjs');

function eddy(args: string[], cwd: string): string {
  const result = spawnSync(process.execPath, [EDDY, ...args], { cwd, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`eddy ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout + result.stderr;
}

describe.runIf(brokers)('the README promotion path with the demo workspace', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'eddy-demo-runner-'));
  const kafka = new Kafka({ clientId: 'eddy-demo-runner-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING });
  // A consumer group and topics of their own, so reruns start clean.
  const suffix = `${process.pid}${Date.now().toString(36)}`;
  let runner: ReturnType<typeof spawn> | undefined;

  afterAll(async () => {
    if (runner && runner.exitCode === null) runner.kill('SIGKILL');
    await removeTestTopics(kafka, suffix, [`eddy-demo-${suffix}`]);
    rmSync(base, { recursive: true, force: true });
  });

  it('exports customer-totals, and its runner processes the demo changes like the app does', { timeout: 300_000 }, async () => {
    const workspace = path.join(base, 'ws');
    cpSync(path.join(ROOT, 'demo'), workspace, { recursive: true });
    // Point the demo pipeline at this run's topics and broker.
    const specFile = path.join(workspace, 'pipelines', 'customer-totals.pipeline.json');
    const specJson = JSON.parse(readFileSync(specFile, 'utf8')) as { sinks: { topic: string }[]; sources: { id: string }[] };
    specJson.sinks[0]!.topic = `shop.customer-totals.${suffix}`;
    const spec = parsePipelineSpec({ ...specJson, name: `demo-${suffix}` });
    writeFileSync(specFile, JSON.stringify({ ...specJson, name: `demo-${suffix}` }, null, 2));
    writeFileSync(path.join(workspace, 'connections', 'local-kafka.json'), JSON.stringify({ id: 'local-kafka', name: 'Local Kafka', kind: 'kafka', brokers }));

    const bundle = path.join(base, 'bundle');
    const exported = eddy(['export', 'pipelines/customer-totals.pipeline.json', '--workspace', workspace, '--out', bundle], workspace);
    expect(exported).not.toContain('warning');
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')) as { inputTopics: { source: string; topic: string }[]; consumerGroup: string };
    expect(manifest.consumerGroup).toBe(`eddy-demo-${suffix}`);

    // Kafka Connect's part, played by `eddy produce`: the captured changes into the Debezium topics.
    const streams: Record<string, string> = { orders: 'sqlserver:shop.dbo.Orders', 'customers-cdc': 'sqlserver:shop.dbo.Customers' };
    for (const { source, topic } of manifest.inputTopics) {
      expect(eddy(['produce', '--brokers', (brokers ?? []).join(','), '--workspace', workspace, '--stream', streams[source]!, '--topic', topic, '--keep-timestamps', '--create-topic'], workspace)).toMatch(/Replayed \d+ event/);
    }

    // The app's run of the same pipeline over the same captured changes.
    const samples = ['samples/shop-customers.jsonl', 'samples/shop-orders.jsonl'].flatMap((file) =>
      readFileSync(path.join(workspace, file), 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as NewEvent),
    );
    const inApp = await runSpecOnFixtures(spec, samples, { loadScript: async (file) => readFileSync(path.join(workspace, file), 'utf8') });
    const expected = (inApp.sinks.get('totals') ?? []).map((row) => JSON.stringify(row.value)).sort();
    expect(expected.length).toBeGreaterThan(100);

    symlinkSync(path.join(ROOT, 'node_modules'), path.join(bundle, 'node_modules'), 'dir');
    runner = spawn(process.execPath, ['runner.js'], {
      cwd: bundle,
      env: { PATH: process.env.PATH, KAFKA_BOOTSTRAP_SERVERS: (brokers ?? []).join(','), SHOP_DB_PASSWORD: 'not-used-by-the-runner', EDDY_RUNNER_PORT: '0', EDDY_RUNNER_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    runner.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));

    const actual: string[] = [];
    await createTopics(kafka, [{ topic: specJson.sinks[0]!.topic, numPartitions: 1 }]);
    const reader = kafka.consumer({ groupId: `eddy-demo-check-${suffix}`, readUncommitted: false });
    await reader.connect();
    await reader.subscribe({ topics: [specJson.sinks[0]!.topic], fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void actual.push(JSON.stringify(JSON.parse(message.value!.toString('utf8')))) });
    try {
      const deadline = Date.now() + 120_000;
      while (actual.length < expected.length && Date.now() < deadline && runner.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 250));
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      await reader.disconnect();
    }
    expect(actual.length, output.join('').slice(-3000)).toBe(expected.length);
    expect(actual.sort()).toEqual(expected);
    runner.kill('SIGTERM');
    expect(await new Promise((resolve) => runner!.once('exit', resolve))).toBe(0);
  });
});
