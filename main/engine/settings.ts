// The engine's settings, read from the handful of environment variables its host passes (the
// engine starts with an otherwise empty environment, so nothing else leaks in).
import path from 'node:path';
import os from 'node:os';

export type HostKind = 'desktop' | 'web' | 'cli';

export interface EngineSettings {
  host: HostKind;
  version: string;
  /** The workspace folder; when absent the bundled demo workspace is opened. */
  workspace: string | undefined;
  /** Per-user data folder (the demo workspace's working copy lives here). */
  dataDir: string;
  /** Folder holding the app's bundled resources (demo workspace, wasm). */
  resourcesDir: string;
}

export const ENGINE_ENV_KEYS = ['EDDY_HOST', 'EDDY_VERSION', 'EDDY_WORKSPACE', 'EDDY_DATA_DIR', 'EDDY_RESOURCES'] as const;

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'eddy');
}

export function engineSettingsFromEnv(env: NodeJS.ProcessEnv): EngineSettings {
  const host = env.EDDY_HOST === 'desktop' || env.EDDY_HOST === 'cli' ? env.EDDY_HOST : 'web';
  return {
    host,
    version: env.EDDY_VERSION ?? '0.0.0',
    workspace: env.EDDY_WORKSPACE ? path.resolve(env.EDDY_WORKSPACE) : undefined,
    dataDir: env.EDDY_DATA_DIR ? path.resolve(env.EDDY_DATA_DIR) : defaultDataDir(),
    resourcesDir: env.EDDY_RESOURCES ? path.resolve(env.EDDY_RESOURCES) : process.cwd(),
  };
}

/**
 * V8 flags every host starts the engine process with. V8 compiles WebAssembly lazily, function by
 * function on first call: sql.js's first statements would pay that compilation on the way to the
 * explorer's first page after a start (measured in the eventlog bench, "cold start"); compiled
 * eagerly it happens while sql.js loads, off that path.
 */
export const ENGINE_EXEC_ARGV: readonly string[] = ['--no-wasm-lazy-compilation'];

/**
 * Added where the engine runs on plain Node (web mode, the CLI's engine): isolated-vm, the
 * V8-isolate sandbox, asks Node 20 and later to start without its startup snapshot.
 */
export const NODE_ENGINE_EXEC_ARGV: readonly string[] = [...ENGINE_EXEC_ARGV, '--no-node-snapshot'];

/** The environment a host passes to the engine: only Eddy's own keys plus what Node needs. */
export function engineEnvironment(settings: EngineSettings, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    EDDY_HOST: settings.host,
    EDDY_VERSION: settings.version,
    EDDY_DATA_DIR: settings.dataDir,
    EDDY_RESOURCES: settings.resourcesDir,
    ...extra,
  };
  if (settings.workspace) env.EDDY_WORKSPACE = settings.workspace;
  // glibc keeps large buffers sql.js frees; a lower mmap threshold returns them to the system, which
  // keeps the engine's memory flat however long the log grows (measured in the eventlog bench).
  if (process.platform === 'linux') env.MALLOC_MMAP_THRESHOLD_ = '131072';
  // Secrets referenced as ${env:NAME} are resolved by the engine, so a host may pass them on
  // explicitly through `extra`; nothing else from the parent's environment is inherited.
  for (const key of ['TZ', 'LANG', 'SYSTEMROOT', 'TMPDIR', 'TEMP', 'TMP']) {
    const value = process.env[key];
    if (value !== undefined && env[key] === undefined) env[key] = value;
  }
  return env;
}
