// Secret references. Workspace files, logs, the event log and exports carry only references:
// `${env:NAME}` (an environment variable of the host: web mode, the CLI, the production runner) or
// `${secret:NAME}` (the desktop app's OS-encrypted store, or a session-only secret). The engine
// never stores a value; it asks its host each time it needs one.
import type { SecretsCall } from '../../shared/contract.js';

export const SECRET_REF = /^\$\{(env|secret):([A-Za-z_][A-Za-z0-9_.-]{0,127})\}$/;

export interface SecretRef {
  source: 'env' | 'secret';
  name: string;
}

export function parseSecretRef(text: string): SecretRef | undefined {
  const match = SECRET_REF.exec(text);
  return match ? { source: match[1] as 'env' | 'secret', name: match[2]! } : undefined;
}

export type SecretResolver = (ref: string) => Promise<string>;

/** The engine's line to its host's secrets (see main/host/host-secrets.ts). */
export type AskHostSecrets = (call: SecretsCall) => Promise<unknown>;

/** Replaces a value that is a secret reference by its value; leaves anything else alone. */
export async function resolveMaybeSecret(value: string | undefined, resolve: SecretResolver): Promise<string | undefined> {
  if (value === undefined) return undefined;
  return parseSecretRef(value) ? resolve(value) : value;
}
