// `eddy produce`: sends to a Kafka topic from the command line: one message (`--value`), a JSONL
// file (`--file`), or events of the workspace's log (`--stream`, a replay that keeps keys, headers
// and the original bytes of non-JSON values). Files and replays run as jobs with progress on stderr.
import { commands, type Job } from '../../../shared/contract.js';
import type { Header } from '../../../shared/events.js';
import { openCliEngine } from '../cli-engine.js';
import { flagString, parseArgs, type CliCommand, cliErrorText } from '../command.js';
import { checkRequest, connectionFlag, EXIT, integerFlag, parseTime, UsageError, watchJob, workspaceFlag } from './capture-kafka.js';

const SWITCHES = ['text', 'values', 'strict', 'keep-partitions', 'keep-timestamps', 'quiet', 'create-topic'];

/** All values of a repeatable flag (`--header a=1 --header b=2`). */
function repeated(args: string[], name: string): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    if (arg === `--${name}` && args[index + 1] !== undefined) values.push(args[index + 1]!);
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  });
  return values;
}

export const produceCommand: CliCommand = {
  summary: 'Produce to a Kafka topic: one message, a JSONL file, or a replay of events from the log.',
  usage: [
    'eddy produce (--brokers host:port[,host:port] | --connection ID) --topic NAME  and one of:',
    '    --value JSON [--key KEY] [--header name=value ...] [--partition N] [--text]',
    '    --file PATH.jsonl [--values] [--strict]',
    '    --stream STREAM [--positions P1,P2,...] [--from ISO] [--to ISO] [--max N] [--keep-partitions] [--keep-timestamps]',
    '  [--create-topic] [--workspace DIR] [--quiet]',
    '',
    '  --value          the value, validated as JSON (--text: sent as is); "null" with --text sends "null",',
    '                   --value omitted with --key alone sends a tombstone',
    '  --file           JSONL records {"key", "value", "headers", "partition", "timestamp"} (kcat -J lines',
    '                   work too); --values: each line is the value; --strict: stop at the first bad line',
    '  --stream         replay events of a log stream (needs --workspace); --from/--to bound event time',
    '  --create-topic   create the topic if it does not exist (broker defaults); without it a missing',
    '                   topic is an error, so a mistyped name never creates one',
    '  Exit codes: 0 done, 1 failed, 2 usage, 130 interrupted.',
  ].join('\n'),
  async run(args) {
    const parsed = parseArgs(args, SWITCHES);
    const quiet = parsed.flags.has('quiet');
    const file = flagString(parsed, 'file');
    const stream = flagString(parsed, 'stream');
    const value = flagString(parsed, 'value');
    const key = flagString(parsed, 'key');
    type Plan =
      | { kind: 'one'; request: ReturnType<typeof commands.produceKafkaMessage.request.parse> }
      | { kind: 'file'; request: ReturnType<typeof commands.produceKafkaFile.request.parse> }
      | { kind: 'replay'; request: ReturnType<typeof commands.replayToKafka.request.parse> };
    let plan: Plan;
    let workspace: string | undefined;
    try {
      const modes = [file !== undefined, stream !== undefined, value !== undefined || key !== undefined].filter(Boolean).length;
      if (modes !== 1) throw new UsageError('give exactly one of --value (with --key), --file or --stream.');
      const connection = connectionFlag(parsed);
      const topic = flagString(parsed, 'topic');
      if (!topic) throw new UsageError('name the topic with --topic NAME.');
      if (file !== undefined) {
        plan = {
          kind: 'file',
          request: checkRequest(commands.produceKafkaFile.request, { connection, topic, path: file, lines: parsed.flags.has('values') ? 'values' : 'records', onBadLine: parsed.flags.has('strict') ? 'fail' : 'skip', createTopic: parsed.flags.has('create-topic') }),
        };
        workspace = flagString(parsed, 'workspace') ?? process.env.EDDY_WORKSPACE;
      } else if (stream !== undefined) {
        const from = flagString(parsed, 'from');
        const to = flagString(parsed, 'to');
        const positions = flagString(parsed, 'positions');
        const max = integerFlag(parsed, 'max');
        plan = {
          kind: 'replay',
          request: checkRequest(commands.replayToKafka.request, {
            connection,
            stream,
            topic,
            ...(positions ? { positions: positions.split(',').map((position) => position.trim()) } : {}),
            ...(from !== undefined || to !== undefined ? { eventTime: { ...(from !== undefined ? { from: parseTime(from, '--from') } : {}), ...(to !== undefined ? { to: parseTime(to, '--to') } : {}) } } : {}),
            ...(max !== undefined ? { maxEvents: max } : {}),
            keepPartitions: parsed.flags.has('keep-partitions'),
            keepTimestamps: parsed.flags.has('keep-timestamps'),
            createTopic: parsed.flags.has('create-topic'),
          }),
        };
        workspace = workspaceFlag(parsed);
      } else {
        const headers: Header[] = repeated(args, 'header').map((entry) => {
          const eq = entry.indexOf('=');
          if (eq <= 0) throw new UsageError(`--header needs name=value, not "${entry}".`);
          return { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
        });
        const partition = integerFlag(parsed, 'partition');
        plan = {
          kind: 'one',
          request: checkRequest(commands.produceKafkaMessage.request, {
            connection,
            topic,
            key: key ?? null,
            value: value ?? null,
            format: parsed.flags.has('text') ? 'text' : 'json',
            headers,
            createTopic: parsed.flags.has('create-topic'),
            ...(partition !== undefined ? { partition } : {}),
          }),
        };
        workspace = flagString(parsed, 'workspace') ?? process.env.EDDY_WORKSPACE;
      }
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`eddy produce: ${error.message}\n\nUsage: ${this.usage}\n`);
      return EXIT.usage;
    }

    const engine = await openCliEngine({ ...(workspace !== undefined ? { workspace } : {}), quiet });
    try {
      if (plan.kind === 'one') {
        const result = await engine.handlers.produceKafkaMessage(plan.request);
        process.stdout.write(`Produced to ${result.topic} partition ${result.partition} at offset ${result.offset}.\n`);
        return EXIT.ok;
      }
      const started = plan.kind === 'file' ? await engine.handlers.produceKafkaFile(plan.request) : await engine.handlers.replayToKafka(plan.request);
      return await watchJob(engine, started as Job, { name: 'eddy produce', quiet, interruptMessage: 'Stopping after the batch in flight…' });
    } catch (error) {
      process.stderr.write(`eddy produce: ${cliErrorText(error)}\n`);
      return EXIT.failed;
    } finally {
      await engine.close();
    }
  },
};
