// `npm run bench -- kafka`: how fast Eddy captures a topic into the event log, against peers on
// the same topic in the same run (DESIGN.md 7):
//
//   capture_vs_bare_consumer  Eddy's capture (decode + durable log appends) vs a bare kafkajs
//                             eachBatch consumer that only decodes (key, headers, JSON.parse)
//                             with the same fetch sizes. Goal >= 0.5.
//   bare_consumer_vs_kcat     that bare kafkajs consumer vs `kcat -C -e` (librdkafka, C): reported,
//                             it is the speed limit to track.
//
// Debezium-style values of about 450 bytes. Each contender runs twice, alternating, and the better
// run counts (the machines are noisy). `--capture-only [--without-log]` runs just Eddy's capture,
// to profile it (test/bench/README.md). Settings: BENCH_KAFKA_RECORDS (default 200000),
// BENCH_KAFKA_PARTITIONS (default 4), KAFKA_BROKERS (else test/services/.env, else 127.0.0.1:9092).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs';
import { kafkaBrokers, probeKafka } from '../support/services.js';
import { openEventLog, type LogInput } from '../../main/engine/log/index.js';
import { CAPTURE_FETCH_DEFAULTS, planCapture, runCapture } from '../../main/engine/kafka/capture.js';
import { decodeRecord } from '../../main/engine/kafka/decode.js';

const RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 200_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 4);
const brokers = kafkaBrokers() ?? ['127.0.0.1:9092'];

function debeziumValue(index: number): string {
  return JSON.stringify({
    before: index % 3 === 0 ? null : { id: index, name: `Customer ${index}`, email: `c${index}@example.com`, city: 'Lyon', updated_at: 1_767_225_600_000 + index },
    after: { id: index, name: `Customer ${index}`, email: `c${index}@example.com`, city: index % 2 ? 'Paris' : 'Lyon', updated_at: 1_767_225_600_000 + index + 1 },
    source: { version: '2.7.0', connector: 'sqlserver', name: 'shop', ts_ms: 1_767_225_600_000 + index, db: 'shop', schema: 'dbo', table: 'Customers', change_lsn: `0000002a:00000${index}:0002` },
    op: index % 3 === 0 ? 'c' : 'u',
    ts_ms: 1_767_225_600_123 + index,
  });
}

async function produce(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const batch = 5000;
  for (let start = 0; start < RECORDS; start += batch) {
    const messages: Message[] = [];
    for (let index = start; index < Math.min(RECORDS, start + batch); index++) {
      messages.push({ key: `{"id":${index}}`, value: debeziumValue(index), headers: { source: 'bench' } });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** A bare kafkajs eachBatch consumer that decodes every record and nothing else. */
/** Runs `run` and reports the process CPU it took per record (every thread), and the system part. */
async function withCpu<T>(run: () => Promise<T>): Promise<{ result: T; perEvent: number; systemPerEvent: number }> {
  const before = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(before);
  return { result, perEvent: (used.user + used.system) / RECORDS, systemPerEvent: used.system / RECORDS };
}

async function bareConsumer(kafka: Kafka, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `eddy-bench-bare-${randomUUID()}`, ...CAPTURE_FETCH_DEFAULTS });
  let count = 0;
  let sink = 0;
  const started = performance.now();
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const key = message.key?.toString('utf8');
        const value = message.value ? (JSON.parse(message.value.toString('utf8')) as { op: string }) : null;
        const header = message.headers?.source?.toString();
        sink += (key?.length ?? 0) + (value?.op.length ?? 0) + (header?.length ?? 0);
      }
      count += batch.messages.length;
      if (count >= RECORDS) resolveDone();
    },
  });
  await done;
  const elapsed = performance.now() - started;
  await consumer.disconnect();
  if (sink === 0) throw new Error('nothing decoded');
  return (RECORDS * 1000) / elapsed;
}

/**
 * Eddy's capture into a fresh event log (durable appends), from the oldest record to the end.
 * With `withoutLog`, appends are dropped: what the capture costs apart from the log.
 */
async function eddyCapture(kafka: Kafka, topic: string, withoutLog = false): Promise<{ rate: number; peakQueueMb: number; logCount: number; appendMs: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-kafka-'));
  const log = await openEventLog({ dir, backgroundVerifyDelayMs: null });
  const admin = kafka.admin();
  await admin.connect();
  let appendMs = 0;
  try {
    const started = performance.now();
    const stop = { follow: false };
    const plan = await planCapture(admin, [{ topic }], { kind: 'oldest' }, stop);
    // Time during which at least one append is outstanding (several may be in flight at once).
    let outstanding = 0;
    let since = 0;
    const append = async (events: LogInput[]) => {
      if (withoutLog) return { duplicates: 0 };
      if (outstanding++ === 0) since = performance.now();
      try {
        return await log.append(events);
      } finally {
        if (--outstanding === 0) appendMs += performance.now() - since;
      }
    };
    const result = await runCapture({ kafka, plan, stop, append, encoder: log.encoder(), maxEventBytes: 16 * 1024 * 1024, signal: new AbortController().signal, deleteGroups: (groups) => admin.deleteGroups(groups) });
    const elapsed = performance.now() - started;
    if (result.status.captured !== RECORDS) throw new Error(`captured ${result.status.captured} of ${RECORDS}`);
    const logCount = withoutLog ? RECORDS : ((await log.streams()).find((entry) => entry.stream === `kafka:${topic}`)?.count ?? 0);
    return { rate: (RECORDS * 1000) / elapsed, peakQueueMb: result.peakQueuedBytes / 1024 / 1024, logCount, appendMs };
  } finally {
    await admin.disconnect();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kcat reading the topic to its end, printing key and value (counted, then dropped). */
function kcat(topic: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('kcat', ['-b', brokers.join(','), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const elapsed = performance.now() - started;
      if (code !== 0 || lines < RECORDS) reject(new Error(`kcat exited with ${code} after ${lines} lines: ${errors.trim()}`));
      else resolve((RECORDS * 1000) / elapsed);
    });
  });
}

// A sanity check of the decoder's cost alone, outside Kafka (reported, no goal).
function decodeOnly(): number {
  const messages = Array.from({ length: 20_000 }, (_, index) => ({ offset: String(index), timestamp: '1767225600000', key: Buffer.from(`{"id":${index}}`), value: Buffer.from(debeziumValue(index)), headers: { source: Buffer.from('bench') } }));
  const started = performance.now();
  for (let round = 0; round < 5; round++) for (const message of messages) decodeRecord('bench', 0, message, { maxEventBytes: 16 * 1024 * 1024, ingestTime: 0 });
  return (messages.length * 5 * 1000) / (performance.now() - started);
}

const fmt = (value: number): string => Math.round(value).toLocaleString('en');

async function main(): Promise<void> {
  if (!(await probeKafka(brokers))) {
    console.error(`No Kafka broker answers at ${brokers.join(',')}; start one with \`npm run services:up\`.`);
    process.exitCode = 1;
    return;
  }
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const kafka = new Kafka({ clientId: 'eddy-bench', brokers, logLevel: logLevel.NOTHING });
  const topic = `eddy-bench-${randomUUID().slice(0, 8)}`;
  console.error(`Producing ${RECORDS.toLocaleString('en')} Debezium-style records (~${debeziumValue(12345).length} bytes) to ${topic} (${PARTITIONS} partitions)…`);
  await produce(kafka, topic);
  const bare: number[] = [];
  const capture: number[] = [];
  const kcatRates: number[] = [];
  const noLog: number[] = [];
  let peakQueueMb = 0;
  let appendShare = 0;
  let kcatError: string | undefined;
  if (process.argv.includes('--capture-only')) {
    // For profiling the capture alone (BENCH_NODE_ARGS="--cpu-prof ..."): no peers, no metrics.
    try {
      for (let round = 0; round < 2; round++) {
        const { result, perEvent, systemPerEvent } = await withCpu(() => eddyCapture(kafka, topic, process.argv.includes('--without-log')));
        console.log(`capture ${fmt(result.rate)}/s, process CPU ${perEvent.toFixed(1)} µs/event (system ${systemPerEvent.toFixed(1)})`);
      }
    } finally {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
    return;
  }
  // Process CPU (every thread of this process: the log's builder thread included) per event, the
  // lowest seen: on a machine whose cores are shared with the broker, total CPU bounds the rate.
  const cpu = { bare: Infinity, capture: Infinity, noLog: Infinity };
  const measured = async <T>(key: keyof typeof cpu, run: () => Promise<T>): Promise<T> => {
    const { result, perEvent } = await withCpu(run);
    cpu[key] = Math.min(cpu[key], perEvent);
    return result;
  };
  try {
    for (let round = 0; round < 2; round++) {
      bare.push(await measured('bare', () => bareConsumer(kafka, topic)));
      const result = await measured('capture', () => eddyCapture(kafka, topic));
      if (result.logCount !== RECORDS) throw new Error(`the log holds ${result.logCount} events, expected ${RECORDS}`);
      capture.push(result.rate);
      peakQueueMb = Math.max(peakQueueMb, result.peakQueueMb);
      appendShare = Math.max(appendShare, result.appendMs / ((RECORDS * 1000) / result.rate));
      noLog.push((await measured('noLog', () => eddyCapture(kafka, topic, true))).rate);
      try {
        kcatRates.push(await kcat(topic));
      } catch (error) {
        kcatError = error instanceof Error ? error.message : String(error);
      }
      console.error(`round ${round + 1}: bare ${fmt(bare[round]!)}/s, capture ${fmt(capture[round]!)}/s, capture without log ${fmt(noLog[round]!)}/s${kcatRates[round] ? `, kcat ${fmt(kcatRates[round]!)}/s` : ''}`);
    }
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  const bestBare = Math.max(...bare);
  const bestCapture = Math.max(...capture);
  const bestKcat = kcatRates.length > 0 ? Math.max(...kcatRates) : null;
  const bestNoLog = Math.max(...noLog);
  const decoder = decodeOnly();
  const rows = [
    ['contender', 'events/s', 'note'],
    ['Eddy capture into the event log', fmt(bestCapture), `durable appends; peak queue ${peakQueueMb.toFixed(1)} MB; waiting on log.append ${(appendShare * 100).toFixed(0)}% of the time; process CPU ${cpu.capture.toFixed(1)} µs/event`],
    ['Eddy capture, appends dropped', fmt(bestNoLog), `everything but the log: fetch, decode, encode for the log, queue; process CPU ${cpu.noLog.toFixed(1)} µs/event`],
    ['bare kafkajs eachBatch (decode only)', fmt(bestBare), `same fetch sizes; process CPU ${cpu.bare.toFixed(1)} µs/event`],
    ['kcat -C -e', bestKcat === null ? 'n/a' : fmt(bestKcat), bestKcat === null ? (kcatError ?? 'kcat missing') : 'librdkafka, prints key and value'],
    ['Eddy decoder alone (no Kafka, no log)', fmt(decoder), 'reported only'],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  }
  console.log(`records ${RECORDS}, partitions ${PARTITIONS}, brokers ${brokers.join(',')}`);
  const round = (value: number): number => Math.round(value * 100) / 100;
  const metrics: Record<string, unknown>[] = [
    { name: 'capture_vs_bare_consumer', value: Math.round(bestCapture), unit: 'events/s', peer: 'bare kafkajs eachBatch consumer (decode only)', peer_value: Math.round(bestBare), ratio: round(bestCapture / bestBare), goal: '>= 0.5' },
  ];
  metrics.push({ name: 'capture_without_log_vs_bare_consumer', value: Math.round(bestNoLog), unit: 'events/s', peer: 'bare kafkajs eachBatch consumer (decode only)', peer_value: Math.round(bestBare), ratio: round(bestNoLog / bestBare) });
  metrics.push({ name: 'capture_cpu_per_event', value: Math.round(cpu.capture * 10) / 10, unit: 'µs', peer: 'bare kafkajs eachBatch consumer (decode only)', peer_value: Math.round(cpu.bare * 10) / 10, ratio: round(cpu.capture / cpu.bare) });
  if (bestKcat !== null) metrics.push({ name: 'bare_consumer_vs_kcat', value: Math.round(bestBare), unit: 'events/s', peer: 'kcat -C -e', peer_value: Math.round(bestKcat), ratio: round(bestBare / bestKcat) });
  console.log(JSON.stringify({ bench: 'kafka', metrics }));
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
