// Connection profiles on disk: validated, secrets only as references, invalid files reported.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../../shared/contracts/connections.js';
import { deleteConnectionProfile, getConnectionProfile, listConnectionProfiles, saveConnectionProfile } from '../../../main/engine/connections/store.js';
import { diagnoseConnectionError } from '../../../main/engine/connections/diagnose.js';

let root: string;
const problems: string[] = [];
const context = () => ({
  workspace: { root, isDemo: false, localDir: path.join(root, '.eddy'), file: { name: 't', version: 1 as const, samples: [] } },
  report: (_severity: string, _source: string, message: string) => void problems.push(message),
});

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'eddy-conn-'));
  problems.length = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const kafka: ConnectionProfile = ConnectionProfileSchema.parse({
  kind: 'kafka',
  id: 'prod-kafka',
  name: 'Production cluster',
  environment: { label: 'prod', color: '#c62828' },
  brokers: ['broker-1.internal:9093'],
  sasl: { mechanism: 'scram-sha-512', username: 'etl', password: '${secret:prod-kafka.password}' },
});

describe('connection profiles', () => {
  it('saves, lists, reads and deletes a profile as a plain JSON file', async () => {
    await saveConnectionProfile(context(), kafka);
    const file = path.join(root, 'connections', 'prod-kafka.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(kafka);
    expect(await listConnectionProfiles(context())).toEqual([kafka]);
    expect(await getConnectionProfile(context(), 'prod-kafka')).toEqual(kafka);
    expect(await deleteConnectionProfile(context(), 'prod-kafka')).toBe(true);
    await expect(getConnectionProfile(context(), 'prod-kafka')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a password that is not a secret reference', () => {
    const result = ConnectionProfileSchema.safeParse({ ...kafka, sasl: { mechanism: 'plain', username: 'etl', password: 'hunter2' } });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues[0]?.message).toMatch(/never the secret itself/);
    const pg = ConnectionProfileSchema.safeParse({ kind: 'postgres', id: 'pg', name: 'pg', host: 'db', database: 'shop', user: 'u', password: 's3cret' });
    expect(pg.success).toBe(false);
  });

  it('refuses ids that could escape the connections folder', async () => {
    await expect(getConnectionProfile(context(), '../../etc/passwd')).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(ConnectionProfileSchema.safeParse({ ...kafka, id: '../x' }).success).toBe(false);
  });

  it('skips and reports an invalid profile file instead of failing the list', async () => {
    await saveConnectionProfile(context(), kafka);
    mkdirSync(path.join(root, 'connections'), { recursive: true });
    writeFileSync(path.join(root, 'connections', 'broken.json'), '{"kind": "kafka", "id": ');
    const listed = await listConnectionProfiles(context());
    expect(listed.map((profile) => profile.id)).toEqual(['prod-kafka']);
    expect(problems.join('\n')).toMatch(/broken\.json is not a valid connection profile/);
  });
});

describe('diagnoseConnectionError', () => {
  const error = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    [error('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.invalid'), 'dns'],
    [error('ECONNREFUSED'), 'connect'],
    [error('ETIMEDOUT'), 'connect'],
    [error('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'tls'],
    [error('28P01', 'password authentication failed for user "etl"'), 'auth'],
    [new Error('SASL SCRAM SHA512 authentication failed'), 'auth'],
    [error('42501', 'permission denied for table orders'), 'permission'],
    [{ originalError: error('ECONNREFUSED') }, 'connect'],
    [error('3D000', 'database "nodb" does not exist'), 'config'],
  ])('classifies %s as %s', (failure, stage) => {
    expect(diagnoseConnectionError(failure, 'db:5432').stage).toBe(stage);
  });

  it('says what a connection closed before any answer may mean', () => {
    const closed = Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' });
    const { stage, message } = diagnoseConnectionError(closed, '10.255.255.1:9092');
    expect(stage).toBe('connect');
    expect(message).toMatch(/^10\.255\.255\.1:9092 closed the connection before answering: the port may not be a Kafka listener, or the listener expects TLS or SASL/);
  });

  // The texts Node 20 and kafkajs 2.2.4 gave against the test broker's TLS listener (kafkajs wraps
  // the socket error in a KafkaJSConnectionError with the same message).
  const wrapped = (message: string, code?: string) => Object.assign(new Error(`Connection error: ${message}`), { name: 'KafkaJSConnectionError', cause: Object.assign(new Error(message), code ? { code } : {}) });
  const alert42 =
    '800C42AD497F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n';
  it.each([
    [wrapped(alert42, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), /failed: Connection error: sslv3 alert bad certificate: SSL alert number 42\. The broker did not accept a client certificate/],
    [wrapped('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), /not signed by a CA this connection trusts: give the CA certificate file/],
    [wrapped('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET'), /does not speak TLS: turn TLS off/],
    [wrapped("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1", 'ERR_TLS_CERT_ALTNAME_INVALID'), /for another host name/],
    [wrapped('certificate has expired', 'CERT_HAS_EXPIRED'), /has expired: renew it/],
  ])('says what to do about a failed TLS handshake: %s', (failure, advice) => {
    const { stage, message } = diagnoseConnectionError(failure, 'broker:9095');
    expect(stage).toBe('tls');
    expect(message).toMatch(advice);
    // The socket's text once, without OpenSSL's addresses and source paths.
    expect(message).not.toMatch(/\| Connection error|deps\/openssl|0A000412/);
  });
});
