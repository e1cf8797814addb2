#!/usr/bin/env node
// One-shot readiness probes for the test services, used by the shell scripts beside this file.
// An open port is not enough: a Kafka broker accepts TCP well before it answers metadata
// requests, so the probe speaks the same client protocol the tests use (kafkajs, pg).
//
//   node probe.mjs kafka 127.0.0.1:9092[,host:port]   exit 0 when a metadata request succeeds
//   node probe.mjs kafka-warm 127.0.0.1:9092           create the consumer offsets topic now
//   node probe.mjs pg postgres://user@host:port/db    exit 0 when SELECT 1 succeeds; prints wal_level
//
// Exit 1 on failure with the reason on stderr; never waits longer than about 5 s (30 s to warm).

const [kind, target] = process.argv.slice(2);
function withDeadline(promise, what, deadlineMs = 5000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function probeKafka(brokers) {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'eddy-service-probe',
    brokers: brokers
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    connectionTimeout: 1500,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await withDeadline(
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.controller === null || cluster.controller === undefined || cluster.controller < 0) {
          throw new Error('broker answered but reports no active controller yet');
        }
        await admin.listTopics();
      })(),
      `kafka ${brokers}`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// A fresh broker creates __consumer_offsets on the first coordinator lookup and answers
// "coordinator not available" meanwhile, which kafkajs logs as an ERROR in whichever test joins
// a group first. Doing that lookup once, here, keeps test output clean and timings even.
async function warmKafka(brokers) {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    clientId: 'eddy-service-warmup',
    brokers: brokers
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await withDeadline(
      (async () => {
        await admin.connect();
        await admin.describeGroups(['eddy-service-warmup']);
      })(),
      `warming kafka ${brokers}`,
      30_000,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probePostgres(url) {
  const { Client } = await import('pg');
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 3000,
  });
  try {
    await withDeadline(
      (async () => {
        await client.connect();
        const result = await client.query('SHOW wal_level');
        process.stdout.write(`${result.rows[0].wal_level}\n`);
      })(),
      `postgres ${url}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

try {
  if (kind === 'kafka' && target) await probeKafka(target);
  else if (kind === 'kafka-warm' && target) await warmKafka(target);
  else if (kind === 'pg' && target) await probePostgres(target);
  else {
    process.stderr.write('usage: probe.mjs kafka|kafka-warm <host:port[,...]> | pg <postgres-url>\n');
    process.exit(2);
  }
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
