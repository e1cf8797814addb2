// `eddy capture kafka`: captures Kafka records into a workspace's event log, headless, with
// progress and rate on stderr and a one-line summary on stdout. Ctrl-C stops cleanly: what was read
// is stored before it exits. Also holds the job-watching helper `eddy produce` shares.
import { commands, type Job } from '../../../shared/contract.js';
import type { KafkaConnection, KafkaStart } from '../../../shared/contracts/kafka.js';
import type { Engine } from '../../engine/engine.js';
import { openCliEngine } from '../cli-engine.js';
import { flagString, parseArgs, type CliCommand, type ParsedArgs, cliErrorText } from '../command.js';

const SWITCHES = ['follow', 'quiet'];

/** Exit codes shared by the Kafka commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {}

export function integerFlag(parsed: ParsedArgs, name: string): number | undefined {
  const value = flagString(parsed, name);
  if (value === undefined) {
    if (parsed.flags.get(name) === true) throw new UsageError(`--${name} needs a value.`);
    return undefined;
  }
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} needs a whole number, not "${value}".`);
  return Number(value);
}

/** Milliseconds since the epoch from an ISO date (2026-03-02T08:00:00Z) or a number of ms. */
export function parseTime(text: string, what: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${what}: "${text}" is not an ISO date-time (2026-03-02T08:00:00Z) nor milliseconds.`);
  return ms;
}

/** `--brokers h:p,h:p` (or KAFKA_BROKERS) or `--connection ID`. */
export function connectionFlag(parsed: ParsedArgs): KafkaConnection {
  const id = flagString(parsed, 'connection');
  const brokers = flagString(parsed, 'brokers') ?? (id === undefined ? process.env.KAFKA_BROKERS : undefined);
  if (id !== undefined && flagString(parsed, 'brokers') !== undefined) throw new UsageError('give either --brokers or --connection, not both.');
  if (id !== undefined) return id;
  if (!brokers) throw new UsageError('name the cluster with --brokers host:port[,host:port] or --connection ID (or set KAFKA_BROKERS).');
  const clientId = flagString(parsed, 'client-id');
  return {
    brokers: brokers
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    ...(clientId ? { clientId } : {}),
  };
}

export function parseStart(text: string): KafkaStart {
  if (text === 'oldest' || text === 'beginning') return { kind: 'oldest' };
  if (text === 'newest' || text === 'end') return { kind: 'newest' };
  const [kind, value] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
  if (kind === 'offset' && /^\d+$/.test(value)) return { kind: 'offset', offset: Number(value) };
  if (kind === 'last' && /^\d+$/.test(value)) return { kind: 'last', count: Number(value) };
  if (kind === 'time') return { kind: 'timestamp', timestamp: parseTime(value, '--from time:') };
  throw new UsageError(`--from must be oldest, newest, offset:N, last:N or time:ISO-DATE, not "${text}".`);
}

/** Validates a request with the contract's schema, reporting the first problem as a usage error. */
export function checkRequest<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, raw: unknown): T {
  const checked = schema.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new UsageError(`${issue?.path.map(String).join('.') || 'options'}: ${issue?.message ?? 'invalid'}`);
  }
  return checked.data;
}

function formatRate(rate: number): string {
  return rate >= 1000 ? `${(rate / 1000).toFixed(1)}k/s` : `${Math.round(rate)}/s`;
}

/**
 * Waits for a job, showing its progress on stderr (one rewritten line on a terminal, a line every
 * 5 s otherwise); Ctrl-C cancels it and waits for it to wind down. Returns the exit code.
 */
export async function watchJob(engine: Engine, started: Job, options: { name: string; quiet: boolean; interruptMessage: string }): Promise<number> {
  let interrupted = false;
  const stop = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${options.interruptMessage}\n`);
    engine.context.jobs.cancel(started.id);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  const progress = setInterval(() => {
    if (options.quiet) return;
    const job = engine.context.jobs.get(started.id);
    const total = job.total !== null ? ` / ${job.total.toLocaleString('en')}` : '';
    const line = `${job.done.toLocaleString('en')}${total} ${job.unit} · ${formatRate(job.rate)}${job.message ? ` · ${job.message}` : ''}`;
    if (tty) process.stderr.write(`\r\u001b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else if (Date.now() - lastLine >= 5000) {
      process.stderr.write(`${line}\n`);
      lastLine = Date.now();
    }
  }, 500);
  try {
    const job = await engine.context.jobs.wait(started.id);
    if (tty && !options.quiet) process.stderr.write('\r\u001b[2K');
    if (job.state === 'failed') {
      process.stderr.write(`${options.name}: ${job.error?.message ?? job.message ?? 'failed'}\n`);
      return EXIT.failed;
    }
    process.stdout.write(`${job.message ?? 'Done.'}\n`);
    return interrupted || job.state === 'cancelled' ? EXIT.interrupted : EXIT.ok;
  } finally {
    clearInterval(progress);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

export function workspaceFlag(parsed: ParsedArgs): string {
  const workspace = flagString(parsed, 'workspace') ?? process.env.EDDY_WORKSPACE;
  if (!workspace) throw new UsageError('name the workspace folder with --workspace DIR (or set EDDY_WORKSPACE).');
  return workspace;
}

export const kafkaCapture: CliCommand = {
  summary: 'Capture records from Kafka topics into the workspace event log.',
  usage: [
    'eddy capture kafka (--brokers host:port[,host:port] | --connection ID) --topic NAME[:P,P...] [--topic ...]',
    '         --workspace DIR [--from oldest|newest|offset:N|last:N|time:ISO] [--max N] [--max-bytes N]',
    '         [--until ISO] [--follow] [--give-up-after SECONDS] [--quiet]',
    '',
    '  --topic orders:0,2   capture partitions 0 and 2 of "orders" (all partitions when none are named)',
    '  --from               where each partition starts (default oldest); last:N = the last N records',
    '  --max, --max-bytes   stop after N records or N bytes of keys and values',
    '  --until              stop at the first record at or after this time (exclusive end)',
    '  --follow             keep reading new records (live tail) until a limit or Ctrl-C;',
    '                       without it, stop at the end offsets the topic had when the capture started',
    '  --give-up-after      fail when no broker answers for this long (default: keep retrying)',
    '  Events land in stream kafka:<topic>, position kafka:<topic>/<partition>/<offset>; capturing the',
    '  same records twice stores them once. KAFKA_BROKERS works in place of --brokers.',
    '  Exit codes: 0 done, 1 failed, 2 usage, 130 interrupted (what was read is kept).',
  ].join('\n'),
  async run(args) {
    const parsed = parseArgs(args, SWITCHES);
    let request: ReturnType<typeof commands.startKafkaCapture.request.parse>;
    let workspace: string;
    let giveUpAfter: number | undefined;
    try {
      const topics = [...args.entries()].filter(([, arg]) => arg === '--topic' || arg.startsWith('--topic=')).map(([index, arg]) => (arg === '--topic' ? args[index + 1] : arg.slice('--topic='.length)));
      if (topics.length === 0 || topics.some((topic) => !topic || topic.startsWith('--'))) throw new UsageError('name at least one topic with --topic NAME.');
      const until = flagString(parsed, 'until');
      const from = flagString(parsed, 'from');
      giveUpAfter = integerFlag(parsed, 'give-up-after');
      request = checkRequest(commands.startKafkaCapture.request, {
        connection: connectionFlag(parsed),
        topics: topics.map((entry) => {
          const [topic, partitions] = entry!.split(':');
          return { topic, ...(partitions ? { partitions: partitions.split(',').map((partition) => (/^\d+$/.test(partition) ? Number(partition) : partition)) } : {}) };
        }),
        start: from !== undefined ? parseStart(from) : { kind: 'oldest' },
        stop: {
          follow: parsed.flags.has('follow'),
          ...(integerFlag(parsed, 'max') !== undefined ? { maxMessages: integerFlag(parsed, 'max') } : {}),
          ...(integerFlag(parsed, 'max-bytes') !== undefined ? { maxBytes: integerFlag(parsed, 'max-bytes') } : {}),
          ...(until !== undefined ? { untilTime: parseTime(until, '--until') } : {}),
        },
        ...(giveUpAfter !== undefined ? { giveUpAfterMs: giveUpAfter * 1000 } : {}),
      });
      workspace = workspaceFlag(parsed);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`eddy capture kafka: ${error.message}\n\nUsage: ${this.usage}\n`);
      return EXIT.usage;
    }

    const quiet = parsed.flags.has('quiet');
    const engine = await openCliEngine({ workspace, quiet });
    try {
      const started = await engine.handlers.startKafkaCapture(request);
      if (!quiet) {
        const what = request.topics.map((entry) => `${entry.topic}${entry.partitions ? `:${entry.partitions.join(',')}` : ''}`).join(', ');
        process.stderr.write(`Capturing ${what} into ${engine.context.workspace.root}. Ctrl-C stops cleanly.\n`);
      }
      return await watchJob(engine, started as Job, { name: 'eddy capture kafka', quiet, interruptMessage: 'Stopping: storing what was read…' });
    } catch (error) {
      process.stderr.write(`eddy capture kafka: ${cliErrorText(error)}\n`);
      return EXIT.failed;
    } finally {
      await engine.close();
    }
  },
};
