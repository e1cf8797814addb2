// The contract's part for connection profiles (Kafka, PostgreSQL, SQL Server) and secret
// references. Profiles are plain files in the workspace (`connections/<id>.json`) that a team
// keeps in git: every secret field holds a reference (`${env:NAME}` or `${secret:NAME}`), never a
// value. The engine implements these in main/engine/connections/.
import { z } from 'zod';
import type { CommandTable, EventTable } from '../contract-kit.js';

/** `${env:NAME}` (host environment) or `${secret:NAME}` (the OS secret store / this session). */
export const SecretRefSchema = z
  .string()
  .regex(/^\$\{(env|secret):[A-Za-z_][A-Za-z0-9_.-]{0,127}\}$/, 'must be a secret reference like ${env:NAME} or ${secret:NAME}, never the secret itself');

export const EnvironmentLabelSchema = z.object({
  /** dev, test, staging, prod... shown on every view of the connection. */
  label: z.string().min(1).max(24),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
});

const ProfileBase = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  name: z.string().min(1).max(120),
  environment: EnvironmentLabelSchema.default({ label: 'dev', color: '#2e7d32' }),
};

export const KafkaProfileSchema = z
  .object({
    ...ProfileBase,
    kind: z.literal('kafka'),
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1),
    clientId: z.string().max(200).default('eddy'),
    tls: z
      .object({
        enabled: z.boolean().default(true),
        /** PEM file paths; the key's passphrase is a secret reference. */
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        keyPassphrase: SecretRefSchema.optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .optional(),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: SecretRefSchema,
      })
      .strict()
      .optional(),
  })
  .strict();
export type KafkaProfile = z.infer<typeof KafkaProfileSchema>;

const SqlProfileBase = {
  ...ProfileBase,
  host: z.string().min(1).max(255),
  database: z.string().min(1).max(128),
  user: z.string().min(1).max(128),
  password: SecretRefSchema.optional(),
};

export const PostgresProfileSchema = z
  .object({
    ...SqlProfileBase,
    kind: z.literal('postgres'),
    port: z.number().int().min(1).max(65535).default(5432),
    ssl: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('prefer'),
  })
  .strict();
export type PostgresProfile = z.infer<typeof PostgresProfileSchema>;

export const SqlServerProfileSchema = z
  .object({
    ...SqlProfileBase,
    kind: z.literal('sqlserver'),
    port: z.number().int().min(1).max(65535).default(1433),
    encrypt: z.boolean().default(true),
    trustServerCertificate: z.boolean().default(false),
  })
  .strict();
export type SqlServerProfile = z.infer<typeof SqlServerProfileSchema>;

export const ConnectionProfileSchema = z.discriminatedUnion('kind', [KafkaProfileSchema, PostgresProfileSchema, SqlServerProfileSchema]);
export type ConnectionProfile = z.infer<typeof ConnectionProfileSchema>;

/** What "test connection" found, stage by stage, in plain words. */
export const ConnectionTestResultSchema = z.object({
  ok: z.boolean(),
  /** Where it stopped: name resolution, TCP connect, TLS handshake, authentication, or a later check. */
  stage: z.enum(['config', 'secret', 'dns', 'connect', 'tls', 'auth', 'permission', 'ok']),
  message: z.string(),
  elapsedMs: z.number(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ConnectionTestResult = z.infer<typeof ConnectionTestResultSchema>;

export const SecretNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, dot, dash and underscore');

export const SecretStatusSchema = z.object({
  /** Whether secrets can be kept across restarts (OS-encrypted store in the desktop app). */
  persistentAvailable: z.boolean(),
  /** The store behind persistent secrets, e.g. keychain, dpapi, gnome_libsecret, or none. */
  backend: z.string(),
  reason: z.string().optional(),
  secrets: z.array(z.object({ name: z.string(), persisted: z.boolean() })),
});
export type SecretStatus = z.infer<typeof SecretStatusSchema>;

const ConnectionTarget = z.union([z.object({ id: z.string() }).strict(), z.object({ profile: ConnectionProfileSchema }).strict()]);

export const connectionCommands = {
  listConnections: { request: z.object({}).strict(), response: z.array(ConnectionProfileSchema) },
  saveConnection: { request: z.object({ profile: ConnectionProfileSchema }).strict(), response: ConnectionProfileSchema },
  deleteConnection: { request: z.object({ id: z.string() }).strict(), response: z.object({ deleted: z.boolean() }) },
  testConnection: { request: ConnectionTarget, response: ConnectionTestResultSchema },
  secretStatus: { request: z.object({}).strict(), response: SecretStatusSchema },
  /** Stores a secret with the host; `persist: false` keeps it for this session only. */
  setSecret: {
    request: z.object({ name: SecretNameSchema, value: z.string().min(1).max(65_536), persist: z.boolean().default(false) }).strict(),
    response: z.object({ name: z.string(), persisted: z.boolean(), ref: z.string() }),
  },
  deleteSecret: { request: z.object({ name: SecretNameSchema }).strict(), response: z.object({ deleted: z.boolean() }) },
} as const satisfies CommandTable;

export const connectionEvents = {} as const satisfies EventTable;
