// Shared by the Kafka integration tests (test/integration/kafka-*.test.ts): a real engine on a
// temporary workspace (real event log), commands called through the contract's dispatcher (so
// requests are validated and defaulted exactly as from the UI), and small topic helpers.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs';
import { EddyError, type CommandName, type Job, type RequestOf, type ResponseOf } from '../../shared/contract.js';
import type { EventPayloadOf, EventStreamName } from '../../shared/contract.js';
import type { StoredEvent } from '../../shared/events.js';
import { dispatch } from '../../main/engine/dispatch.js';
import { createEngine, type Engine } from '../../main/engine/engine.js';
import { answerSecretsCall, SessionSecrets } from '../../main/host/host-secrets.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestEngine {
  engine: Engine;
  workspace: string;
  events: { stream: string; payload: unknown }[];
  call<K extends CommandName>(command: K, request: RequestOf<K>): Promise<ResponseOf<K>>;
  waitJob(id: string, timeoutMs?: number): Promise<Job>;
  readAll(stream: string): Promise<StoredEvent[]>;
  on<K extends EventStreamName>(stream: K, listener: (payload: EventPayloadOf<K>) => void): () => void;
  /** Closes the engine and removes its folders (`keepWorkspace`: all but the workspace, for a next session). */
  close(keepWorkspace?: boolean): Promise<void>;
}

/** An engine on a fresh workspace, or on `workspace` (a second session of the same one). */
export async function startTestEngine(env: NodeJS.ProcessEnv = process.env, workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-ws-'))): Promise<TestEngine> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-data-'));
  const events: { stream: string; payload: unknown }[] = [];
  const secrets = new SessionSecrets(env, 'tests reference environment variables as ${env:NAME}.');
  const listeners = new Set<(stream: string, payload: unknown) => void>();
  const engine = await createEngine(
    { host: 'cli', version: '0.0.0-test', workspace, dataDir, resourcesDir: repoRoot },
    (stream, payload) => {
      events.push({ stream, payload });
      if (events.length > 10_000) events.splice(0, 5000);
      for (const listener of listeners) listener(stream, payload);
    },
    (call) => answerSecretsCall(secrets, call),
  );
  const call = async <K extends CommandName>(command: K, request: RequestOf<K>): Promise<ResponseOf<K>> => {
    const response = await dispatch(engine.handlers, { kind: 'request', id: 1, command, payload: request });
    if (!response) throw new Error('no response');
    if (!response.ok) throw EddyError.from(response.error);
    return response.result as ResponseOf<K>;
  };
  return {
    engine,
    workspace,
    events,
    call,
    async waitJob(id, timeoutMs = 120_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        return await Promise.race([
          engine.context.jobs.wait(id),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`job ${id} did not end within ${timeoutMs} ms: ${JSON.stringify(engine.context.jobs.get(id))}`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async readAll(stream) {
      const all: StoredEvent[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await engine.context.log.read({ stream, direction: 'oldest', limit: 5000, cursor });
        all.push(...page.events);
        if (!page.nextCursor || page.events.length === 0) return all;
        cursor = page.nextCursor;
      }
    },
    on(stream, listener) {
      const wrapped = (name: string, payload: unknown): void => {
        if (name === stream) listener(payload as EventPayloadOf<typeof stream>);
      };
      listeners.add(wrapped);
      return () => listeners.delete(wrapped);
    },
    async close(keepWorkspace = false) {
      await engine.close();
      if (!keepWorkspace) rmSync(workspace, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'eddy-kafka-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

export function uniqueTopic(name: string): string {
  return `eddy-test-${name}-${randomUUID().slice(0, 8)}`;
}

export async function createTopic(kafka: Kafka, topic: string, partitions = 1, configEntries: { name: string; value: string }[] = []): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics, timeout: 10_000 });
  } catch {
    // Best effort: a leftover test topic is harmless.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Produces messages in batches of `batch`, with acks from all replicas. */
export async function produceAll(kafka: Kafka, topic: string, messages: Message[], batch = 5000): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  try {
    for (let index = 0; index < messages.length; index += batch) {
      await producer.send({ topic, acks: -1, messages: messages.slice(index, index + batch) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Reads a whole topic (read_committed unless told otherwise) until `expected` messages or `idleMs` of silence. */
export async function consumeAll(
  kafka: Kafka,
  topic: string,
  options: { readUncommitted?: boolean; expected?: number; idleMs?: number } = {},
): Promise<{ partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; timestamp: string }[]> {
  const consumer = kafka.consumer({ groupId: `eddy-test-reader-${randomUUID()}`, readUncommitted: options.readUncommitted ?? false, maxWaitTimeInMs: 200 });
  const received: { partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; timestamp: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let last = Date.now();
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: message.timestamp });
        last = Date.now();
      },
    });
    const idle = options.idleMs ?? 3000;
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      if (options.expected !== undefined && received.length >= options.expected && Date.now() - last > 500) break;
      if (Date.now() - last > idle && (options.expected === undefined || received.length >= options.expected || Date.now() - started > idle * 3)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  return received;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
