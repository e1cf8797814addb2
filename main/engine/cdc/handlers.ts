// The engine's implementation of the cdc part of the contract (shared/contracts/cdc.ts): the
// generic capture commands (source-state.ts) merged with each source kind's own commands.
import type { HandlersFor } from '../../../shared/contract-kit.js';
import type { cdcCommands } from '../../../shared/contracts/cdc.js';
import type { EngineContext } from '../context.js';
import { createPostgresCdcHandlers } from './postgres/handlers.js';
import { createCaptureHandlers } from './source-state.js';
import { createSqlServerCdcHandlers } from './sqlserver/handlers.js';

export function createCdcHandlers(context: EngineContext): HandlersFor<typeof cdcCommands> {
  return {
    ...createCaptureHandlers(context),
    ...createPostgresCdcHandlers(context),
    ...createSqlServerCdcHandlers(context),
  };
}
