// `eddy capture sqlserver`: captures SQL Server change data capture (CDC) changes into a workspace's
// event log, headless, with progress, rate and the source state on stderr. Ctrl-C stops it cleanly:
// what the log stored keeps its position, so the next run continues exactly after it.
import { commands, type Job } from '../../../shared/contract.js';
import { captureRegistry } from '../../engine/cdc/source-state.js';
import { openCliEngine } from '../cli-engine.js';
import { flagString, parseArgs, type CliCommand, cliErrorText } from '../command.js';

const SWITCHES = ['snapshot', 'resnapshot', 'until-caught-up', 'quiet'];

/** Exit codes: 0 done, 1 failed, 2 bad usage, 3 gap detected (re-snapshot needed), 130 interrupted. */
export const EXIT_GAP = 3;

function integerFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} needs a whole number, not "${value}".`);
  return Number(value);
}

function formatRate(rate: number): string {
  return rate >= 1000 ? `${(rate / 1000).toFixed(1)}k/s` : `${Math.round(rate)}/s`;
}

/** Without a password in the URL, MSSQL_PASSWORD is used as a reference (never copied anywhere). */
export function withPasswordReference(url: string, env: NodeJS.ProcessEnv): string {
  try {
    const parsed = new URL(url);
    if (parsed.password || env.MSSQL_PASSWORD === undefined) return url;
    parsed.password = encodeURIComponent('${env:MSSQL_PASSWORD}');
    return parsed.toString();
  } catch {
    return url;
  }
}

export function sqlServerCaptureRequest(args: string[], env: NodeJS.ProcessEnv = process.env): ReturnType<typeof commands.mssqlStartCapture.request.parse> {
  const parsed = parseArgs(args, SWITCHES);
  const tables = flagString(parsed, 'tables');
  const url = flagString(parsed, 'url');
  const isolation = flagString(parsed, 'isolation');
  const start = flagString(parsed, 'start');
  const number = (flag: string, key: string): Record<string, number> => {
    const value = integerFlag(flagString(parsed, flag), flag);
    return value === undefined ? {} : { [key]: value };
  };
  const raw = {
    ...(url !== undefined ? { url: withPasswordReference(url, env) } : {}),
    ...(flagString(parsed, 'connection') !== undefined ? { connectionId: flagString(parsed, 'connection') } : {}),
    ...(flagString(parsed, 'database') !== undefined ? { database: flagString(parsed, 'database') } : {}),
    tables: tables ? tables.split(',').map((table) => table.trim()).filter(Boolean) : [],
    ...(flagString(parsed, 'name') !== undefined ? { name: flagString(parsed, 'name') } : {}),
    ...(flagString(parsed, 'server-name') !== undefined ? { serverName: flagString(parsed, 'server-name') } : {}),
    snapshot: parsed.flags.has('snapshot') || parsed.flags.has('resnapshot'),
    resetPosition: parsed.flags.has('resnapshot'),
    ...(isolation !== undefined ? { isolation } : {}),
    ...(start !== undefined ? { startAt: start } : {}),
    untilCaughtUp: parsed.flags.has('until-caught-up'),
    ...number('max', 'maxEvents'),
    ...number('batch', 'batchSize'),
    ...number('max-transactions', 'maxTransactionsPerPoll'),
    ...number('poll-ms', 'pollIntervalMs'),
  };
  const checked = commands.mssqlStartCapture.request.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`${issue?.path.join('.') || 'options'}: ${issue?.message ?? 'invalid'}`);
  }
  return checked.data;
}

export const captureSqlServerCommand: CliCommand = {
  summary: 'Capture changes from SQL Server CDC tables into the workspace event log.',
  usage: [
    'eddy capture sqlserver (--url mssql://user@host:1433/db | --connection ID) --tables schema.table[,schema.table...]',
    '         [--workspace DIR] [--name NAME] [--snapshot [--isolation snapshot|tablock]] [--start now|earliest]',
    '         [--resnapshot] [--max N | --until-caught-up] [--batch N] [--max-transactions N] [--poll-ms N] [--quiet]',
    '',
    '  --snapshot         read the tables\' current rows first (only without a stored position), then stream',
    '  --isolation        snapshot (default; needs ALLOW_SNAPSHOT_ISOLATION) or tablock (blocks writers while it reads)',
    '  --start            without a snapshot or stored position: now (default) or earliest (every retained change)',
    '  --resnapshot       after "gap detected": set the stored position aside and snapshot again',
    '  --name NAME        names the stored position (same name = resume); default: <database>-<hash of the tables>',
    '  --max N            stop after N events; --until-caught-up: stop once everything CDC recorded is stored',
    '  The password comes from the URL (a literal or ${env:NAME}), MSSQL_PASSWORD, or the connection profile.',
    '  Exit codes: 0 done, 1 failed, 2 usage, 3 gap detected (re-snapshot needed), 130 interrupted.',
  ].join('\n'),
  async run(args) {
    let request: ReturnType<typeof commands.mssqlStartCapture.request.parse>;
    const parsed = parseArgs(args, SWITCHES);
    try {
      request = sqlServerCaptureRequest(args);
    } catch (error) {
      process.stderr.write(`eddy capture sqlserver: ${cliErrorText(error)}\n\nUsage: ${this.usage}\n`);
      return 2;
    }

    const quiet = parsed.flags.has('quiet');
    const workspace = flagString(parsed, 'workspace');
    const engine = await openCliEngine({ ...(workspace !== undefined ? { workspace } : {}), quiet });
    let interrupted = false;
    try {
      const started = await engine.handlers.mssqlStartCapture(request);
      const registry = captureRegistry(engine.context);
      if (!quiet && started.resumedFrom) process.stderr.write(`Resuming after ${started.resumedFrom}.\n`);
      const stop = (): void => {
        if (interrupted) return;
        interrupted = true;
        process.stderr.write('\nStopping: the position of everything stored is kept...\n');
        engine.context.jobs.cancel(started.jobId);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const tty = process.stderr.isTTY === true;
      let lastLine = 0;
      let lastState = '';
      const progress = setInterval(() => {
        if (quiet) return;
        const job: Job = engine.context.jobs.get(started.jobId);
        const state = registry.get(started.captureId);
        const stateName = state?.state ?? job.state;
        const line = `${job.done} events · ${formatRate(job.rate)} · ${stateName}${state?.lagMs ? ` · ${Math.round(state.lagMs / 1000)} s behind` : ''}${state?.position ? ` · at ${state.position}` : ''}`;
        if (tty) process.stderr.write(`\r\u001b[2K${line}`);
        else if (Date.now() - lastLine >= 5000 || stateName !== lastState) {
          process.stderr.write(`${line}${state?.message && stateName !== lastState ? ` — ${state.message}` : ''}\n`);
          lastLine = Date.now();
        }
        lastState = stateName;
      }, 500);
      const job = await engine.context.jobs.wait(started.jobId);
      clearInterval(progress);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      if (tty && !quiet) process.stderr.write('\n');
      const state = registry.get(started.captureId);
      if (job.state === 'failed') {
        process.stderr.write(`eddy capture sqlserver: ${job.error?.message ?? job.message ?? 'failed'}\n`);
        if (state?.state === 'gap-detected') {
          process.stderr.write(`Gap: changes from LSN ${state.gap?.from} up to ${state.gap?.to} can no longer be read. Run again with --resnapshot. ${state.gap?.recommendation ?? ''}\n`);
          return EXIT_GAP;
        }
        return 1;
      }
      process.stdout.write(`${job.message ?? 'Done.'}\nStreams: ${started.streams.join(', ')} (capture ${started.captureId})\n`);
      return interrupted ? 130 : 0;
    } catch (error) {
      process.stderr.write(`eddy capture sqlserver: ${cliErrorText(error)}\n`);
      return 1;
    } finally {
      await engine.close();
    }
  },
};
