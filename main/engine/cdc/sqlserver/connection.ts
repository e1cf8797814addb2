// Where a SQL Server command connects to: a saved connection profile (its password is a secret
// reference) or an inline URL for tests and the CLI:
//   mssql://user[:password]@host[:port]/database?encrypt=true&trustServerCertificate=false
// The password in a URL may itself be a reference (`${env:MSSQL_PASSWORD}`, URL-encoded or not).
// A literal password is used for the connection only: it is never stored, logged or put in a title.
import { EddyError } from '../../../../shared/contract.js';
import type { SqlServerProfile } from '../../../../shared/contracts/connections.js';
import { getConnectionProfile } from '../../connections/store.js';
import type { EngineContext } from '../../context.js';
import { parseSecretRef } from '../../secrets.js';
import type { SqlServerConnectionConfig } from './mssql-executor.js';

export interface SqlServerTarget {
  connectionId?: string | undefined;
  url?: string | undefined;
  /** Another database on the same server (a name from sys.databases). */
  database?: string | undefined;
}

export interface ResolvedTarget {
  config: SqlServerConnectionConfig;
  /** `host:port`, for messages and the stored position (no user, no password). */
  server: string;
  connectionId?: string;
}

export interface ParsedSqlServerUrl {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  encrypt: boolean;
  trustServerCertificate: boolean;
}

function flag(value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new EddyError('VALIDATION', `"${value}" is not true or false.`);
}

export function parseSqlServerUrl(text: string): ParsedSqlServerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EddyError('VALIDATION', 'The SQL Server URL is not valid: use mssql://user:password@host:1433/database.');
  }
  if (url.protocol !== 'mssql:' && url.protocol !== 'sqlserver:') throw new EddyError('VALIDATION', 'A SQL Server URL starts with mssql:// (or sqlserver://).');
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'master';
  const user = decodeURIComponent(url.username);
  if (!url.hostname) throw new EddyError('VALIDATION', 'The SQL Server URL has no host.');
  if (!user) throw new EddyError('VALIDATION', 'The SQL Server URL has no user (mssql://user@host/database).');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 1433,
    database,
    user,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    encrypt: flag(url.searchParams.get('encrypt'), true),
    trustServerCertificate: flag(url.searchParams.get('trustServerCertificate'), false),
  };
}

/** The URL without its password, for messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'mssql://…';
  }
}

export async function resolveTarget(context: Pick<EngineContext, 'workspace' | 'resolveSecret'>, target: SqlServerTarget): Promise<ResolvedTarget> {
  let profile: Pick<SqlServerProfile, 'host' | 'port' | 'database' | 'user' | 'encrypt' | 'trustServerCertificate'>;
  let password: string | undefined;
  let connectionId: string | undefined;
  if (target.connectionId !== undefined) {
    const stored = await getConnectionProfile(context, target.connectionId);
    if (stored.kind !== 'sqlserver') throw new EddyError('VALIDATION', `Connection "${target.connectionId}" is a ${stored.kind} connection, not SQL Server.`);
    profile = stored;
    password = stored.password === undefined ? undefined : await context.resolveSecret(stored.password);
    connectionId = stored.id;
  } else if (target.url !== undefined) {
    const parsed = parseSqlServerUrl(target.url);
    profile = parsed;
    password = parsed.password !== undefined && parseSecretRef(parsed.password) ? await context.resolveSecret(parsed.password) : parsed.password;
  } else {
    throw new EddyError('VALIDATION', 'Give either connectionId or url.');
  }
  const database = target.database ?? profile.database;
  return {
    config: {
      host: profile.host,
      port: profile.port,
      database,
      user: profile.user,
      password,
      encrypt: profile.encrypt,
      trustServerCertificate: profile.trustServerCertificate,
    },
    server: `${profile.host}:${profile.port}`,
    ...(connectionId ? { connectionId } : {}),
  };
}
