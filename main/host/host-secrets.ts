// The host side of secrets. A host (desktop main, web server, CLI) owns secret values; the engine
// only holds references and asks the host to resolve them. This module has the interface and the
// session store used by web mode and the CLI: `${env:NAME}` from the host's environment, and
// `${secret:NAME}` from memory for this session only (never written to disk).
import { EddyError, type SecretsCall } from '../../shared/contract.js';
import type { SecretStatus } from '../../shared/contracts/connections.js';
import { parseSecretRef } from '../engine/secrets.js';

export interface HostSecrets {
  resolve(ref: string): Promise<string>;
  store(name: string, value: string, persist: boolean): Promise<{ name: string; persisted: boolean; ref: string }>;
  remove(name: string): Promise<{ deleted: boolean }>;
  status(): Promise<SecretStatus>;
}

/**
 * `${env:NAME}`: the variable's value. Unset and empty both fail with the variable's name: an empty
 * password is a forgotten `export`, and sending it would only come back as "authentication failed".
 */
export function envSecret(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new EddyError('NOT_FOUND', `The environment variable ${name} is ${value === undefined ? 'not set' : 'empty'} (referenced as \${env:${name}}).`);
  }
  return value;
}

export function answerSecretsCall(secrets: HostSecrets, call: SecretsCall): Promise<unknown> {
  switch (call.op) {
    case 'resolve':
      return secrets.resolve(call.ref);
    case 'store':
      return secrets.store(call.name, call.value, call.persist);
    case 'remove':
      return secrets.remove(call.name);
    case 'status':
      return secrets.status();
  }
}

/** Secrets for hosts without an OS-encrypted store: environment references plus session memory. */
export class SessionSecrets implements HostSecrets {
  private readonly session = new Map<string, string>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** Why secrets cannot be persisted on this host, told to the user when they ask to. */
    private readonly why: string,
    /** What to say when a ${secret:NAME} is not set (default: enter it in the connection's form). */
    private readonly missing: (name: string) => string = (name) => `The secret "${name}" is not set in this session; enter it in the connection's form (it is kept in memory only).`,
  ) {}

  async resolve(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (!parsed) throw new EddyError('VALIDATION', 'Not a secret reference: use ${env:NAME} or ${secret:NAME}.');
    if (parsed.source === 'env') return envSecret(this.env, parsed.name);
    const value = this.session.get(parsed.name);
    if (value === undefined) throw new EddyError('NOT_FOUND', this.missing(parsed.name));
    return value;
  }

  async store(name: string, value: string, persist: boolean): Promise<{ name: string; persisted: boolean; ref: string }> {
    if (persist) throw new EddyError('FORBIDDEN', `Secrets cannot be saved here: ${this.why} Keep it for this session, or reference an environment variable as \${env:NAME}.`);
    this.session.set(name, value);
    return { name, persisted: false, ref: `\${secret:${name}}` };
  }

  async remove(name: string): Promise<{ deleted: boolean }> {
    return { deleted: this.session.delete(name) };
  }

  async status(): Promise<SecretStatus> {
    return { persistentAvailable: false, backend: 'none', reason: this.why, secrets: [...this.session.keys()].map((name) => ({ name, persisted: false })) };
  }
}
