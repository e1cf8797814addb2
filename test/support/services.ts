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
import { connect } from 'node:net';
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

function configured(name: string): { value: string; source: string } | undefined {
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

/** The test broker's secured listeners (test/services/kafka.sh opens them; up.sh writes where). */
export interface SecuredKafka {
  sasl: { brokers: string[]; user: string; password: string };
  /** `encryptedKeyFile`: the client key encrypted with `keyPassphrase`. */
  tls: { brokers: string[]; caFile: string; certFile: string; keyFile: string; encryptedKeyFile: string; keyPassphrase: string };
}

/**
 * The SASL and TLS listeners to test secured connections against, or undefined when the suite
 * should skip (throws under CI). Each must answer a TCP connect; the tests check the rest.
 */
export async function findSecuredKafka(): Promise<SecuredKafka | undefined> {
  const names = ['KAFKA_SASL_BROKERS', 'KAFKA_SASL_USER', 'KAFKA_SASL_PASSWORD', 'KAFKA_TLS_BROKERS', 'KAFKA_TLS_CA', 'KAFKA_TLS_CERT', 'KAFKA_TLS_KEY', 'KAFKA_TLS_KEY_ENCRYPTED', 'KAFKA_TLS_KEY_PASSPHRASE'] as const;
  const values = Object.fromEntries(names.map((name) => [name, configured(name)?.value])) as Record<(typeof names)[number], string | undefined>;
  const missing = names.filter((name) => !values[name]);
  let problem: string | undefined = missing.length > 0 ? `${missing.join(', ')} not set (test/services/kafka.sh opens these listeners)` : undefined;
  if (!problem) {
    for (const broker of [...splitBrokers(values.KAFKA_SASL_BROKERS!), ...splitBrokers(values.KAFKA_TLS_BROKERS!)]) {
      const answer = await tcpProblem(broker, PROBE_TIMEOUT_MS);
      if (answer) {
        problem = `nothing answers at ${broker}: ${answer}`;
        break;
      }
    }
  }
  if (!requireService('kafka', problem === undefined, `the secured Kafka listeners are not available: ${problem}`)) return undefined;
  return {
    sasl: { brokers: splitBrokers(values.KAFKA_SASL_BROKERS!), user: values.KAFKA_SASL_USER!, password: values.KAFKA_SASL_PASSWORD! },
    tls: {
      brokers: splitBrokers(values.KAFKA_TLS_BROKERS!),
      caFile: values.KAFKA_TLS_CA!,
      certFile: values.KAFKA_TLS_CERT!,
      keyFile: values.KAFKA_TLS_KEY!,
      encryptedKeyFile: values.KAFKA_TLS_KEY_ENCRYPTED!,
      keyPassphrase: values.KAFKA_TLS_KEY_PASSPHRASE!,
    },
  };
}

function tcpProblem(broker: string, timeoutMs: number): Promise<string | undefined> {
  const separator = broker.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: broker.slice(0, separator), port: Number(broker.slice(separator + 1)), timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no answer within ${timeoutMs} ms`);
    });
    socket.once('error', (error) => resolve(errorText(error)));
  });
}
