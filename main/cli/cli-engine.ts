// Hosts the engine in the CLI's own process (no UI, no child): the same createEngine as the app,
// with ${env:NAME} secrets from the shell's environment.
import { createEngine, type Engine } from '../engine/engine.js';
import { answerSecretsCall, SessionSecrets } from '../host/host-secrets.js';
import { engineSettingsFromEnv } from '../engine/settings.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __EDDY_VERSION__: string;

export interface CliEngineOptions {
  /** Workspace folder; the bundled demo when omitted. */
  workspace?: string;
  /** Print engine problems (warnings and errors) to stderr. */
  quiet?: boolean;
}

export async function openCliEngine(options: CliEngineOptions = {}): Promise<Engine> {
  const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const settings = engineSettingsFromEnv({
    ...process.env,
    EDDY_HOST: 'cli',
    EDDY_VERSION: __EDDY_VERSION__,
    EDDY_RESOURCES: process.env.EDDY_RESOURCES ?? appRoot,
    EDDY_WORKSPACE: options.workspace ?? process.env.EDDY_WORKSPACE ?? '',
  });
  const secrets = new SessionSecrets(
    process.env,
    'the eddy command keeps no secret store; reference environment variables as ${env:NAME}.',
    (name) =>
      `The secret "${name}" was entered in the Eddy app, which keeps it (OS-encrypted, or for its session); the eddy command cannot read it. Give the password another way: in the connection, as an environment variable (\${env:NAME}), or with --url and PGPASSWORD (PostgreSQL) / MSSQL_PASSWORD (SQL Server).`,
  );
  return createEngine(
    settings,
    (stream, payload) => {
      if (options.quiet || stream !== 'onProblem') return;
      const problem = payload as { severity: string; source: string; message: string };
      if (problem.severity !== 'info') process.stderr.write(`${problem.severity}: [${problem.source}] ${problem.message}\n`);
    },
    (call) => answerSecretsCall(secrets, call),
  );
}
