// Turns a Kafka connection profile into a kafkajs client: secret references resolved through the
// host at the moment of use (never stored), PEM files read from disk, kafkajs' own console logging
// silenced (the engine reports what matters in plain words). Also owns "test connection", which
// says at which stage a connection failed: configuration, secret, DNS, TCP connect, TLS, SASL.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import type { ConnectionTestResult, KafkaProfile } from '../../../shared/contracts/connections.js';
import type { KafkaConnection, KafkaInlineConnection } from '../../../shared/contracts/kafka.js';
import { diagnoseConnectionError } from '../connections/diagnose.js';
import type { SecretResolver } from '../secrets.js';

/** What a client needs of a profile: the inline shape and saved profiles both fit. */
export type KafkaClientProfile = Pick<KafkaProfile, 'brokers'> & Partial<Pick<KafkaProfile, 'clientId' | 'tls' | 'sasl'>> & { name?: string };

export interface KafkaClientOptions {
  /** Socket connect timeout per broker (ms). */
  connectionTimeout?: number;
  requestTimeout?: number;
  /** kafkajs' retry policy for the cluster (metadata, connect). */
  retry?: KafkaConfig['retry'];
}

const configError = (message: string): EddyError => new EddyError('VALIDATION', message, { stage: 'config' });

async function readPem(file: string | undefined, what: string): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw configError(`The ${what} file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
}

async function resolveRequired(ref: string, what: string, resolveSecret: SecretResolver): Promise<string> {
  try {
    return await resolveSecret(ref);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EddyError(error instanceof EddyError ? error.code : 'NOT_FOUND', `The ${what} (${ref}) could not be resolved: ${message}`, { stage: 'secret' });
  }
}

/**
 * Checks the TLS files before any connection, so a wrong file or passphrase is named as such
 * (at connect time Node only says "bad decrypt", and kafkajs calls that a connection failure).
 */
function checkTlsFiles(tls: NonNullable<KafkaClientProfile['tls']>, ca: string | undefined, cert: string | undefined, key: string | undefined, passphrase: string | undefined): void {
  const certificate = (pem: string, what: string, file: string | undefined): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw configError(`The ${what} file ${file ?? ''} does not hold a PEM certificate (-----BEGIN CERTIFICATE-----).`);
    }
  };
  if (ca !== undefined) certificate(ca, 'CA certificate', tls.caFile);
  if (cert === undefined || key === undefined) return;
  const client = certificate(cert, 'client certificate', tls.certFile);
  // Without a passphrase OpenSSL 3 reports an encrypted key as "interrupted or cancelled".
  if (passphrase === undefined && /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key)) {
    throw configError(`The client key ${tls.keyFile ?? ''} is encrypted: give its passphrase (a secret reference) in the connection.`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (/BAD_DECRYPT/.test(code) || /bad decrypt/i.test(String(error))) {
      throw configError(`The client key ${tls.keyFile ?? ''} could not be decrypted with the passphrase ${tls.keyPassphrase ?? ''}: check the passphrase.`);
    }
    throw configError(`The client key file ${tls.keyFile ?? ''} does not hold a PEM private key that can be read (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (!client.checkPrivateKey(privateKey)) {
    throw configError(`The client key ${tls.keyFile ?? ''} does not belong to the client certificate ${tls.certFile ?? ''}.`);
  }
}

/** The kafkajs configuration for a profile (secrets resolved, PEM files read and checked). */
export async function kafkaConfigFor(profile: KafkaClientProfile, resolveSecret: SecretResolver, options: KafkaClientOptions = {}): Promise<KafkaConfig> {
  if (profile.brokers.length === 0) throw configError('The connection lists no bootstrap brokers.');
  let ssl: KafkaConfig['ssl'] = false;
  if (profile.tls && profile.tls.enabled !== false) {
    const [ca, cert, key] = await Promise.all([readPem(profile.tls.caFile, 'CA certificate'), readPem(profile.tls.certFile, 'client certificate'), readPem(profile.tls.keyFile, 'client key')]);
    if ((cert === undefined) !== (key === undefined)) {
      throw configError('A client certificate needs its key and a key needs its certificate: give both files or neither.');
    }
    const passphrase = profile.tls.keyPassphrase ? await resolveRequired(profile.tls.keyPassphrase, 'client key passphrase', resolveSecret) : undefined;
    checkTlsFiles(profile.tls, ca, cert, key, passphrase);
    ssl = {
      rejectUnauthorized: profile.tls.rejectUnauthorized !== false,
      ...(ca !== undefined ? { ca: [ca] } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
    };
  }
  let sasl: SASLOptions | undefined;
  if (profile.sasl) {
    const password = await resolveRequired(profile.sasl.password, 'SASL password', resolveSecret);
    sasl = { mechanism: profile.sasl.mechanism, username: profile.sasl.username, password } as SASLOptions;
  }
  return {
    clientId: profile.clientId ?? 'eddy',
    brokers: [...profile.brokers],
    ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: options.connectionTimeout ?? 5000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry ?? { initialRetryTime: 300, maxRetryTime: 5000, retries: 5 },
    // kafkajs logs to the console; the engine reports failures itself, in context.
    logLevel: logLevel.NOTHING,
  };
}

/** A kafkajs client for a profile, with secret references resolved through `resolveSecret`. */
export async function kafkaClientFor(profile: KafkaClientProfile, resolveSecret: SecretResolver, options: KafkaClientOptions = {}): Promise<Kafka> {
  return new Kafka(await kafkaConfigFor(profile, resolveSecret, options));
}

/** The profile a command's `connection` names: a saved profile id, or an inline quick profile. */
export async function resolveKafkaProfile(connection: KafkaConnection, loadProfile: (id: string) => Promise<{ kind: string }>): Promise<KafkaClientProfile> {
  if (typeof connection !== 'string') return connection as KafkaInlineConnection;
  const profile = await loadProfile(connection);
  if (profile.kind !== 'kafka') throw new EddyError('VALIDATION', `The connection "${connection}" is a ${profile.kind} connection, not Kafka.`);
  return profile as KafkaProfile;
}

/** A stable key for caching clients: the profile as written (secret references, not values). */
export function profileKey(profile: KafkaClientProfile): string {
  return JSON.stringify([profile.brokers, profile.clientId ?? 'eddy', profile.tls ?? null, profile.sasl ?? null]);
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]);
}

/** Plain-words hints kafkajs' errors do not give: the usual TLS and SASL mix-ups. */
function hintFor(profile: KafkaClientProfile, error: unknown, stage: ConnectionTestResult['stage']): string {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  const tls = Boolean(profile.tls && profile.tls.enabled !== false);
  if (stage === 'connect' && /timeout|timed out/i.test(text) && tls) {
    return ' TLS is on for this connection: if the listener at that port is plaintext, the handshake never completes. Turn TLS off or use the TLS port.';
  }
  if (stage === 'connect' && /closed|ECONNRESET|EPIPE/i.test(text)) {
    return tls
      ? ' The broker closed the connection during the handshake: check the CA, the client certificate, and that this port is a TLS listener.'
      : ' The broker closed the connection: if this listener expects TLS or SASL, enable them in the connection.';
  }
  if (stage === 'auth' && profile.sasl) return ` (mechanism ${profile.sasl.mechanism}, user ${profile.sasl.username})`;
  return '';
}

function stageOf(error: unknown): ConnectionTestResult['stage'] | undefined {
  const stage = error instanceof EddyError ? (error.details as { stage?: unknown } | undefined)?.stage : undefined;
  return stage === 'config' || stage === 'secret' ? stage : undefined;
}

/**
 * Connects with the profile and fetches the cluster's metadata, once, without retries; reports
 * where it stopped in words a data engineer can act on.
 */
export async function testKafkaConnection(profile: KafkaClientProfile, resolveSecret: SecretResolver, timeoutMs = 10_000): Promise<ConnectionTestResult> {
  const started = Date.now();
  const target = profile.brokers.join(', ') || '(no brokers)';
  const elapsed = (): number => Date.now() - started;
  let kafka: Kafka;
  try {
    kafka = await kafkaClientFor(profile, resolveSecret, { connectionTimeout: Math.min(5000, timeoutMs), requestTimeout: timeoutMs, retry: { retries: 0 } });
  } catch (error) {
    const stage = stageOf(error) ?? 'config';
    return { ok: false, stage, message: error instanceof Error ? error.message : String(error), elapsedMs: elapsed() };
  }
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    const cluster = await withTimeout(
      (async () => {
        await admin.connect();
        return admin.describeCluster();
      })(),
      timeoutMs,
      () => Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
    );
    // Reading topic metadata is the first thing every view does: check the user may.
    let permission: string | undefined;
    try {
      await withTimeout(admin.listTopics(), timeoutMs, () => new Error('listing topics timed out'));
    } catch (error) {
      permission = error instanceof Error ? error.message : String(error);
    }
    if (permission) {
      return { ok: false, stage: 'permission', message: `Connected to ${target}, but listing topics failed: ${permission}`, elapsedMs: elapsed() };
    }
    return {
      ok: true,
      stage: 'ok',
      message: `Connected to ${target}: ${cluster.brokers.length} broker(s), cluster ${cluster.clusterId}.`,
      elapsedMs: elapsed(),
      details: { clusterId: cluster.clusterId, controller: cluster.controller, brokers: cluster.brokers.map((broker) => `${broker.host}:${broker.port}`) },
    };
  } catch (error) {
    const diagnosis = diagnoseConnectionError(error, target);
    const hint = hintFor(profile, error, diagnosis.stage);
    // Said once: the diagnosis of a closed connection already names TLS and SASL.
    const repeats = hint.includes('TLS or SASL') && diagnosis.message.includes('TLS or SASL');
    return { ok: false, stage: diagnosis.stage, message: diagnosis.message + (repeats ? '' : hint), elapsedMs: elapsed() };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
