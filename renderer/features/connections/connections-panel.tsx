// The Connections view: list, add, edit, test and delete Kafka, PostgreSQL and SQL Server profiles,
// each showing its environment colour. Passwords are secret references: an environment variable,
// or a secret handed to the host's store (OS-encrypted in the desktop app, this session only in
// web mode); the profile file never holds the value.
import { useState, type JSX } from 'react';
import { EddyError } from '../../../shared/contract';
import type { ConnectionProfile, ConnectionTestResult } from '../../../shared/contracts/connections';
import { engine } from '../../client/engine-client';
import { useLoad } from '../../app/use-engine';
import './connections.css';

type Kind = ConnectionProfile['kind'];

const kindLabels: Record<Kind, string> = { kafka: 'Kafka', postgres: 'PostgreSQL', sqlserver: 'SQL Server' };
const environments = [
  { label: 'dev', color: '#2e7d32' },
  { label: 'test', color: '#1565c0' },
  { label: 'staging', color: '#ef6c00' },
  { label: 'prod', color: '#c62828' },
];

/** How a secret is given: none, an environment variable, or a value entered now (kept by the host). */
interface SecretDraft {
  mode: 'none' | 'env' | 'secret';
  envName: string;
  value: string;
  persist: boolean;
  /** The reference the profile had, kept when nothing new is entered. */
  before: string | undefined;
}

const noSecret: SecretDraft = { mode: 'none', envName: '', value: '', persist: false, before: undefined };

function secretDraft(ref: string | undefined): SecretDraft {
  const env = ref ? /^\$\{env:(.+)\}$/.exec(ref) : null;
  return { ...noSecret, mode: ref ? (env ? 'env' : 'secret') : 'none', envName: env?.[1] ?? '', before: ref };
}

/** The reference to store for a secret field; a value entered now goes to the host under `name`. */
async function secretRef(secret: SecretDraft, name: string): Promise<string | undefined> {
  if (secret.mode === 'env') return `\${env:${secret.envName.trim()}}`;
  if (secret.mode !== 'secret') return undefined;
  if (secret.value) return (await engine.setSecret({ name, value: secret.value, persist: secret.persist })).ref;
  // Unchanged: keep the reference the profile had.
  return secret.before?.startsWith('${secret:') ? secret.before : `\${secret:${name}}`;
}

interface Draft {
  kind: Kind;
  id: string;
  name: string;
  environment: { label: string; color: string };
  brokers: string;
  /** The Kafka client id the brokers see (quotas, request logs, consumer-group member lists). */
  clientId: string;
  host: string;
  port: string;
  database: string;
  user: string;
  saslMechanism: '' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  tls: boolean;
  /** PEM file paths, read by the engine when it connects (empty: none). */
  tlsCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Verify the broker's certificate (off only for a test broker with a certificate nobody signed). */
  tlsVerify: boolean;
  pgSsl: 'disable' | 'prefer' | 'require' | 'verify-full';
  encrypt: boolean;
  trustServerCertificate: boolean;
  password: SecretDraft;
  /** The client key's passphrase (Kafka TLS). */
  keyPassphrase: SecretDraft;
  /** The saved profile being edited: what the form does not show is kept. */
  original?: ConnectionProfile;
}

const emptyDraft = (kind: Kind = 'kafka'): Draft => ({
  kind,
  id: '',
  name: '',
  environment: environments[0]!,
  brokers: '127.0.0.1:9092',
  clientId: 'eddy',
  host: '127.0.0.1',
  port: kind === 'postgres' ? '5432' : kind === 'sqlserver' ? '1433' : '',
  database: '',
  user: '',
  saslMechanism: '',
  tls: false,
  tlsCaFile: '',
  tlsCertFile: '',
  tlsKeyFile: '',
  tlsVerify: true,
  pgSsl: 'prefer',
  encrypt: true,
  trustServerCertificate: false,
  password: noSecret,
  keyPassphrase: noSecret,
});

function draftFrom(profile: ConnectionProfile): Draft {
  const draft = emptyDraft(profile.kind);
  const password = profile.kind === 'kafka' ? profile.sasl?.password : profile.password;
  return {
    ...draft,
    id: profile.id,
    name: profile.name,
    environment: profile.environment,
    ...(profile.kind === 'kafka'
      ? {
          brokers: profile.brokers.join(', '),
          clientId: profile.clientId,
          saslMechanism: profile.sasl?.mechanism ?? '',
          user: profile.sasl?.username ?? '',
          tls: profile.tls ? profile.tls.enabled !== false : false,
          tlsCaFile: profile.tls?.caFile ?? '',
          tlsCertFile: profile.tls?.certFile ?? '',
          tlsKeyFile: profile.tls?.keyFile ?? '',
          tlsVerify: profile.tls?.rejectUnauthorized !== false,
        }
      : { host: profile.host, port: String(profile.port), database: profile.database, user: profile.user }),
    ...(profile.kind === 'postgres' ? { pgSsl: profile.ssl } : {}),
    ...(profile.kind === 'sqlserver' ? { encrypt: profile.encrypt, trustServerCertificate: profile.trustServerCertificate } : {}),
    password: secretDraft(password),
    keyPassphrase: secretDraft(profile.kind === 'kafka' ? profile.tls?.keyPassphrase : undefined),
    original: profile,
  };
}

/** The Kafka TLS settings of a draft; files and a passphrase set before are kept when TLS is turned off. */
async function kafkaTls(draft: Draft, id: string): Promise<Extract<ConnectionProfile, { kind: 'kafka' }>['tls']> {
  const before = draft.original?.kind === 'kafka' ? draft.original.tls : undefined;
  const file = (value: string): string | undefined => value.trim() || undefined;
  const files = { caFile: file(draft.tlsCaFile), certFile: file(draft.tlsCertFile), keyFile: file(draft.tlsKeyFile) };
  if (!draft.tls && !before && !files.caFile && !files.certFile && !files.keyFile) return undefined;
  const keyPassphrase = draft.tls ? await secretRef(draft.keyPassphrase, `${id}.key-passphrase`) : before?.keyPassphrase;
  const tls = { ...before, enabled: draft.tls, rejectUnauthorized: draft.tlsVerify, ...files, keyPassphrase };
  for (const key of ['caFile', 'certFile', 'keyFile', 'keyPassphrase'] as const) if (tls[key] === undefined) delete tls[key];
  return tls;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'connection';
}

async function profileFrom(draft: Draft): Promise<ConnectionProfile> {
  const id = draft.id || slug(draft.name);
  // Only where the form shows it: a Kafka connection has a password only with SASL.
  const password = draft.kind !== 'kafka' || draft.saslMechanism ? await secretRef(draft.password, `${id}.password`) : undefined;
  const base = { id, name: draft.name.trim() || id, environment: draft.environment };
  if (draft.kind === 'kafka') {
    const tls = await kafkaTls(draft, id);
    return {
      ...base,
      kind: 'kafka',
      clientId: draft.clientId.trim() || 'eddy',
      brokers: draft.brokers.split(/[\s,]+/).filter(Boolean),
      ...(tls ? { tls } : {}),
      ...(draft.saslMechanism && password ? { sasl: { mechanism: draft.saslMechanism, username: draft.user, password } } : {}),
    };
  }
  const sql = { ...base, host: draft.host, port: Number(draft.port), database: draft.database, user: draft.user, ...(password ? { password } : {}) };
  return draft.kind === 'postgres'
    ? { ...sql, kind: 'postgres', ssl: draft.pgSsl }
    : { ...sql, kind: 'sqlserver', encrypt: draft.encrypt, trustServerCertificate: draft.trustServerCertificate };
}

/** A finished test and when it ended. */
interface TestOutcome {
  result: ConnectionTestResult;
  at: number;
}

/**
 * The last test of each saved connection, kept for the session (not only while the view is open):
 * coming back to Connections still shows which ones answered and when.
 */
const lastTests = new Map<string, TestOutcome>();

export function ConnectionsPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const connections = useLoad(() => engine.listConnections({}), [engineReady]);
  const secretStatus = useLoad(() => engine.secretStatus({}), [engineReady]);
  const [draft, setDraft] = useState<Draft>();
  const [results, setResults] = useState<Record<string, TestOutcome | 'testing'>>(() => Object.fromEntries(lastTests));
  const [error, setError] = useState<string>();

  const test = async (target: { id: string } | { profile: ConnectionProfile }, key: string): Promise<void> => {
    setResults((current) => ({ ...current, [key]: 'testing' }));
    let result: ConnectionTestResult;
    try {
      result = await engine.testConnection(target);
    } catch (failure) {
      const message = failure instanceof EddyError ? failure.message : String(failure);
      result = { ok: false, stage: 'config', message, elapsedMs: 0 };
    }
    const outcome = { result, at: Date.now() };
    if ('id' in target) lastTests.set(key, outcome);
    setResults((current) => ({ ...current, [key]: outcome }));
  };

  const save = async (): Promise<void> => {
    if (!draft) return;
    try {
      const profile = await profileFrom(draft);
      await engine.saveConnection({ profile });
      // The Kafka view opens on the connection just saved (it remembers its choice the same way).
      if (profile.kind === 'kafka') {
        try {
          localStorage.setItem('eddy.kafka.connection', profile.id);
        } catch {
          // No storage (private mode): the Kafka view keeps its own choice.
        }
      }
      // An edited profile has not been tested as it is now.
      lastTests.delete(profile.id);
      setResults((current) => {
        const { [profile.id]: _old, ...rest } = current;
        return rest;
      });
      setDraft(undefined);
      setError(undefined);
      connections.reload();
      secretStatus.reload();
    } catch (failure) {
      setError(failure instanceof EddyError ? failure.message : String(failure));
    }
  };

  const remove = async (id: string): Promise<void> => {
    if (!window.confirm(`Delete the connection "${id}"? The profile file is removed from the workspace.`)) return;
    await engine.deleteConnection({ id });
    lastTests.delete(id);
    connections.reload();
  };

  return (
    <div className="connections">
      <div className="toolbar">
        <button onClick={() => setDraft(emptyDraft('kafka'))}>+ Kafka</button>
        <button onClick={() => setDraft(emptyDraft('postgres'))}>+ PostgreSQL</button>
        <button onClick={() => setDraft(emptyDraft('sqlserver'))}>+ SQL Server</button>
      </div>
      {draft ? (
        <ConnectionForm
          draft={draft}
          onChange={(next) => {
            setDraft(next);
            // A result was for the settings as they were: it no longer says anything about these.
            setResults(({ __draft: _old, ...rest }) => rest);
          }}
          onCancel={() => setDraft(undefined)}
          onSave={() => void save()}
          onTest={async () => {
            try {
              await test({ profile: await profileFrom(draft) }, '__draft');
            } catch (failure) {
              setError(failure instanceof EddyError ? failure.message : String(failure));
            }
          }}
          result={results.__draft}
          error={error}
          persistentAvailable={secretStatus.data?.persistentAvailable ?? false}
          persistReason={secretStatus.data?.reason}
        />
      ) : null}
      {connections.error ? <p className="error">{connections.error.message}</p> : null}
      {connections.data && connections.data.length === 0 && !draft ? (
        <div className="empty-state">
          <p>No connections yet.</p>
          <p className="hint">Add a Kafka broker or a CDC database (PostgreSQL, SQL Server) to capture your own events.</p>
        </div>
      ) : null}
      <ul className="connection-list" aria-label="Connections">
        {(connections.data ?? []).map((profile) => {
          const result = results[profile.id];
          return (
            <li key={profile.id} className="connection" style={{ borderLeftColor: profile.environment.color }} data-connection={profile.id}>
              <div className="connection-head">
                <span className="env" style={{ background: profile.environment.color }}>
                  {profile.environment.label}
                </span>
                <strong>{profile.name}</strong>
                <span className="dim">{kindLabels[profile.kind]}</span>
              </div>
              <div className="mono dim">{profile.kind === 'kafka' ? profile.brokers.join(', ') : `${profile.host}:${profile.port}/${profile.database}`}</div>
              <div className="actions">
                <button onClick={() => void test({ id: profile.id }, profile.id)} disabled={result === 'testing'}>
                  {result === 'testing' ? 'Testing…' : 'Test'}
                </button>
                <button onClick={() => setDraft(draftFrom(profile))}>Edit</button>
                <button onClick={() => void remove(profile.id)}>Delete</button>
              </div>
              {result && result !== 'testing' ? <TestResult outcome={result} /> : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** Where a test stopped, in words (the message says the rest). */
const STAGE_WORDS: Record<ConnectionTestResult['stage'], string> = {
  ok: 'Connected',
  config: 'Failed: check the settings',
  secret: 'Failed: the secret is not available',
  dns: 'Failed: host name not found',
  connect: 'Failed to connect',
  tls: 'Failed: TLS',
  auth: 'Failed: credentials refused',
  permission: 'Failed: permission missing',
};

/** "just now", "3 min ago", "at 14:05". */
function testedWhen(at: number, now: number): string {
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `at ${new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

function TestResult({ outcome }: { outcome: TestOutcome }): JSX.Element {
  const { result } = outcome;
  // Messages of a successful test already start "Connected to …": the label is a tick then.
  const label = result.ok ? (/^connected\b/i.test(result.message) ? '✓' : STAGE_WORDS.ok) : STAGE_WORDS[result.stage];
  return (
    <div className={result.ok ? 'test-result ok' : 'test-result failed'} role="status" data-testid="connection-test-result">
      <strong>{label}</strong> <span>{result.message}</span>{' '}
      <span className="dim" title={new Date(outcome.at).toLocaleString()}>
        ({result.elapsedMs} ms, tested {testedWhen(outcome.at, Date.now())})
      </span>
    </div>
  );
}

function ConnectionForm(props: {
  draft: Draft;
  onChange: (draft: Draft) => void;
  onSave: () => void;
  onCancel: () => void;
  onTest: () => Promise<void>;
  result: TestOutcome | 'testing' | undefined;
  error: string | undefined;
  persistentAvailable: boolean;
  persistReason: string | undefined;
}): JSX.Element {
  const { draft, onChange } = props;
  const set = <K extends keyof Draft>(key: K, value: Draft[K]): void => onChange({ ...draft, [key]: value });
  const isKafka = draft.kind === 'kafka';
  const needsUser = !isKafka || draft.saslMechanism !== '';
  return (
    <form
      className="connection-form"
      aria-label={`${kindLabels[draft.kind]} connection`}
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave();
      }}
    >
      <h3>{draft.id ? `Edit ${draft.name}` : `New ${kindLabels[draft.kind]} connection`}</h3>
      <label>
        Name
        <input value={draft.name} onChange={(event) => set('name', event.target.value)} placeholder={draft.kind === 'kafka' ? 'Local broker' : draft.kind === 'postgres' ? 'Shop database' : 'Orders warehouse'} required />
      </label>
      <label>
        Environment
        <select
          value={draft.environment.label}
          onChange={(event) => set('environment', environments.find((item) => item.label === event.target.value) ?? environments[0]!)}
          style={{ borderLeft: `6px solid ${draft.environment.color}` }}
        >
          {environments.map((item) => (
            <option key={item.label} value={item.label}>
              {item.label}
            </option>
          ))}
        </select>
      </label>
      {isKafka ? (
        <>
          <label>
            Bootstrap brokers
            <input
              value={draft.brokers}
              onChange={(event) => set('brokers', event.target.value)}
              placeholder="host1:9092, host2:9092"
              required
              // What the profile accepts (host:port, comma- or space-separated): pointed at here, not refused after Save.
              pattern="\s*[^\s,:]+:\d{1,5}(\s*[,\s]\s*[^\s,:]+:\d{1,5})*\s*"
              title="host:port, separated by commas (for example broker1:9092, broker2:9092)"
            />
          </label>
          <label title="How this client names itself to the brokers: it shows in their request logs, quotas and consumer-group member lists.">
            Client id
            <input value={draft.clientId} onChange={(event) => set('clientId', event.target.value)} placeholder="eddy" maxLength={200} spellCheck={false} />
          </label>
          <label className="inline">
            <input type="checkbox" checked={draft.tls} onChange={(event) => set('tls', event.target.checked)} /> TLS
          </label>
          {draft.tls ? (
            <fieldset className="tls-files">
              <legend>TLS files (PEM, paths on the machine running the engine)</legend>
              <label>
                CA certificate
                <input value={draft.tlsCaFile} onChange={(event) => set('tlsCaFile', event.target.value)} placeholder="system CAs when empty" spellCheck={false} />
              </label>
              <label>
                Client certificate
                <input value={draft.tlsCertFile} onChange={(event) => set('tlsCertFile', event.target.value)} placeholder="only for mutual TLS" spellCheck={false} />
              </label>
              <label>
                Client key
                <input value={draft.tlsKeyFile} onChange={(event) => set('tlsKeyFile', event.target.value)} placeholder="only for mutual TLS" spellCheck={false} />
              </label>
              {draft.tlsKeyFile.trim() ? (
                <SecretField
                  label="Key passphrase"
                  variableLabel="Passphrase variable"
                  valueLabel="Passphrase"
                  placeholder="KAFKA_KEY_PASSPHRASE"
                  secret={draft.keyPassphrase}
                  onChange={(keyPassphrase) => set('keyPassphrase', keyPassphrase)}
                  persistentAvailable={props.persistentAvailable}
                  persistReason={props.persistReason}
                />
              ) : null}
              <label className="inline" title="Turn off only for a test broker whose certificate no CA signed: the connection can then be intercepted.">
                <input type="checkbox" checked={draft.tlsVerify} onChange={(event) => set('tlsVerify', event.target.checked)} /> Verify the broker&apos;s certificate
              </label>
              {!draft.tlsVerify ? <p className="hint warning">The broker&apos;s certificate is not checked: anyone on the path could pose as the broker.</p> : null}
            </fieldset>
          ) : null}
          <label>
            SASL
            <select value={draft.saslMechanism} onChange={(event) => set('saslMechanism', event.target.value as Draft['saslMechanism'])}>
              <option value="">none</option>
              <option value="plain">PLAIN</option>
              <option value="scram-sha-256">SCRAM-SHA-256</option>
              <option value="scram-sha-512">SCRAM-SHA-512</option>
            </select>
          </label>
        </>
      ) : (
        <>
          <label>
            Host
            <input value={draft.host} onChange={(event) => set('host', event.target.value)} required />
          </label>
          <label>
            Port
            <input value={draft.port} onChange={(event) => set('port', event.target.value)} inputMode="numeric" required />
          </label>
          <label>
            Database
            <input value={draft.database} onChange={(event) => set('database', event.target.value)} required />
          </label>
          {draft.kind === 'postgres' ? (
            <label>
              SSL
              <select value={draft.pgSsl} onChange={(event) => set('pgSsl', event.target.value as Draft['pgSsl'])}>
                <option value="disable">disable</option>
                <option value="prefer">prefer</option>
                <option value="require">require</option>
                <option value="verify-full">verify-full</option>
              </select>
            </label>
          ) : (
            <>
              <label className="inline">
                <input type="checkbox" checked={draft.encrypt} onChange={(event) => set('encrypt', event.target.checked)} /> Encrypt
              </label>
              <label className="inline">
                <input type="checkbox" checked={draft.trustServerCertificate} onChange={(event) => set('trustServerCertificate', event.target.checked)} /> Trust the server certificate
              </label>
            </>
          )}
        </>
      )}
      {needsUser ? (
        <>
          <label>
            User
            <input value={draft.user} onChange={(event) => set('user', event.target.value)} required />
          </label>
          <SecretField
            label="Password"
            variableLabel="Variable name"
            valueLabel="Secret"
            placeholder="KAFKA_PASSWORD"
            secret={draft.password}
            onChange={(password) => set('password', password)}
            persistentAvailable={props.persistentAvailable}
            persistReason={props.persistReason}
          />
        </>
      ) : null}
      <div className="actions">
        <button
          type="button"
          onClick={(event) => {
            // A required field left empty is pointed at in the form, not sent to be refused.
            if (event.currentTarget.form?.reportValidity() === false) return;
            void props.onTest();
          }}
          disabled={props.result === 'testing'}
        >
          {props.result === 'testing' ? 'Testing…' : 'Test connection'}
        </button>
        <span className="spacer" />
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Save
        </button>
      </div>
      {props.result && props.result !== 'testing' ? <TestResult outcome={props.result} /> : null}
      {props.error ? (
        <p className="error" role="alert">
          {props.error}
        </p>
      ) : null}
    </form>
  );
}

/** A secret given as an environment variable or entered now (kept by the host, never in the profile). */
function SecretField(props: {
  label: string;
  variableLabel: string;
  valueLabel: string;
  placeholder: string;
  secret: SecretDraft;
  onChange: (secret: SecretDraft) => void;
  persistentAvailable: boolean;
  persistReason: string | undefined;
}): JSX.Element {
  const { secret } = props;
  const set = <K extends keyof SecretDraft>(key: K, value: SecretDraft[K]): void => props.onChange({ ...secret, [key]: value });
  return (
    <>
      <label>
        {props.label}
        <select value={secret.mode} onChange={(event) => set('mode', event.target.value as SecretDraft['mode'])}>
          <option value="none">none</option>
          <option value="env">from an environment variable</option>
          <option value="secret">enter it now</option>
        </select>
      </label>
      {secret.mode === 'env' ? (
        <label>
          {props.variableLabel}
          <input value={secret.envName} onChange={(event) => set('envName', event.target.value)} placeholder={props.placeholder} pattern="[A-Za-z_][A-Za-z0-9_]*" required />
        </label>
      ) : null}
      {secret.mode === 'secret' ? (
        <>
          <label>
            {props.valueLabel}
            <input type="password" autoComplete="off" value={secret.value} onChange={(event) => set('value', event.target.value)} />
          </label>
          <label className="inline" title={props.persistentAvailable ? 'Stored encrypted by the operating system' : props.persistReason}>
            <input type="checkbox" checked={secret.persist} disabled={!props.persistentAvailable} onChange={(event) => set('persist', event.target.checked)} /> Remember it (OS-encrypted)
          </label>
          {!props.persistentAvailable ? <p className="hint">{props.persistReason ?? 'Secrets are kept for this session only.'}</p> : null}
        </>
      ) : null}
    </>
  );
}
