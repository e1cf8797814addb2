// What every engine feature gets: the settings, the open workspace, the event log, jobs with
// progress and cancel, event emission, user-visible problems, secret resolution, and a place to
// register clean-up when the engine closes.
import type { EventPayloadOf, EventStreamName, Problem } from '../../shared/contract.js';
import type { Jobs } from './jobs.js';
import type { EventLog } from './log/index.js';
import type { AskHostSecrets, SecretResolver } from './secrets.js';
import type { EngineSettings } from './settings.js';
import type { OpenedWorkspace } from './workspace/workspace.js';

export type Emit = <K extends EventStreamName>(stream: K, payload: EventPayloadOf<K>) => void;

export interface EngineContext {
  settings: EngineSettings;
  workspace: OpenedWorkspace;
  log: EventLog;
  jobs: Jobs;
  emit: Emit;
  report(severity: Problem['severity'], source: string, message: string): void;
  resolveSecret: SecretResolver;
  /** Store, remove and list secrets with the host (only the connections feature needs this). */
  askHost: AskHostSecrets;
  /** Runs when the engine closes, most recent first (stop captures, close clients). */
  onClose(cleanup: () => Promise<void> | void): void;
}
