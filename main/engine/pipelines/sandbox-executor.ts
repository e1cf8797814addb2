// Pipeline stages run their scripts in the transforms feature's QuickJS sandbox (worker threads,
// time and memory limits): this adapts its TransformPool to the pipeline's ScriptExecutor port.
//
// Keyed stages scope `ctx.state` to the record's key. The sandbox's state is one flat map per
// session, so the script is wrapped: the module is compiled to CommonJS (esbuild, with a source
// map) and followed by a small default export that reads the key's scope from the event and
// prefixes state keys with it (`<key>\u0000<name>`, the same keys the in-process executor and the
// checkpoints use). The wrapper only adds code after the script, so stack lines map back through
// the source map to the user's own lines.
import type { JsonValue } from '../../../shared/events.js';
import { lineMapper, mapStack } from '../transforms/compile.js';
import { TransformPool, type PoolOptions, type Session } from '../transforms/sandbox/pool.js';
import type { StageError } from './model.js';
import { fromTransformResult, toTransformEvent, type SandboxCode, type ScriptCallResult, type ScriptExecutor, type ScriptModule, type ScriptSession } from './scripts.js';

const SCOPE_FIELD = '__eddyScope';

/** Runs after the script's own code (CommonJS) in the same module: scopes state per key. */
const WRAPPER = `
;const __eddyModule = module.exports && module.exports.__esModule ? module.exports : { default: module.exports };
const __eddyUser = typeof __eddyModule.default === 'function' ? __eddyModule.default : __eddyModule[__eddyExport];
if (typeof __eddyUser !== 'function') throw new TypeError('the script does not export a function named ' + __eddyExport);
export default function (event, ctx) {
  const scope = event.${SCOPE_FIELD};
  delete event.${SCOPE_FIELD};
  if (scope === undefined) return __eddyUser(event, ctx);
  const name = (key) => scope + '\\u0000' + String(key);
  const state = Object.freeze({
    get: (key) => ctx.state.get(name(key)),
    put: (key, value) => ctx.state.put(name(key), value),
    delete: (key) => ctx.state.delete(name(key)),
  });
  return __eddyUser(event, Object.freeze({ state, lookup: ctx.lookup, log: ctx.log, now: ctx.now }));
}
`;

/** Compiles a script for the sandbox (esbuild, loaded on use: the exported runner ships the result instead). */
export async function compileSandboxCode(module: Pick<ScriptModule, 'file' | 'source' | 'exportName'>): Promise<SandboxCode> {
  const { transform: esbuildTransform } = await import('esbuild');
  let result;
  try {
    result = await esbuildTransform(module.source, {
      loader: /\.(js|mjs|cjs)$/i.test(module.file) ? 'js' : 'ts',
      format: 'cjs',
      target: 'es2022',
      sourcemap: 'external',
      sourcefile: module.file,
      logLevel: 'silent',
    });
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0];
    throw new Error(`${module.file}${first?.location ? `:${first.location.line}:${first.location.column + 1}` : ''}: ${first?.text ?? (error as Error).message}`);
  }
  // Prepended on the first line so every line of the script keeps its number.
  const prefix = `var module = { exports: {} }, exports = module.exports, __eddyExport = ${JSON.stringify(module.exportName)};`;
  return { code: prefix + result.code + WRAPPER, sourceMap: result.map, prefixLength: prefix.length };
}

export async function compileForSandbox(module: ScriptModule): Promise<{ code: string; map: (line: number, column: number) => { line: number; column: number } | null }> {
  const compiled = module.sandbox ?? (await compileSandboxCode(module));
  const map = lineMapper(compiled.sourceMap);
  return {
    code: compiled.code,
    map: (line, column) => map(line, line === 1 ? Math.max(1, column - compiled.prefixLength) : column),
  };
}

export class SandboxScriptExecutor implements ScriptExecutor {
  readonly name = 'QuickJS sandbox (worker threads)';
  private pool: TransformPool | undefined;

  // A pipeline favours throughput: a busy machine must not get a healthy worker killed, so the
  // watchdog waits longer than the interactive previews' default (the per-record interrupt still
  // stops an endless loop after the time limit).
  constructor(private readonly options: PoolOptions = { workers: 1, graceMs: 5000 }) {}

  async open(module: ScriptModule, state: [string, JsonValue][]): Promise<ScriptSession> {
    const compiled = await compileForSandbox(module);
    this.pool ??= new TransformPool(this.options);
    let lookup: ((table: string, key: JsonValue, time: number) => JsonValue | null) | undefined;
    const spec = {
      code: compiled.code,
      filename: module.file,
      initialState: Object.fromEntries(state),
      lookupSource: { asOf: (table: string, key: JsonValue, time: number) => lookup?.(table, key, time) ?? null },
    };
    let session: Session | undefined;
    for (let attempt = 1; !session; attempt++) {
      try {
        session = await this.pool.open(spec);
      } catch (error) {
        // A worker restarted under load is not the script's fault; a load error is.
        if (attempt >= 3 || (error as { details?: { crash?: boolean } }).details?.crash !== true) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    const opened = session;
    const file = module.file;
    return {
      async run(calls, environment) {
        lookup = (table, key, time) => environment.tables.asOf(table, key, time) ?? null;
        const now = environment.now();
        const results = await opened.runBatch(
          calls.map((call) => {
            const event = toTransformEvent(call.event);
            if (call.scope !== undefined) event[SCOPE_FIELD] = call.scope;
            return { event, now };
          }),
        );
        return results.map((raw, index): ScriptCallResult => {
          const logs = raw.logs.map((line) => `${line.level}: ${line.message}`);
          if (raw.error) {
            const mapped = raw.error.stack ? mapStack({ filename: file, map: compiled.map }, raw.error.stack) : { stack: '', line: null, column: null };
            const error: StageError = { name: raw.error.name, message: raw.error.kind === 'error' ? raw.error.message : `${raw.error.kind}: ${raw.error.message}` };
            if (raw.error.kind === 'crash') error.transient = true;
            if (mapped.line !== null) error.line = mapped.line;
            if (mapped.column !== null) error.column = mapped.column;
            if (mapped.stack) error.stack = mapped.stack;
            return { ok: false, error, logs };
          }
          try {
            const outputs = fromTransformResult(raw.output, calls[index]!.event, '');
            return { ok: true, outputs, writes: raw.stateChanges.map((change) => [change.key, change.value] as [string, JsonValue | null]), logs };
          } catch (error) {
            return { ok: false, error: error as StageError, logs };
          }
        });
      },
      async close() {
        opened.close();
      },
    };
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }
}
