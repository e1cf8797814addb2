// Connections to PostgreSQL for discovery and capture: client settings from a connection profile
// (the password resolved from its secret reference, never stored) or an inline URL (tests, the
// CLI), the session settings the value mapping relies on, and "test connection".
import pg from 'pg';
import { EddyError } from '../../../../shared/contract.js';
import type { ConnectionTestResult, PostgresProfile } from '../../../../shared/contracts/connections.js';
import { diagnoseConnectionError } from '../../connections/diagnose.js';
import type { SecretResolver } from '../../secrets.js';

/**
 * Output settings for every session Eddy opens (including replication ones, whose walsender
 * prints pgoutput's text values with them): values.ts parses exactly these formats.
 */
export const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 -c bytea_output=hex -c client_encoding=UTF8';

export interface PgEndpoint {
  config: pg.ClientConfig;
  /** sslmode=prefer: retry without TLS when the server does not offer it. */
  sslFallback: boolean;
  database: string;
  user: string;
  /** `host:port/database`, for messages (never the password). */
  label: string;
  connectionId?: string;
}

export function pgClientConfig(profile: PostgresProfile, password: string | undefined): PgEndpoint {
  const ssl: pg.ClientConfig['ssl'] =
    profile.ssl === 'disable' ? false : profile.ssl === 'verify-full' ? { rejectUnauthorized: true, servername: profile.host } : { rejectUnauthorized: false };
  return {
    config: { host: profile.host, port: profile.port, database: profile.database, user: profile.user, password, ssl, options: SESSION_OPTIONS },
    sslFallback: profile.ssl === 'prefer',
    database: profile.database,
    user: profile.user,
    label: `${profile.host}:${profile.port}/${profile.database}`,
    connectionId: profile.id,
  };
}

/** Resolves the profile's password reference; a missing secret is an error naming the reference. */
export async function pgEndpointFromProfile(profile: PostgresProfile, resolveSecret: SecretResolver): Promise<PgEndpoint> {
  const password = profile.password ? await resolveSecret(profile.password) : undefined;
  return pgClientConfig(profile, password);
}

/** An inline `postgres://` URL (tests, `eddy capture postgres --url`). PGPASSWORD works as usual. */
export function pgEndpointFromUrl(url: string): PgEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EddyError('VALIDATION', 'Not a valid postgres:// URL.');
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres';
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'postgres';
  return {
    config: { connectionString: url, options: SESSION_OPTIONS },
    sslFallback: false,
    database,
    user,
    label: `${parsed.hostname}:${parsed.port || '5432'}/${database}`,
  };
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for anything shown or logged. */
export function redactUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');
}

function noTls(error: unknown): boolean {
  return error instanceof Error && /does not support SSL/i.test(error.message);
}

/** Opens a client (a replication connection with `replication: true`), honouring sslmode=prefer. */
export async function connectPg(endpoint: PgEndpoint, options: { applicationName: string; replication?: boolean; connectTimeoutMs?: number }): Promise<pg.Client> {
  const attempt = async (withTls: boolean): Promise<pg.Client> => {
    const config: pg.ClientConfig & { replication?: string } = {
      ...endpoint.config,
      application_name: options.applicationName,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      keepAlive: true,
    };
    if (!withTls) config.ssl = false;
    if (options.replication) config.replication = 'database';
    const client = new pg.Client(config);
    // A server going away later must surface through queries, never crash the engine.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  };
  try {
    return await attempt(true);
  } catch (error) {
    if (endpoint.sslFallback && noTls(error)) return attempt(false);
    throw error;
  }
}

export interface ServerFacts {
  serverVersion: string;
  serverVersionNum: number;
  walLevel: string;
  canReplicate: boolean;
  superuser: boolean;
  user: string;
  database: string;
}

export async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const result = await client.query<{ version: string; num: string; wal_level: string; rolsuper: boolean; rolreplication: boolean; usr: string; db: string }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
            current_setting('wal_level') AS wal_level, r.rolsuper, r.rolreplication,
            current_user AS usr, current_database() AS db
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = result.rows[0];
  if (!row) throw new EddyError('INTERNAL', 'Could not read the current role from pg_roles.');
  return {
    serverVersion: row.version,
    serverVersionNum: Number(row.num),
    walLevel: row.wal_level,
    canReplicate: row.rolsuper || row.rolreplication,
    superuser: row.rolsuper,
    user: row.usr,
    database: row.db,
  };
}

/** What stands between this server and a capture, in words a data engineer can act on. */
export function captureWarnings(facts: ServerFacts): string[] {
  const warnings: string[] = [];
  if (facts.walLevel !== 'logical') {
    warnings.push(`wal_level is "${facts.walLevel}": logical decoding needs wal_level = logical (ALTER SYSTEM SET wal_level = 'logical', then restart PostgreSQL).`);
  }
  if (!facts.canReplicate) {
    warnings.push(`User "${facts.user}" may not replicate: grant it with ALTER ROLE ${facts.user} WITH REPLICATION (and allow replication connections in pg_hba.conf).`);
  }
  if (facts.serverVersionNum < 100000) warnings.push(`PostgreSQL ${facts.serverVersion} has no pgoutput plugin; version 10 or later is needed.`);
  return warnings;
}

/** A failed connection attempt as the error to show: the diagnosis (what failed, in plain words), credentials redacted. */
export function connectFailure(error: unknown, endpoint: PgEndpoint): EddyError {
  const { stage, message } = diagnoseConnectionError(error, endpoint.label);
  return new EddyError('UNAVAILABLE', redactUrl(message), { stage });
}

/** "Test connection": connects, then reports the server version, wal_level and replication rights. */
export async function testPostgresEndpoint(endpoint: PgEndpoint): Promise<ConnectionTestResult> {
  const started = Date.now();
  let client: pg.Client | undefined;
  try {
    client = await connectPg(endpoint, { applicationName: 'eddy-test-connection', connectTimeoutMs: 8000 });
  } catch (error) {
    const { stage, message } = diagnoseConnectionError(error, endpoint.label);
    return { ok: false, stage, message: redactUrl(message), elapsedMs: Date.now() - started };
  }
  try {
    const facts = await serverFacts(client);
    const warnings = captureWarnings(facts);
    const base = `Connected to PostgreSQL ${facts.serverVersion} at ${endpoint.label} as ${facts.user}; wal_level = ${facts.walLevel}; ${facts.canReplicate ? 'the user may replicate' : 'the user may not replicate'}.`;
    return {
      ok: true,
      stage: 'ok',
      message: warnings.length ? `${base} ${warnings.join(' ')}` : base,
      elapsedMs: Date.now() - started,
      details: { serverVersion: facts.serverVersion, walLevel: facts.walLevel, canReplicate: facts.canReplicate, superuser: facts.superuser, warnings },
    };
  } catch (error) {
    const { stage, message } = diagnoseConnectionError(error, endpoint.label);
    return { ok: false, stage: stage === 'connect' ? 'permission' : stage, message: redactUrl(message), elapsedMs: Date.now() - started };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The connections feature's tester for PostgreSQL profiles. */
export async function testPostgresConnection(profile: PostgresProfile, resolveSecret: SecretResolver): Promise<ConnectionTestResult> {
  const started = Date.now();
  let endpoint: PgEndpoint;
  try {
    endpoint = await pgEndpointFromProfile(profile, resolveSecret);
  } catch (error) {
    return { ok: false, stage: 'secret', message: error instanceof Error ? error.message : String(error), elapsedMs: Date.now() - started };
  }
  return testPostgresEndpoint(endpoint);
}

/** Double-quotes an identifier for SQL (case-sensitive, quotes doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.table` -> its two parts (the contract's PgTableNameSchema has already checked the shape). */
export function splitTableName(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  if (dot <= 0) throw new EddyError('VALIDATION', `"${name}" is not schema.table.`);
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}
