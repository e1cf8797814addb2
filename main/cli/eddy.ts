// The headless `eddy` command: the same engine as the app, without a UI. Sub-commands are added
// by the features that own them (capture, test, run, export); each exits non-zero on failure.
import { cliCommands } from './commands/index.js';
import { cliErrorText } from './command.js';

declare const __EDDY_VERSION__: string;

const commands = cliCommands;

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return [
    `eddy ${__EDDY_VERSION__}: the streaming-ETL workbench, headless.`,
    '',
    'Usage: eddy <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     Show this help (or `eddy <command> --help`).',
    '  -v, --version  Same as `eddy version`.',
    '',
    'Run `npm start` for the desktop app or `npm run web` for web mode.',
    '',
  ].join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(help());
    return 0;
  }
  if (first === '--version' || first === '-v') return commands.version!.run([]);
  const command = commands[first];
  if (!command) {
    process.stderr.write(`eddy: unknown command "${first}".\n\n${help()}`);
    return 2;
  }
  // Only `eddy <command> --help`: a sub-command (`eddy capture kafka --help`) answers for itself.
  if (rest[0] === '--help' || rest[0] === '-h') {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`eddy: ${cliErrorText(error)}\n`);
    process.exitCode = 1;
  },
);
