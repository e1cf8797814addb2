// Building blocks for the contract and its per-feature parts: the error envelope every boundary
// uses, and the shape of a command or event-stream table. Imported by shared/contract.ts and by
// each feature's table in shared/contracts/.
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Errors cross every boundary as this envelope, never as a bare string.

export const ErrorCodeSchema = z.enum([
  'VALIDATION', // the request did not match the command's schema
  'UNKNOWN_COMMAND', // no such command in the contract
  'NOT_FOUND',
  'CONFLICT',
  'LIMIT', // a size, row or time limit was hit
  'UNAVAILABLE', // the engine or an external service cannot be reached right now
  'CANCELLED',
  'FORBIDDEN',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorEnvelopeSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** An error that carries its envelope, thrown on either side of the contract. */
export class EddyError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'EddyError';
    this.code = code;
    this.details = details;
  }
  toEnvelope(): ErrorEnvelope {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
  static from(envelope: ErrorEnvelope): EddyError {
    return new EddyError(envelope.code, envelope.message, envelope.details);
  }
}

// ---------------------------------------------------------------------------------------------
// Tables of commands and event streams.

export interface CommandSpec {
  request: z.ZodType;
  response: z.ZodType;
}
export type CommandTable = Record<string, CommandSpec>;
export type EventTable = Record<string, z.ZodType>;

/** An empty, strict request. */
export const Empty = z.object({}).strict();

/** A feature's engine-side implementation of its command table. */
export type HandlersFor<C extends CommandTable> = {
  [K in keyof C]: (request: z.output<C[K]['request']>) => Promise<z.output<C[K]['response']>>;
};
