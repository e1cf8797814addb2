// The production runner's entry point, bundled by `eddy export` into the bundle's runner.js (an ES
// module; transform-worker.mjs beside it is the QuickJS sandbox's worker). It reads the bundle
// beside it (bundle.json, pipeline.json, connections/, compiled/), checks that every environment
// variable the bundle references is set, then runs the pipeline in the bundle's consumer group
// (production.ts) and serves /health and /metrics over HTTP.
//
// Environment: the bundle's own variables (bundle.json `environment`, e.g. KAFKA_BOOTSTRAP_SERVERS
// and secrets), plus
//   EDDY_RUNNER_PORT (default 8080) and EDDY_RUNNER_HOST (default 0.0.0.0) for /health, /metrics;
//   EDDY_RUNNER_SESSION_TIMEOUT_MS (default 30000), EDDY_RUNNER_TRANSACTION_TIMEOUT_MS (60000);
//   EDDY_RUNNER_WORKERS (sandbox worker threads, default 1); EDDY_BUNDLE_DIR (default: beside).
// Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 on failure, 78 on missing configuration.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { JsonValue } from '../shared/events.js';
import { parsePipelineSpec, type PipelineSpec } from '../shared/pipeline-spec.js';
import type { ConnectionProfile } from '../shared/contracts/connections.js';
import { connectPg, pgEndpointFromProfile } from '../main/engine/cdc/postgres/client.js';
import { kafkaConfigFor } from '../main/engine/kafka/client.js';
import { SandboxScriptExecutor } from '../main/engine/pipelines/sandbox-executor.js';
import type { SandboxCode, ScriptExecutor, ScriptModule, ScriptSession } from '../main/engine/pipelines/scripts.js';
import { openMssqlExecutor } from '../main/engine/cdc/sqlserver/mssql-executor.js';
import { PostgresSink } from '../main/engine/sinks/postgres-sink.js';
import { SqlServerSink } from '../main/engine/sinks/sqlserver-sink.js';
import { ProductionRunner, prometheusText, unsupportedParts } from './production.js';

export interface BundleManifest {
  pipeline: string;
  consumerGroup: string;
  environment: { name: string; purposes: string[] }[];
  inputTopics: { source: string; topic: string }[];
  changelogTopics?: { stage: string; topic: string }[];
  deadLetterTopic?: string;
  sandboxScripts?: Record<string, string>;
}

export const EXIT_CONFIG = 78;

export function checkBundle(dir: string, env: NodeJS.ProcessEnv): { manifest: BundleManifest; spec: PipelineSpec; missing: string[] } {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
  const spec = parsePipelineSpec(JSON.parse(readFileSync(path.join(dir, 'pipeline.json'), 'utf8')));
  const missing = manifest.environment.map((entry) => entry.name).filter((name) => !env[name]);
  return { manifest, spec, missing };
}

/** `${env:NAME}` references, resolved from the process environment only. */
function envResolver(env: NodeJS.ProcessEnv): (ref: string) => Promise<string> {
  return async (ref) => {
    const match = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(ref);
    if (!match) throw new Error(`only \${env:NAME} references work in the runner, got a ${ref.startsWith('${') ? 'different reference' : 'plain value'}`);
    const value = env[match[1]!];
    if (value === undefined) throw new Error(`environment variable ${match[1]} is not set`);
    return value;
  };
}

/** Scripts come precompiled in the bundle (compiled/*.sandbox.json): the runner needs no compiler. */
class BundleExecutor implements ScriptExecutor {
  readonly name: string;
  constructor(
    private readonly inner: SandboxScriptExecutor,
    private readonly dir: string,
    private readonly compiled: Record<string, string>,
  ) {
    this.name = inner.name;
  }

  async open(module: ScriptModule, state: [string, JsonValue][]): Promise<ScriptSession> {
    const file = this.compiled[`${module.file}#${module.exportName}`];
    if (!file) throw new Error(`The bundle has no compiled code for ${module.file} (export ${module.exportName}); export it again.`);
    const sandbox = JSON.parse(await readFile(path.join(this.dir, file), 'utf8')) as SandboxCode;
    return this.inner.open({ ...module, sandbox }, state);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function readProfile(dir: string, id: string): ConnectionProfile {
  return JSON.parse(readFileSync(path.join(dir, 'connections', `${id}.json`), 'utf8')) as ConnectionProfile;
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), level, message })}\n`);
}

export async function runBundle(dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { manifest, spec, missing } = checkBundle(dir, env);
  if (missing.length > 0) {
    process.stderr.write(`eddy-runner: set these environment variables first: ${missing.join(', ')}\n`);
    return EXIT_CONFIG;
  }
  const problems = unsupportedParts(spec, manifest.inputTopics);
  if (problems.length > 0) {
    process.stderr.write(`eddy-runner: this pipeline cannot run in the production runner: ${problems.join('; ')}.\n`);
    return EXIT_CONFIG;
  }
  const resolveSecret = envResolver(env);
  const kafkaConnection = [...spec.sources, ...spec.sinks].find((node) => 'connection' in node && readProfile(dir, node.connection).kind === 'kafka') as { connection: string } | undefined;
  if (!kafkaConnection) {
    process.stderr.write('eddy-runner: the pipeline names no Kafka connection to read its topics with.\n');
    return EXIT_CONFIG;
  }
  const profile = readProfile(dir, kafkaConnection.connection);
  if (profile.kind !== 'kafka') return EXIT_CONFIG;
  const brokers = env.KAFKA_BOOTSTRAP_SERVERS ? env.KAFKA_BOOTSTRAP_SERVERS.split(',').map((broker) => broker.trim()) : profile.brokers;
  const config = await kafkaConfigFor({ ...profile, brokers, clientId: `eddy-runner-${manifest.pipeline}` }, resolveSecret, { retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 } });
  const kafka = new Kafka({ ...config, logLevel: logLevel.NOTHING });
  const executor = new BundleExecutor(new SandboxScriptExecutor({ workers: Number(env.EDDY_RUNNER_WORKERS ?? 1), graceMs: 5000 }), dir, manifest.sandboxScripts ?? {});

  const runner = new ProductionRunner({
    spec,
    kafka,
    group: manifest.consumerGroup,
    inputTopics: manifest.inputTopics,
    changelogTopics: manifest.changelogTopics ?? [],
    deadLetterTopic: manifest.deadLetterTopic ?? `${spec.name}.dead-letters`,
    executor,
    loadScript: async (file) => readFile(path.join(dir, file), 'utf8'),
    externalSink: (sink) => {
      if (sink.kind === 'sqlserver') {
        const sqlProfile = readProfile(dir, sink.connection);
        if (sqlProfile.kind !== 'sqlserver') throw new Error(`Sink "${sink.id}": connection ${sink.connection} is not a SQL Server connection.`);
        return new SqlServerSink({
          id: sink.id,
          table: sink.table,
          key: sink.key,
          columns: sink.columns,
          connect: async () =>
            openMssqlExecutor({
              host: sqlProfile.host,
              port: sqlProfile.port,
              database: sqlProfile.database,
              user: sqlProfile.user,
              password: sqlProfile.password === undefined ? undefined : await resolveSecret(sqlProfile.password),
              encrypt: sqlProfile.encrypt,
              trustServerCertificate: sqlProfile.trustServerCertificate,
            }),
        });
      }
      if (sink.kind !== 'postgres') throw new Error(`Sink "${sink.id}" (${sink.kind}) is not supported by the runner.`);
      const pgProfile = readProfile(dir, sink.connection);
      if (pgProfile.kind !== 'postgres') throw new Error(`Sink "${sink.id}": connection ${sink.connection} is not a PostgreSQL connection.`);
      return new PostgresSink({
        id: sink.id,
        table: sink.table,
        key: sink.key,
        columns: sink.columns,
        connect: async () => connectPg(await pgEndpointFromProfile(pgProfile, resolveSecret), { applicationName: `eddy-runner-${spec.name}` }),
      });
    },
    log,
    sessionTimeoutMs: Number(env.EDDY_RUNNER_SESSION_TIMEOUT_MS ?? 30_000),
    transactionTimeoutMs: Number(env.EDDY_RUNNER_TRANSACTION_TIMEOUT_MS ?? 60_000),
  });

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://runner');
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (url.pathname === '/health') {
      const healthy = runner.state === 'running';
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          status: runner.state,
          reason: runner.reason,
          pipeline: spec.name,
          group: manifest.consumerGroup,
          instance: runner.instanceId,
          assigned: Object.fromEntries(runner.assignment),
        }),
      );
      return;
    }
    if (url.pathname === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(prometheusText(runner, spec.name));
      return;
    }
    response.writeHead(404).end();
  });
  const port = Number(env.EDDY_RUNNER_PORT ?? 8080);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, env.EDDY_RUNNER_HOST ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  log('info', `Health and metrics on port ${typeof address === 'object' && address ? address.port : port} (/health, /metrics).`);

  let exitCode = 0;
  let watch: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log('info', `${signal}: finishing the batch in hand, committing, leaving the group.`);
      void runner.shutdown().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    watch = setInterval(() => {
      if (runner.state === 'failed') {
        exitCode = 1;
        clearInterval(watch);
        void runner.shutdown().then(resolve);
      }
    }, 500);
  });
  void done.then(() => clearInterval(watch));
  try {
    await runner.start();
  } catch (error) {
    log('error', `Could not start: ${(error as Error).message}`);
    await runner.shutdown();
    server.close();
    return 1;
  }
  await done;
  server.close();
  log('info', `Stopped (${runner.state}${runner.reason ? `: ${runner.reason}` : ''}).`);
  return runner.reason ? 1 : exitCode;
}

const entry = process.argv[1] ? path.resolve(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  const dir = process.env.EDDY_BUNDLE_DIR ?? path.dirname(fileURLToPath(import.meta.url));
  runBundle(dir, process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`eddy-runner: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
