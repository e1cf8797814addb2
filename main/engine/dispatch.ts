// Turns a wire request into a handler call: the one place where every request is validated
// against the contract before any engine code sees it, and where every failure becomes a typed
// error envelope (never a bare string, never a crash).
import { z } from 'zod';
import {
  commands,
  EddyError,
  isCommandName,
  WireRequestSchema,
  type Commands,
  type ErrorEnvelope,
  type HandlersFor,
  type WireResponse,
} from '../../shared/contract.js';

/** The engine's implementation of the contract: one handler per command, typed to satisfy it. */
export type Handlers = HandlersFor<Commands>;

export function toEnvelope(error: unknown): ErrorEnvelope {
  if (error instanceof EddyError) return error.toEnvelope();
  if (error instanceof z.ZodError) {
    return { code: 'VALIDATION', message: describeIssues(error), details: { issues: error.issues } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Unexpected engine error: ${message}` };
}

function describeIssues(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'Invalid request.';
  const where = first.path.length > 0 ? first.path.join('.') : 'request';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return `Invalid request: ${where}: ${first.message}${more}`;
}

export async function dispatch(handlers: Handlers, raw: unknown): Promise<WireResponse | undefined> {
  const envelope = WireRequestSchema.safeParse(raw);
  if (!envelope.success) {
    // Without an id there is nobody to answer; a request with an id still gets its error.
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : undefined;
    if (id === undefined) return undefined;
    return { kind: 'response', id, ok: false, error: toEnvelope(envelope.error) };
  }
  const { id, command, payload } = envelope.data;
  if (!isCommandName(command)) {
    return {
      kind: 'response',
      id,
      ok: false,
      error: { code: 'UNKNOWN_COMMAND', message: `Unknown command "${command}".`, details: { command } },
    };
  }
  try {
    const parsed = commands[command].request.safeParse(payload ?? {});
    if (!parsed.success) return { kind: 'response', id, ok: false, error: toEnvelope(parsed.error) };
    const handler = handlers[command] as (request: unknown) => Promise<unknown>;
    const result = await handler(parsed.data);
    return { kind: 'response', id, ok: true, result };
  } catch (error) {
    return { kind: 'response', id, ok: false, error: toEnvelope(error) };
  }
}
