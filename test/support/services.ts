// Where integration tests find their real services (Kafka, PostgreSQL), and what happens when
// one is missing: on a developer's machine the suite is skipped with a one-line reason; under
// CI the suite fails, because CI must never pass by skipping (DESIGN.md section 7).
//
// Addresses come from the environment (KAFKA_BROKERS, PG_URL) or, failing that, from
// test/services/.env, which `npm run services:up` writes.
//
// Typical use in a test file:
//   const brokers = await findKafka();
//   describe.runIf(brokers)('...', () => { ... brokers! ... });
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

export type ServiceName = 'kafka' | 'postgres';

/** Where up.sh puts the services when nothing else is configured. */
export const DEFAULT_KAFKA_BROKERS: readonly string[] = ['127.0.0.1:9092'];
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/eddy_test';

const START_COMMAND = 'npm run services:up';
const ENV_FILE = fileURLToPath(new URL('../services/.env', import.meta.url));
const PROBE_TIMEOUT_MS = 5000;

function readEnvFile(): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(ENV_FILE, 'utf8');
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

function configured(name: 'KAFKA_BROKERS' | 'PG_URL'): { value: string; source: string } | undefined {
  const fromEnvironment = process.env[name]?.trim();
  if (fromEnvironment) return { value: fromEnvironment, source: name };
  const fromFile = readEnvFile()[name];
  if (fromFile) return { value: fromFile, source: 'test/services/.env' };
  return undefined;
}

function splitBrokers(value: string): string[] {
  return value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}

/** Brokers from KAFKA_BROKERS, else from test/services/.env; undefined when neither says. */
export function kafkaBrokers(): string[] | undefined {
  const found = configured('KAFKA_BROKERS');
  return found ? splitBrokers(found.value) : undefined;
}

/** URL from PG_URL, else from test/services/.env; undefined when neither says. */
export function pgUrl(): string | undefined {
  return configured('PG_URL')?.value;
}

function isCi(): boolean {
  const value = process.env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/**
 * Decides what a suite does about a service. Available: returns true. Unavailable: under CI
 * throws (the suite fails, naming the service and how to start it); elsewhere prints one line
 * to stderr and returns false, for `describe.runIf(...)` / `it.runIf(...)`.
 */
export function requireService(name: ServiceName, available: boolean, reason: string): boolean {
  if (available) return true;
  if (isCi()) {
    throw new Error(
      `${name} is required when CI is set, and it is not available: ${reason}. Start it with \`${START_COMMAND}\`.`,
    );
  }
  process.stderr.write(`[skip] ${name}: ${reason}; run ${START_COMMAND}\n`);
  return false;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Undefined when the brokers answer a metadata request, else why not. */
async function kafkaProblem(brokers: readonly string[], timeoutMs: number): Promise<string | undefined> {
  const admin = new Kafka({
    clientId: 'eddy-test-probe',
    brokers: [...brokers],
    connectionTimeout: Math.min(1500, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        await admin.listTopics();
      })(),
      timeoutMs,
      'metadata request',
    );
    return undefined;
  } catch (error) {
    return errorText(error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Undefined when `SELECT 1` succeeds, else why not. */
async function postgresProblem(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
  });
  // A server going away later must not crash the test process through an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.query('SELECT 1');
      })(),
      timeoutMs,
      'SELECT 1',
    );
    return undefined;
  } catch (error) {
    return errorText(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when a broker answers a metadata request within the timeout. */
export async function probeKafka(brokers: readonly string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return (await kafkaProblem(brokers, timeoutMs)) === undefined;
}

/** True when the server accepts a connection and answers `SELECT 1` within the timeout. */
export async function probePostgres(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return (await postgresProblem(url, timeoutMs)) === undefined;
}

/**
 * Brokers to test against, or undefined when the suite should skip (throws under CI).
 * With nothing configured it still tries the default address, so a broker started by hand works.
 */
export async function findKafka(): Promise<string[] | undefined> {
  const found = configured('KAFKA_BROKERS');
  const brokers = found ? splitBrokers(found.value) : [...DEFAULT_KAFKA_BROKERS];
  const problem = await kafkaProblem(brokers, PROBE_TIMEOUT_MS);
  const reason = found
    ? `no broker answers at ${brokers.join(',')} (from ${found.source}): ${problem}`
    : `KAFKA_BROKERS not set and no broker at ${brokers.join(',')} (${problem})`;
  return requireService('kafka', problem === undefined, reason) ? brokers : undefined;
}

/** Connection URL to test against, or undefined when the suite should skip (throws under CI). */
export async function findPostgres(): Promise<string | undefined> {
  const found = configured('PG_URL');
  const url = found?.value ?? DEFAULT_PG_URL;
  const problem = await postgresProblem(url, PROBE_TIMEOUT_MS);
  const reason = found
    ? `cannot use ${url} (from ${found.source}): ${problem}`
    : `PG_URL not set and nothing usable at ${url} (${problem})`;
  return requireService('postgres', problem === undefined, reason) ? url : undefined;
}
