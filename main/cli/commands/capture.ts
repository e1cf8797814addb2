// `eddy capture <source> ...`: captures events into a workspace's log, headless. Each source kind
// (kafka, postgres, sqlserver) registers its own sub-command below.
import type { CliCommand } from '../command.js';
import { kafkaCapture } from './capture-kafka.js';
import { capturePostgresCommand } from './capture-postgres.js';
import { captureSqlServerCommand } from './capture-sqlserver.js';

export const captureSources: Record<string, CliCommand> = {
  kafka: kafkaCapture,
  postgres: capturePostgresCommand,
  sqlserver: captureSqlServerCommand,
};

export const captureCommand: CliCommand = {
  summary: 'Capture events from a Kafka topic or a CDC source into the workspace event log.',
  usage: 'eddy capture <kafka|postgres|sqlserver> [options]   (eddy capture <source> --help for its options)',
  async run(args) {
    const [source, ...rest] = args;
    const command = source ? captureSources[source] : undefined;
    if (!command) {
      const known = Object.keys(captureSources);
      process.stderr.write(
        `eddy capture: ${source ? `unknown source "${source}"` : 'name a source'}. ${known.length ? `Sources: ${known.join(', ')}.` : 'No capture sources are available in this build.'}\n`,
      );
      return 2;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
      return 0;
    }
    return command.run(rest);
  },
};
