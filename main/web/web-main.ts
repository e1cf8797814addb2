// `npm run web` (and `npm start` without an Electron binary): hosts the engine in a supervised
// child process and serves the UI on http://127.0.0.1 with a token, printing the URL to open.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineSupervisor } from '../host/engine-supervisor.js';
import { forkSpawner } from '../host/fork-spawner.js';
import { engineEnvironment, engineSettingsFromEnv } from '../engine/settings.js';
import { SessionSecrets } from '../host/host-secrets.js';
import { startWebServer } from './web-server.js';

declare const __EDDY_VERSION__: string;

interface WebArgs {
  port: number;
  workspace: string | undefined;
  token: string | undefined;
}

function parseArgs(argv: string[]): WebArgs {
  const args: WebArgs = { port: Number(process.env.EDDY_PORT ?? 7420), workspace: process.env.EDDY_WORKSPACE, token: process.env.EDDY_TOKEN };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    const next = (): string => {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    if (arg === '--port') args.port = Number(next());
    else if (arg === '--workspace') args.workspace = next();
    else if (arg === '--token') args.token = next();
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error(`invalid port ${String(args.port)}`);
  return args;
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const appRoot = path.resolve(here, '..', '..');
  const args = parseArgs(process.argv.slice(2));
  const settings = engineSettingsFromEnv({
    ...process.env,
    EDDY_HOST: 'web',
    EDDY_VERSION: __EDDY_VERSION__,
    EDDY_RESOURCES: process.env.EDDY_RESOURCES ?? appRoot,
    EDDY_WORKSPACE: args.workspace ?? '',
  });
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // Web mode resolves ${env:NAME} from this process's environment and ${secret:NAME} only from
  // secrets entered during this session: nothing is written to disk.
  const secrets = new SessionSecrets(process.env, 'web mode has no OS-encrypted secret store, so secrets live in memory for this session only.');
  const supervisor = new EngineSupervisor({
    spawn: forkSpawner(path.join(here, 'engine-process.mjs'), engineEnvironment(settings), log),
    log,
    secrets,
  });
  supervisor.onEvent((event) => {
    if (event.stream !== 'onEngineStatus') return;
    const status = event.payload as { state: string; message?: string };
    if (status.state !== 'ready' && status.state !== 'starting') log(`engine ${status.state}${status.message ? `: ${status.message}` : ''}`);
  });
  supervisor.start();
  const server = await startWebServer({ supervisor, staticDir: path.join(appRoot, 'dist', 'renderer'), port: args.port, token: args.token, log });
  await Promise.race([supervisor.whenReady(), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  process.stdout.write(`Eddy web mode is running on 127.0.0.1 only. Open this URL in a browser:\n\n    ${server.url}\n\n`);
  process.stdout.write(`Workspace: ${settings.workspace ?? 'bundled demo'} · press Ctrl+C to stop.\n`);
  const shutdown = (): void => {
    void Promise.all([server.close(), supervisor.stop()]).finally(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`eddy web mode could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
