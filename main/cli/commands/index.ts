// Every `eddy` sub-command. Features add theirs here (capture, test, run, export).
import type { CliCommand } from '../command.js';
import { captureCommand } from './capture.js';
import { versionCommand } from './version.js';

export const cliCommands: Record<string, CliCommand> = {
  version: versionCommand,
  capture: captureCommand,
  produce: (await import('./produce.js')).produceCommand,
  test: (await import('./test.js')).testCommand,
  run: (await import('./run.js')).runCommand,
  export: (await import('./export.js')).exportCommand,
};
