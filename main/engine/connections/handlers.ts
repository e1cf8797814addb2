// The engine's implementation of the connections part of the contract: profiles in the
// workspace, "test connection" per kind, and secrets kept by the host.
import type { HandlersFor } from '../../../shared/contract-kit.js';
import type { ConnectionProfile, ConnectionTestResult, SecretStatus, connectionCommands } from '../../../shared/contracts/connections.js';
import type { EngineContext } from '../context.js';
import { deleteConnectionProfile, getConnectionProfile, listConnectionProfiles, saveConnectionProfile } from './store.js';
import { connectionTesters } from './testers.js';

export function createConnectionsHandlers(context: EngineContext): HandlersFor<typeof connectionCommands> {
  return {
    listConnections: async () => listConnectionProfiles(context),
    saveConnection: async ({ profile }) => saveConnectionProfile(context, profile),
    deleteConnection: async ({ id }) => ({ deleted: await deleteConnectionProfile(context, id) }),
    testConnection: async (target) => {
      const profile: ConnectionProfile = 'id' in target ? await getConnectionProfile(context, target.id) : target.profile;
      const started = Date.now();
      try {
        return await connectionTesters[profile.kind](profile as never, context.resolveSecret);
      } catch (error) {
        // A tester that throws (for example a missing secret) still answers with where it stopped.
        const message = error instanceof Error ? error.message : String(error);
        const stage: ConnectionTestResult['stage'] = /secret|environment variable/i.test(message) ? 'secret' : 'config';
        return { ok: false, stage, message, elapsedMs: Date.now() - started };
      }
    },
    secretStatus: async () => (await context.askHost({ op: 'status' })) as SecretStatus,
    setSecret: async ({ name, value, persist }) => (await context.askHost({ op: 'store', name, value, persist })) as { name: string; persisted: boolean; ref: string },
    deleteSecret: async ({ name }) => (await context.askHost({ op: 'remove', name })) as { deleted: boolean },
  };
}
