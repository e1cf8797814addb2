// Secured connections against the real broker's SASL and TLS listeners (test/services/kafka.sh):
// SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 with the password held as a secret reference, and
// mutual TLS with a private CA, also with an encrypted client key whose passphrase is a secret
// reference. Each saved profile is tested from "test connection", browsed, produced to and
// captured from, through the engine's commands as the UI calls them. Wrong, missing or mismatched
// TLS files are named before any connection. Wrong credentials, a missing client certificate, an
// untrusted broker certificate and a plaintext client on the TLS port each fail at the right
// stage, in words that say what to fix, and a capture with wrong credentials is refused at once
// instead of retrying for ever.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import type { ConnectionProfile } from '../../shared/contracts/connections.js';
import { findKafka, findSecuredKafka } from '../support/services.js';
import { createTopic, deleteTopics, produceAll, startTestEngine, testKafka, uniqueTopic, type TestEngine } from './kafka-helpers.js';

const brokers = await findKafka();
const secured = brokers ? await findSecuredKafka() : undefined;
const PASSWORD_VARIABLE = 'EDDY_TEST_KAFKA_PASSWORD';
const PASSPHRASE_VARIABLE = 'EDDY_TEST_KEY_PASSPHRASE';
const WRONG_PASSWORD = 'not-the-password-4711';

describe.runIf(brokers && secured)('secured Kafka connections (SASL and TLS)', () => {
  const kafka = testKafka(brokers ?? []);
  const topic = uniqueTopic('secured');
  let engine: TestEngine;

  const profile = (id: string, extra: Partial<Extract<ConnectionProfile, { kind: 'kafka' }>>): ConnectionProfile => ({
    id,
    name: id,
    kind: 'kafka',
    brokers: secured!.sasl.brokers,
    clientId: 'eddy-security-test',
    environment: { label: 'test', color: '#1565c0' },
    ...extra,
  });
  const saslProfile = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', passwordVariable = PASSWORD_VARIABLE) =>
    profile(`sasl-${mechanism}${passwordVariable === PASSWORD_VARIABLE ? '' : '-wrong'}`, {
      sasl: { mechanism, username: secured!.sasl.user, password: `\${env:${passwordVariable}}` },
    });
  const tls = () => secured!.tls;

  beforeAll(async () => {
    engine = await startTestEngine({ ...process.env, [PASSWORD_VARIABLE]: secured!.sasl.password, [PASSPHRASE_VARIABLE]: secured!.tls.keyPassphrase, EDDY_TEST_WRONG_PASSWORD: WRONG_PASSWORD });
    await createTopic(kafka, topic, 2);
    const messages: Message[] = Array.from({ length: 40 }, (_, index) => ({ key: `k-${index}`, value: JSON.stringify({ index }), headers: { source: 'plaintext' } }));
    await produceAll(kafka, topic, messages);
  });

  afterAll(async () => {
    await engine?.close();
    await deleteTopics(kafka, [topic]);
  });

  /** Saves the profile, tests it, lists topics, produces one record and captures the topic through it. */
  const useEndToEnd = async (saved: ConnectionProfile, marker: string): Promise<void> => {
    await engine.call('saveConnection', { profile: saved });
    const test = await engine.call('testConnection', { id: saved.id });
    expect(test, test.message).toMatchObject({ ok: true, stage: 'ok' });
    expect(test.message).toMatch(/Connected to 127\.0\.0\.1:\d+: 1 broker/);
    const cluster = await engine.call('listKafkaTopics', { connection: saved.id, includeInternal: false });
    expect(cluster.topics.map((entry) => entry.name)).toContain(topic);
    const produced = await engine.call('produceKafkaMessage', { connection: saved.id, topic, partition: 0, key: marker, value: JSON.stringify({ via: marker }), format: 'json', headers: [] });
    expect(produced.partition).toBe(0);
    const job = await engine.call('startKafkaCapture', { connection: saved.id, topics: [{ topic }], start: { kind: 'oldest' }, stop: { follow: false } });
    const ended = await engine.waitJob(job.id, 60_000);
    expect(ended.state, ended.error?.message).toBe('succeeded');
    const events = await engine.readAll(`kafka:${topic}`);
    const byKey = new Map(events.map((event) => [event.key, event]));
    expect(byKey.get(marker)?.value).toEqual({ via: marker });
    for (let index = 0; index < 40; index++) expect(byKey.get(`k-${index}`)?.value).toEqual({ index });
    // Appending the same records again stored each once.
    expect(new Set(events.map((event) => event.position)).size).toBe(events.length);
  };

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('connects, browses, produces and captures over SASL %s with the password as a secret reference', async (mechanism) => {
    await useEndToEnd(saslProfile(mechanism), `sasl-${mechanism}`);
    // The profile on disk holds the reference, never the password.
    const file = readFileSync(path.join(engine.workspace, 'connections', `sasl-${mechanism}.json`), 'utf8');
    expect(file).toContain(`\${env:${PASSWORD_VARIABLE}}`);
    expect(file).not.toContain(secured!.sasl.password);
  });

  it('connects, browses, produces and captures over mutual TLS with a private CA', async () => {
    await useEndToEnd(profile('mtls', { brokers: tls().brokers, tls: { enabled: true, caFile: tls().caFile, certFile: tls().certFile, keyFile: tls().keyFile, rejectUnauthorized: true } }), 'mtls');
  });

  it('connects over mutual TLS with an encrypted client key whose passphrase is a secret reference', async () => {
    await useEndToEnd(
      profile('mtls-encrypted-key', {
        brokers: tls().brokers,
        tls: { enabled: true, caFile: tls().caFile, certFile: tls().certFile, keyFile: tls().encryptedKeyFile, keyPassphrase: `\${env:${PASSPHRASE_VARIABLE}}`, rejectUnauthorized: true },
      }),
      'mtls-encrypted-key',
    );
  });

  it('checks the TLS files before connecting, and names what is wrong with them', async () => {
    const check = async (files: Record<string, string>, message: RegExp): Promise<void> => {
      const result = await engine.call('testConnection', { profile: profile('tls-files', { brokers: tls().brokers, tls: { enabled: true, rejectUnauthorized: true, caFile: tls().caFile, ...files } }) });
      expect(result).toMatchObject({ ok: false, stage: 'config' });
      expect(result.message).toMatch(message);
    };
    const encrypted = { certFile: tls().certFile, keyFile: tls().encryptedKeyFile };
    await check(encrypted, /^The client key \S+ is encrypted: give its passphrase/);
    await check({ ...encrypted, keyPassphrase: '${env:EDDY_TEST_WRONG_PASSWORD}' }, /^The client key \S+ could not be decrypted with the passphrase \$\{env:EDDY_TEST_WRONG_PASSWORD\}: check the passphrase\.$/);
    // The CA's certificate is a certificate, but not the one this key belongs to.
    await check({ certFile: tls().caFile, keyFile: tls().keyFile }, /^The client key \S+ does not belong to the client certificate/);
    await check({ certFile: tls().keyFile, keyFile: tls().keyFile }, /^The client certificate file \S+ does not hold a PEM certificate/);
    await check({ certFile: tls().certFile, keyFile: tls().certFile }, /^The client key file \S+ does not hold a PEM private key/);
  });

  it.each(['plain', 'scram-sha-512'] as const)('says the broker refused the credentials for a wrong %s password, without showing it', async (mechanism) => {
    const wrong = saslProfile(mechanism, 'EDDY_TEST_WRONG_PASSWORD');
    await engine.call('saveConnection', { profile: wrong });
    const result = await engine.call('testConnection', { id: wrong.id });
    expect(result.ok).toBe(false);
    expect(result.stage).toBe('auth');
    expect(result.message).toMatch(/refused the credentials/);
    expect(result.message).toContain(`mechanism ${mechanism}, user ${secured!.sasl.user}`);
    expect(result.message).not.toContain(WRONG_PASSWORD);
  });

  it('refuses to start a capture with wrong credentials, saying so, instead of retrying for ever', async () => {
    const wrong = saslProfile('scram-sha-256', 'EDDY_TEST_WRONG_PASSWORD');
    await engine.call('saveConnection', { profile: wrong });
    const failure = await engine.call('startKafkaCapture', { connection: wrong.id, topics: [{ topic }], start: { kind: 'oldest' }, stop: { follow: false } }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/^Preparing the capture: 127\.0\.0\.1:\d+ refused the credentials: SASL SCRAM SHA256 authentication failed/);
    expect(failure?.message).not.toContain(WRONG_PASSWORD);
  });

  it('says which side of a failed TLS handshake to fix', async () => {
    const check = async (saved: ConnectionProfile, stage: string, advice: RegExp): Promise<void> => {
      const result = await engine.call('testConnection', { profile: saved });
      expect(result.ok).toBe(false);
      expect(result.stage, result.message).toBe(stage);
      expect(result.message).toMatch(advice);
    };
    const target = { brokers: tls().brokers };
    // The listener requires a client certificate.
    await check(profile('no-client-cert', { ...target, tls: { enabled: true, caFile: tls().caFile, rejectUnauthorized: true } }), 'tls', /did not accept a client certificate.*client certificate and key files/);
    // The broker's certificate is signed by a CA the system does not know.
    await check(profile('no-ca', { ...target, tls: { enabled: true, certFile: tls().certFile, keyFile: tls().keyFile, rejectUnauthorized: true } }), 'tls', /not signed by a CA this connection trusts: give the CA certificate file/);
    // A plaintext client on the TLS port, and a TLS client on the plaintext port.
    await check(profile('plaintext-on-tls', target), 'connect', /closed the connection.*expects TLS or SASL/);
    await check(profile('tls-on-plaintext', { brokers: brokers!, tls: { enabled: true, caFile: tls().caFile, rejectUnauthorized: true } }), 'tls', /does not speak TLS/);
    // A SASL listener without SASL configured.
    await check(profile('no-sasl', {}), 'connect', /closed the connection.*expects TLS or SASL/);
  });
});
