// The shape of one `eddy` sub-command, and a tiny flag parser shared by them.
import { z } from 'zod';
import { toEnvelope } from '../engine/dispatch.js';

/** What a failure says on the terminal: a rejected request as one readable line (never zod's JSON). */
export function cliErrorText(error: unknown): string {
  if (error instanceof z.ZodError) return toEnvelope(error).message;
  return error instanceof Error ? error.message : String(error);
}
export interface CliCommand {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/** `--name value`, `--name=value` and bare `--switch`; `--` ends the flags. */
export function parseArgs(args: string[], switches: string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      else if (switches.includes(arg.slice(2)) || index + 1 >= args.length || args[index + 1]!.startsWith('--')) flags.set(arg.slice(2), true);
      else flags.set(arg.slice(2), args[++index]!);
    } else {
      positionals.push(arg);
    }
  }
  return { positionals, flags };
}

export function flagString(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.flags.get(name);
  return typeof value === 'string' ? value : undefined;
}
