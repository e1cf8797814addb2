// The state store's public surface: keyed state per pipeline and stage, versioned tables with
// as-of lookups, and checkpoints that commit state and source positions together.
export { openStateStore, canonicalKey } from './state-store.js';
export type {
  Checkpoint,
  CheckpointInput,
  CommitInfo,
  KeyedState,
  KeyedStateReader,
  RangeOptions,
  StateStore,
  StateStoreOptions,
  StateTransaction,
  TableChange,
  TableReader,
  TableVersion,
  TableWriter,
} from './state-store.js';
