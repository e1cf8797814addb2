// `eddy run <pipeline.json>`: runs a pipeline headless with the same engine and the same
// PipelineManager as the app: live (resuming from its last checkpoint), a replay from the event
// log, or a dry run into shadow tables. SIGINT/SIGTERM stop it gracefully (the current epoch is
// committed and checkpointed first). Exit code 0 when it completed or was stopped, 1 when it failed.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ReplayFrom, RunStatus } from '../../../shared/contracts/pipelines.js';
import { flagString, parseArgs, type CliCommand, cliErrorText } from '../command.js';
import { openCliEngine } from '../cli-engine.js';
import { pipelineManagerFor } from '../../engine/pipelines/handlers.js';

const WORKSPACE_FILE = 'eddy-workspace.json';

function findWorkspace(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, WORKSPACE_FILE))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function parseReplay(kind: string | undefined, from: string | undefined): ReplayFrom | { error: string } | undefined {
  if (kind === undefined) return undefined;
  const [name, inline] = kind.split('=', 2) as [string, string | undefined];
  const value = inline ?? from;
  switch (name) {
    case 'from-beginning':
    case 'beginning':
      return { from: 'beginning' };
    case 'offset': {
      const seq = Number(value);
      if (value === undefined || !Number.isInteger(seq) || seq < 0) return { error: '--replay offset needs --from <log seq> (a whole number, as the explorer shows it)' };
      return { from: 'offset', seq };
    }
    case 'time': {
      const time = value === undefined ? NaN : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(time)) return { error: '--replay time needs --from <ISO time or ms since the epoch>' };
      return { from: 'time', time };
    }
    default:
      return { error: `--replay must be from-beginning, offset or time (got "${kind}")` };
  }
}

function line(status: RunStatus): string {
  return `[${new Date().toISOString()}] ${status.pipeline}: ${status.state}${status.reason ? ` (${status.reason})` : ''}${status.checkpoint ? `, checkpoint ${status.checkpoint.id}` : ''}\n`;
}

export const runCommand: CliCommand = {
  summary: 'Run a pipeline headless: live from its sources, a replay from the event log, or a dry run.',
  usage:
    'eddy run <pipelines/NAME.pipeline.json> [--workspace DIR] [--replay from-beginning|offset|time] [--from SEQ|TIME] [--dry-run] [--follow] [--stop-when-idle MS] [--json]',
  async run(args) {
    const parsed = parseArgs(args, ['dry-run', 'follow', 'json']);
    const file = parsed.positionals[0];
    if (!file || parsed.positionals.length > 1) {
      process.stderr.write(`eddy run: name one pipeline file.\nUsage: ${this.usage}\n`);
      return 2;
    }
    const replay = parseReplay(flagString(parsed, 'replay') ?? (parsed.flags.get('replay') === true ? 'from-beginning' : undefined), flagString(parsed, 'from'));
    if (replay && 'error' in replay) {
      process.stderr.write(`eddy run: ${replay.error}.\n`);
      return 2;
    }
    const absolute = path.resolve(file);
    const workspace = flagString(parsed, 'workspace') ? path.resolve(flagString(parsed, 'workspace')!) : findWorkspace(path.dirname(absolute));
    if (!workspace) {
      process.stderr.write(`eddy run: ${file} is not inside an Eddy workspace (no ${WORKSPACE_FILE} above it); pass --workspace DIR.\n`);
      return 2;
    }
    const relative = path.relative(workspace, absolute).split(path.sep).join('/');
    if (relative.startsWith('../') || path.isAbsolute(relative) || !/^pipelines\/[^/]+\.pipeline\.json$/.test(relative)) {
      process.stderr.write(`eddy run: ${file} is not a pipeline of the workspace ${workspace}: pipelines are its files pipelines/<name>.pipeline.json.\n`);
      return 2;
    }
    if (!existsSync(absolute)) {
      process.stderr.write(`eddy run: no pipeline file ${absolute}.\n`);
      return 2;
    }
    const idle = flagString(parsed, 'stop-when-idle');
    const stopWhenIdleMs = idle === undefined ? undefined : Number(idle);
    if (stopWhenIdleMs !== undefined && !(stopWhenIdleMs >= 0)) {
      process.stderr.write('eddy run: --stop-when-idle needs a number of milliseconds.\n');
      return 2;
    }
    const json = parsed.flags.has('json');
    const engine = await openCliEngine({ workspace });
    let name: string | undefined;
    let lastPrint = 0;
    // Status and metrics go to the terminal (before the manager is created, so it sees this emit).
    const original = engine.context.emit;
    engine.context.emit = (stream, payload) => {
      original(stream, payload);
      if (stream === 'onPipelineStatus') {
        const status = payload as RunStatus;
        process.stderr.write(line(status));
      } else if (stream === 'onPipelineMetrics') {
        const metrics = payload as { records: { in: number; deadLetters: number }; inRate: number; checkpoints: { lastId: number } };
        if (json) process.stdout.write(`${JSON.stringify({ metrics: payload })}\n`);
        else if (Date.now() - lastPrint > 2000) {
          lastPrint = Date.now();
          process.stderr.write(`  ${metrics.records.in} records, ${Math.round(metrics.inRate)}/s, ${metrics.records.deadLetters} dead letters, checkpoint ${metrics.checkpoints.lastId}\n`);
        }
      }
    };
    const manager = pipelineManagerFor(engine.context);
    const stop = (): void => {
      if (name) void manager.stop(name).catch(() => undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const started = await manager.start({
        path: relative,
        mode: replay ? 'replay' : 'live',
        replay,
        dryRun: parsed.flags.has('dry-run'),
        follow: parsed.flags.has('follow'),
        stopWhenIdleMs,
      });
      name = started.status.pipeline;
      const outcome = await started.done;
      const status = manager.status(name);
      const metrics = manager.metrics(name);
      const summary = { pipeline: name, state: outcome.state, reason: outcome.reason, checkpoint: outcome.checkpoint?.id ?? null, records: metrics?.records.in ?? 0, deadLetters: metrics?.records.deadLetters ?? 0, shadowTables: status?.shadowTables ?? null };
      process.stdout.write(json ? `${JSON.stringify({ summary })}\n` : `${name}: ${outcome.state}${outcome.reason ? ` (${outcome.reason})` : ''}; ${summary.records} records, ${summary.deadLetters} dead letters${summary.checkpoint !== null ? `, checkpoint ${summary.checkpoint}` : ''}\n`);
      return outcome.state === 'failed' ? 1 : 0;
    } catch (error) {
      process.stderr.write(`eddy run: ${cliErrorText(error)}\n`);
      return 1;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      engine.context.emit = original;
      await engine.close();
    }
  },
};
