// The sandbox against hostile scripts, in the real worker pool: a corpus of escape techniques
// (test/fixtures/sandbox-escapes, one per file) must all fail, while a file canary, an environment
// canary and a 127.0.0.1 listener see nothing, and the engine's own prototypes stay clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { compileTransform } from '../../main/engine/transforms/compile.js';
import { runTransform } from '../../main/engine/transforms/run.js';
import { TransformPool } from '../../main/engine/transforms/sandbox/pool.js';
import type { FixtureEvent, PreviewRecord } from '../../shared/contracts/transforms.js';
import { sandboxEnginesUnderTest } from '../support/sandbox-engines.js';

const corpusDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'sandbox-escapes');
const payloads = readdirSync(corpusDir)
  .filter((name) => name.endsWith('.js'))
  .sort();

/** Prepended to every payload: how a payload judges what it reached. */
const HELPERS = `
function isHost(value) {
  try {
    if (value === null || value === undefined) return false;
    if (typeof value !== 'object' && typeof value !== 'function') return false;
    const looksLikeProcess = (candidate) => !!candidate && ((typeof candidate.versions === 'object' && candidate.versions !== null && 'node' in candidate.versions) || typeof candidate.binding === 'function' || (typeof candidate.env === 'object' && candidate.env !== null && typeof candidate.pid === 'number'));
    const looksLikeModule = (candidate) => !!candidate && ['readFileSync', 'readFile', 'loadFile', 'exec', 'execSync', 'spawn', 'getenv', 'open', 'connect', 'request'].some((name) => typeof candidate[name] === 'function');
    if (looksLikeProcess(value) || looksLikeModule(value)) return true;
    if (typeof value.process === 'object' || typeof value.require === 'function' || typeof value.Buffer === 'function' || typeof value.fetch === 'function' || typeof value.setTimeout === 'function' || typeof value.XMLHttpRequest === 'function') return true;
    if (typeof value === 'function' && /require|Buffer|fetch|setTimeout/.test(value.name)) return true;
    return false;
  } catch (error) {
    return false;
  }
}
function report(value, text) {
  const escaped = isHost(value) || (typeof text === 'string' && text.length > 0);
  return { value: { escaped: escaped, detail: escaped ? String(text === undefined ? Object.prototype.toString.call(value) : text) : null } };
}
`;

const ENGINES = await sandboxEnginesUnderTest();
let listener: net.Server;
let connections = 0;
let port = 0;
let tempDir: string;
let canaryFile: string;
const fileSecret = `file-canary-${randomBytes(8).toString('hex')}`;
const envName = 'EDDY_SANDBOX_CANARY';
const envSecret = `env-canary-${randomBytes(8).toString('hex')}`;
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const arrayPrototypeKeys = Object.getOwnPropertyNames(Array.prototype).sort();

beforeAll(async () => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-canary-'));
  canaryFile = path.join(tempDir, 'secret.txt');
  writeFileSync(canaryFile, fileSecret);
  process.env[envName] = envSecret;
  listener = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as net.AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => listener?.close(resolve));
  delete process.env[envName];
  rmSync(tempDir, { recursive: true, force: true });
});

function event(index: number): FixtureEvent {
  return {
    stream: 'test:escapes',
    position: `escape-${index}`,
    key: index,
    value: { file: canaryFile, port, env: envName },
    headers: [],
    eventTime: 1_772_438_400_000,
    ingestTime: 1_772_438_400_000,
  };
}

describe('sandbox escape corpus', () => {
  it('has at least 50 distinct payloads', () => {
    expect(payloads.length).toBeGreaterThanOrEqual(50);
    const bodies = new Set(payloads.map((name) => readFileSync(path.join(corpusDir, name), 'utf8').split('\n').slice(3).join('\n')));
    expect(bodies.size).toBe(payloads.length);
  });

  it('the verdict helpers do detect a real escape (node:vm as the control)', () => {
    // The same payloads succeed against node:vm, which is not a security boundary.
    const escaped = ['event-constructor-chain.js', 'getter-on-context.js'].filter((name) => {
      const source = `${HELPERS}\n${readFileSync(path.join(corpusDir, name), 'utf8')}`.replace('export default function', 'globalThis.transform = function');
      const sandbox = vm.createContext({});
      vm.runInContext(source, sandbox);
      const context = { state: { get: () => undefined }, lookup: () => null, log: { info: () => undefined } };
      const result = vm.runInContext('transform', sandbox)(event(0), context) as { value: { escaped: boolean } };
      return result.value.escaped;
    });
    expect(escaped).toContain('event-constructor-chain.js');
  });
});

describe.each(ENGINES)('sandbox escape corpus (%s)', (engine) => {
  let pool: TransformPool;
  const results = new Map<string, PreviewRecord>();
  beforeAll(async () => {
    pool = new TransformPool({ workers: 2, limits: { timeoutMs: 1000 }, engine });
    expect(await pool.engine()).toBe(engine);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('every payload fails to reach the host', async () => {
    for (const [index, name] of payloads.entries()) {
      const source = `${HELPERS}\n${readFileSync(path.join(corpusDir, name), 'utf8')}`;
      const compiled = await compileTransform(source, `transforms/${name}`);
      expect(compiled.ok, `${name} compiles: ${JSON.stringify(compiled.diagnostics)}`).toBe(true);
      const outcome = await runTransform(pool, { compiled, events: [event(index)] });
      const record = outcome.records[0];
      // A payload that does not even load (a blocked import) has failed too.
      if (!outcome.ok || !record) continue;
      results.set(name, record);
      // Forged results (entries for other records, state from a failed one) are never accepted.
      expect(Object.keys(outcome.finalState ?? {}).filter((key) => /forged/.test(key)), name).toEqual([]);
      const verdict = record.outputs[0]?.value as { escaped?: boolean; detail?: string } | undefined;
      expect(verdict?.escaped, `${name}: ${JSON.stringify(record.outputs)}`).not.toBe(true);
    }
    // Most payloads end in an error or a clean "not escaped"; the corpus exercised them all.
    expect(results.size).toBeGreaterThanOrEqual(50);
    if (process.env.EDDY_ESCAPES_VERBOSE) {
      for (const [name, record] of results) console.log(name.padEnd(40), record.error ? `error: ${JSON.stringify(record.error).slice(0, 200)}` : String(JSON.stringify(record.outputs[0]?.value)).slice(0, 80));
    }
  }, 240_000);

  it('the canaries saw nothing', () => {
    const everything = JSON.stringify([...results.values()]);
    expect(everything).not.toContain(fileSecret);
    expect(everything).not.toContain(envSecret);
    expect(connections).toBe(0);
  });

  it('the engine side is not polluted', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayPrototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const pollution = results.get('prototype-pollution-proto-key.js');
    // The __proto__ key arrives as plain data, not as a prototype.
    const value = pollution?.outputs[0]?.value as Record<string, unknown> | undefined;
    expect(value?.ok).toBe(1);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('stops the bombs with explicit errors and keeps going', () => {
    expect(results.get('output-bomb-string.js')?.error?.message).toMatch(/exceed|memory|too long/i);
    expect(results.get('output-bomb-count.js')?.error).toBeTruthy();
    expect(results.get('state-bomb.js')?.error?.message).toMatch(/1 MB|memory|too long/i);
    expect(results.get('deep-recursion.js')?.error).toBeTruthy();
    // Whatever QuickJS cannot interrupt is cut off by the pool's watchdog, and the pool carries on
    // (V8 fails the serialization itself with a stack overflow).
    expect(results.get('deep-nesting-output.js')?.error).toBeTruthy();
    expect(results.get('atomics-wait.js')?.outputs[0]?.value).toEqual({ escaped: false, detail: null });
    // The isolate-specific probes ran to a verdict (not an error that would hide a real finding).
    for (const name of ['isolated-vm-globals.js', 'lookup-callback-arguments.js', 'stack-trace-api.js']) {
      expect(results.get(name)?.outputs[0]?.value, `${engine}: ${name}`).toEqual({ escaped: false, detail: null });
    }
  });
});
