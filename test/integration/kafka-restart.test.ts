// A broker killed (SIGKILL) and restarted in the middle of a 200,000-record capture: the capture
// says so, resumes by itself, and the log ends with every record exactly once.
//
// The broker here is a private one (test/services/kafka.sh on its own ports and run folder), so
// killing it does not disturb other tests using the shared broker.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { probeKafka, requireService } from '../support/services.js';
import { createTopic, produceAll, repoRoot, sleep, startTestEngine, testKafka, uniqueTopic, type TestEngine } from './kafka-helpers.js';

const run = promisify(execFile);
const PORT = Number(process.env.EDDY_TEST_RESTART_KAFKA_PORT ?? 19092);
const runDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-restart-'));
const env = { ...process.env, KAFKA_PORT: String(PORT), KAFKA_CONTROLLER_PORT: String(PORT + 1), KAFKA_RUN_DIR: runDir, KAFKA_START_TIMEOUT: '120' };
const script = path.join(repoRoot, 'test', 'services', 'kafka.sh');
const broker = `127.0.0.1:${PORT}`;

async function startBroker(): Promise<string | undefined> {
  try {
    await run('bash', [script, 'start'], { env, timeout: 180_000 });
    return undefined;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    return (failure.stderr ?? failure.message).trim().split('\n').slice(-3).join(' ');
  }
}

// Starting a private broker needs java and the Kafka jars (fetched by kafka.sh): skip with the
// reason on a laptop without them, fail under CI.
const problem = existsSync(script) ? await startBroker() : 'test/services/kafka.sh is missing';
const available = requireService('kafka', problem === undefined && (await probeKafka([broker], 10_000)), `a private broker on ${broker} could not be started: ${problem ?? 'no answer'}`);

const RECORDS = 200_000;
const PARTITIONS = 4;

describe.runIf(available)('kafka capture across a broker restart', () => {
  const kafka = testKafka([broker]);
  const topic = uniqueTopic('restart');
  let engine: TestEngine;

  beforeAll(async () => {
    engine = await startTestEngine();
    await createTopic(kafka, topic, PARTITIONS);
    const messages: Message[] = [];
    for (let index = 0; index < RECORDS; index++) {
      messages.push({ partition: index % PARTITIONS, key: `order-${index}`, value: JSON.stringify({ index, customer: index % 977, total: (index % 1000) / 10, note: 'x'.repeat(60) }) });
    }
    await produceAll(kafka, topic, messages, 10_000);
  }, 300_000);

  afterAll(async () => {
    await engine?.close();
    await run('bash', [script, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('resumes after SIGKILL and a restart, leaving every record in the log exactly once', async () => {
    const problems: string[] = [];
    engine.on('onProblem', (problem) => problems.push(problem.message));
    const messages = new Set<string>();
    engine.on('onJobProgress', (job) => {
      if (job.message) messages.add(job.message);
    });
    const job = await engine.call('startKafkaCapture', { connection: { brokers: [broker] }, topics: [{ topic }] });

    // Kill the broker once part of the topic is durable in the log.
    let atKill = 0;
    for (let waited = 0; waited < 60_000; waited += 10) {
      const status = await engine.call('getKafkaCaptureStatus', { jobId: job.id }).catch(() => undefined);
      if (status && status.captured >= 20_000) {
        atKill = status.captured;
        break;
      }
      await sleep(10);
    }
    const pid = Number(readFileSync(path.join(runDir, 'kafka.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    expect(atKill).toBeGreaterThanOrEqual(20_000);

    // The capture notices and says so in plain words.
    let reconnecting = false;
    for (let waited = 0; waited < 60_000 && !reconnecting; waited += 200) {
      const status = await engine.call('getKafkaCaptureStatus', { jobId: job.id });
      reconnecting = status.state === 'reconnecting';
      if (!reconnecting) await sleep(200);
    }
    expect(reconnecting).toBe(true);
    const stalled = await engine.call('getKafkaCaptureStatus', { jobId: job.id });
    expect(stalled.captured).toBeLessThan(RECORDS);
    // Job progress is coalesced (at most 10 updates a second): give it a moment.
    for (let waited = 0; waited < 3000 && ![...messages].some((message) => /Broker unreachable, retrying/.test(message)); waited += 100) await sleep(100);
    expect([...messages].some((message) => /Broker unreachable, retrying/.test(message))).toBe(true);

    expect(await startBroker()).toBeUndefined();
    const brokerUp = Date.now();
    let resumedAt = 0;
    for (let waited = 0; waited < 120_000 && !resumedAt; waited += 100) {
      const status = await engine.call('getKafkaCaptureStatus', { jobId: job.id });
      if (status.state !== 'reconnecting') resumedAt = Date.now();
      else await sleep(100);
    }
    // A fresh throwaway group per reconnection: no waiting out the dead member's session.
    expect(resumedAt - brokerUp).toBeLessThan(20_000);
    const done = await engine.waitJob(job.id, 240_000);
    expect(done.state, done.message).toBe('succeeded');
    expect(done.done).toBe(RECORDS);
    const status = await engine.call('getKafkaCaptureStatus', { jobId: job.id });
    expect(status.reconnects).toBeGreaterThanOrEqual(1);
    expect(problems.some((message) => /Lost the connection to the broker/.test(message))).toBe(true);
    expect(problems.some((message) => /Reconnected to the broker/.test(message))).toBe(true);

    // Exactly once: 200,000 distinct positions, each partition's offsets contiguous from 0.
    const stats = (await engine.engine.context.log.streams()).find((entry) => entry.stream === `kafka:${topic}`);
    expect(stats?.count).toBe(RECORDS);
    const counts = await engine.engine.context.log.query(
      `SELECT count(*) FROM events WHERE stream = 'kafka:${topic}'`,
      { maxRows: 10, timeoutMs: 60_000 },
    );
    // The query runs per segment; add the segments' rows up.
    const total = counts.rows.reduce((sum, row) => sum + Number(row[0]), 0);
    expect(total).toBe(RECORDS);
    const events = await engine.readAll(`kafka:${topic}`);
    expect(events).toHaveLength(RECORDS);
    const seen = new Set<number>();
    const offsets = Array.from({ length: PARTITIONS }, () => [] as number[]);
    for (const event of events) {
      const index = (event.value as { index: number }).index;
      expect(seen.has(index)).toBe(false);
      seen.add(index);
      const [, partition, offset] = /\/(\d+)\/(\d+)$/.exec(event.position)!;
      offsets[Number(partition)]!.push(Number(offset));
      expect(event.key).toBe(`order-${index}`);
    }
    expect(seen.size).toBe(RECORDS);
    for (const list of offsets) {
      list.sort((a, b) => a - b);
      expect(list).toHaveLength(RECORDS / PARTITIONS);
      expect(list[0]).toBe(0);
      expect(list[list.length - 1]).toBe(RECORDS / PARTITIONS - 1);
    }
  }, 420_000);
});
