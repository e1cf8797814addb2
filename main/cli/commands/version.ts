// `eddy version`.
import type { CliCommand } from '../command.js';

declare const __EDDY_VERSION__: string;

export const versionCommand: CliCommand = {
  summary: 'Print the version of Eddy and of the Node runtime.',
  usage: 'eddy version',
  async run() {
    process.stdout.write(`eddy ${__EDDY_VERSION__} (node ${process.version}, ${process.platform}-${process.arch})\n`);
    return 0;
  },
};
