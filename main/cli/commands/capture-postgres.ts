// `eddy capture postgres`: captures PostgreSQL changes (pgoutput logical decoding) into a
// workspace's event log, headless, with progress and rate on stderr. Ctrl-C stops it cleanly:
// what was read is stored and acknowledged to the slot before it exits.
import { commands } from '../../../shared/contract.js';
import { captureRegistry } from '../../engine/cdc/source-state.js';
import type { Job } from '../../../shared/contract.js';
import { openCliEngine } from '../cli-engine.js';
import { flagString, parseArgs, type CliCommand, cliErrorText } from '../command.js';

const SWITCHES = ['snapshot', 'reset-slot', 'until-caught-up', 'no-create', 'quiet'];

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

export const capturePostgresCommand: CliCommand = {
  summary: 'Capture changes from PostgreSQL tables (logical decoding with pgoutput) into the workspace event log.',
  usage: [
    'eddy capture postgres (--url postgres://user@host:5432/db | --connection ID) --tables schema.table[,schema.table...]',
    '         [--workspace DIR] [--slot NAME] [--publication NAME] [--snapshot] [--reset-slot] [--no-create]',
    '         [--max N | --until-caught-up] [--batch N] [--quiet]',
    '',
    '  --snapshot         read the tables\' current rows first (only when the slot is created)',
    '  --reset-slot       after "gap detected": drop the slot, create it again and re-snapshot',
    '  --no-create        fail instead of creating a missing slot or publication',
    '  --max N            stop after N events; --until-caught-up: stop once everything committed is stored',
    '  The password comes from the URL or PGPASSWORD (with --url), or from the connection profile\'s',
    '  ${env:NAME} reference; one entered in the app\'s form stays with the app (the CLI cannot read it).',
    '  Exit codes: 0 done, 1 failed, 2 usage, 3 gap detected (re-snapshot needed), 130 interrupted.',
  ].join('\n'),
  async run(args) {
    const parsed = parseArgs(args, SWITCHES);
    let request: ReturnType<typeof commands.pgStartCapture.request.parse>;
    try {
      const tables = flagString(parsed, 'tables');
      const raw = {
        ...(flagString(parsed, 'url') !== undefined ? { url: flagString(parsed, 'url') } : {}),
        ...(flagString(parsed, 'connection') !== undefined ? { connectionId: flagString(parsed, 'connection') } : {}),
        tables: tables ? tables.split(',').map((table) => table.trim()).filter(Boolean) : [],
        ...(flagString(parsed, 'slot') !== undefined ? { slotName: flagString(parsed, 'slot') } : {}),
        ...(flagString(parsed, 'publication') !== undefined ? { publicationName: flagString(parsed, 'publication') } : {}),
        snapshot: parsed.flags.has('snapshot'),
        resetSlot: parsed.flags.has('reset-slot'),
        createSlot: !parsed.flags.has('no-create'),
        createPublication: !parsed.flags.has('no-create'),
        untilCaughtUp: parsed.flags.has('until-caught-up'),
        ...(integerFlag(flagString(parsed, 'max'), 'max') !== undefined ? { maxEvents: integerFlag(flagString(parsed, 'max'), 'max') } : {}),
        ...(integerFlag(flagString(parsed, 'batch'), 'batch') !== undefined ? { batchSize: integerFlag(flagString(parsed, 'batch'), 'batch') } : {}),
      };
      const checked = commands.pgStartCapture.request.safeParse(raw);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        // Name the flag and the value the user typed, not the request's field path.
        if (issue?.path[0] === 'tables' && typeof issue.path[1] === 'number') throw new Error(`--tables: "${raw.tables[issue.path[1]]}" is not ${issue.message}`);
        throw new Error(`${issue?.path.join('.') || 'options'}: ${issue?.message ?? 'invalid'}`);
      }
      request = checked.data;
    } catch (error) {
      process.stderr.write(`eddy capture postgres: ${cliErrorText(error)}\n\nUsage: ${this.usage}\n`);
      return 2;
    }

    const quiet = parsed.flags.has('quiet');
    const workspace = flagString(parsed, 'workspace');
    const engine = await openCliEngine({ ...(workspace !== undefined ? { workspace } : {}), quiet });
    let interrupted = false;
    try {
      const started = await engine.handlers.pgStartCapture(request);
      const registry = captureRegistry(engine.context);
      const stop = (): void => {
        if (interrupted) return;
        interrupted = true;
        process.stderr.write('\nStopping: storing and acknowledging what was read...\n');
        engine.context.jobs.cancel(started.jobId);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (!quiet) process.stderr.write(`Capturing ${request.tables.join(', ')} (slot ${started.slotName}) into ${engine.context.workspace.root}. Ctrl-C stops cleanly.\n`);
      const tty = process.stderr.isTTY === true;
      let lastLine = 0;
      let lastNote = '';
      const progress = setInterval(() => {
        if (quiet) return;
        const job: Job = engine.context.jobs.get(started.jobId);
        const state = registry.get(started.captureId);
        // State changes and their reasons (reconnecting, snapshot done...) get a line of their own.
        const note = state ? `[${state.state}] ${state.message ?? ''}`.trim() : '';
        if (note && note !== lastNote) {
          lastNote = note;
          process.stderr.write(`${tty ? '\r\u001b[2K' : ''}${note}\n`);
        }
        const line = `${job.done} events · ${formatRate(job.rate)} · ${state?.state ?? job.state}${state?.lagBytes ? ` · ${(state.lagBytes / 1024 / 1024).toFixed(1)} MB behind` : ''}${state?.position ? ` · at ${state.position}` : ''}`;
        if (tty) process.stderr.write(`\r\u001b[2K${line}`);
        else if (Date.now() - lastLine >= 5000) {
          process.stderr.write(`${line}\n`);
          lastLine = Date.now();
        }
      }, 500);
      const job = await engine.context.jobs.wait(started.jobId);
      clearInterval(progress);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      if (tty && !quiet) process.stderr.write('\n');
      const state = registry.get(started.captureId);
      if (job.state === 'failed') {
        process.stderr.write(`eddy capture postgres: ${job.error?.message ?? job.message ?? 'failed'}\n`);
        if (state?.state === 'gap-detected') {
          process.stderr.write(`Gap: changes between ${state.gap?.from} and ${state.gap?.to} can no longer be read. ${state.gap?.recommendation ?? ''}\n`);
          return EXIT_GAP;
        }
        return 1;
      }
      process.stdout.write(`${job.message ?? 'Done.'}\nStreams: ${started.streams.join(', ')} (slot ${started.slotName}, publication ${started.publicationName})\n`);
      // A slot left behind keeps WAL on the server until it is read again or dropped: say so.
      process.stderr.write(
        `Note: slot ${started.slotName} stays on the server, so the next capture continues where this one stopped; it keeps WAL (disk) until read again. When done, drop it: SELECT pg_drop_replication_slot('${started.slotName}'); (or "Drop" beside it in the app's CDC view).\n`,
      );
      return interrupted ? 130 : 0;
    } catch (error) {
      process.stderr.write(`eddy capture postgres: ${cliErrorText(error)}\n`);
      return 1;
    } finally {
      await engine.close();
    }
  },
};
