// The desktop host's answer to the engine's secret questions (main/host/host-secrets.ts):
// `${secret:NAME}` from the safeStorage-backed SecretStore (or this session's memory) and
// `${env:NAME}` from the environment Eddy was started with. The engine never keeps a value.
import { EddyError } from '../../shared/contract.js';
import type { SecretStatus } from '../../shared/contracts/connections.js';
import { parseSecretRef } from '../engine/secrets.js';
import { envSecret, type HostSecrets } from '../host/host-secrets.js';
import type { SecretStore } from './secrets.js';

export class DesktopSecrets implements HostSecrets {
  constructor(
    private readonly secrets: SecretStore,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async resolve(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (!parsed) throw new EddyError('VALIDATION', 'Not a secret reference: use ${env:NAME} or ${secret:NAME}.');
    if (parsed.source === 'env') return envSecret(this.env, parsed.name);
    const value = await this.secrets.get(parsed.name);
    if (value === undefined) throw new EddyError('NOT_FOUND', `The secret "${parsed.name}" is not set; enter it in the connection's form.`);
    return value;
  }

  /** `persist` asks for the encrypted store and is refused (FORBIDDEN) where safeStorage cannot protect it. */
  async store(name: string, value: string, persist: boolean): Promise<{ name: string; persisted: boolean; ref: string }> {
    const kept = await this.secrets.set(name, value, { persistence: persist ? 'encrypted' : 'session' });
    return { name, persisted: kept === 'encrypted', ref: `\${secret:${name}}` };
  }

  async remove(name: string): Promise<{ deleted: boolean }> {
    return { deleted: await this.secrets.delete(name) };
  }

  async status(): Promise<SecretStatus> {
    const [status, entries] = await Promise.all([this.secrets.status(), this.secrets.list()]);
    return {
      persistentAvailable: status.persistent,
      backend: status.backend,
      ...(status.reason === undefined ? {} : { reason: status.reason }),
      secrets: entries.map((entry) => ({ name: entry.name, persisted: entry.persistence === 'encrypted' })),
    };
  }
}
