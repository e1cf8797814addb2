// The contract's runtime checks: every request validated, unknown commands refused, handler
// failures turned into typed envelopes.
import { describe, expect, it } from 'vitest';
import { commandNames, commands, EddyError, eventStreamNames } from '../../shared/contract.js';
import { dispatch, type Handlers } from '../../main/engine/dispatch.js';

const calls: string[] = [];
// Only the commands these tests call; dispatch never touches the others.
const handlers = {
  getAppInfo: async () => ({
    name: 'Eddy',
    version: '0.0.0',
    host: 'cli',
    enginePid: 1,
    engineStartedAt: 0,
    nodeVersion: 'v20',
    workspace: { name: 'w', path: '/w', isDemo: false },
  }),
  listStreams: async () => [],
  readEvents: async (request: { stream: string; direction: string; limit: number }) => {
    calls.push(`readEvents ${request.stream} ${request.direction} ${request.limit}`);
    return { events: [], nextCursor: null };
  },
  queryLog: async () => {
    throw new EddyError('LIMIT', 'The query ran past its time limit of 10 ms.', { timeoutMs: 10 });
  },
  listProblems: async () => {
    throw new TypeError('boom');
  },
} as Partial<Handlers> as Handlers;

describe('dispatch', () => {
  it('passes a valid request to its handler with defaults filled in', async () => {
    const response = await dispatch(handlers, { kind: 'request', id: 1, command: 'readEvents', payload: { stream: 'kafka:orders' } });
    expect(response).toEqual({ kind: 'response', id: 1, ok: true, result: { events: [], nextCursor: null } });
    expect(calls).toContain('readEvents kafka:orders newest 200');
  });

  it('rejects a malformed payload with VALIDATION naming the field', async () => {
    const response = await dispatch(handlers, { kind: 'request', id: 2, command: 'readEvents', payload: { stream: '', limit: 1e9 } });
    expect(response?.ok).toBe(false);
    if (response && !response.ok) {
      expect(response.error.code).toBe('VALIDATION');
      expect(response.error.message).toMatch(/stream|limit/);
      expect(Array.isArray((response.error.details as { issues: unknown[] }).issues)).toBe(true);
    }
  });

  it('rejects unexpected fields (strict schemas)', async () => {
    const response = await dispatch(handlers, { kind: 'request', id: 3, command: 'listStreams', payload: { all: true } });
    expect(response).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });

  it('rejects an unknown command, including prototype names', async () => {
    for (const command of ['dropEverything', 'constructor', '__proto__', 'toString']) {
      const response = await dispatch(handlers, { kind: 'request', id: 4, command, payload: {} });
      expect(response).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    }
  });

  it('answers a broken envelope that has an id, and ignores one without', async () => {
    expect(await dispatch(handlers, { kind: 'request', id: 5, command: 7 })).toMatchObject({ id: 5, ok: false, error: { code: 'VALIDATION' } });
    expect(await dispatch(handlers, 'garbage')).toBeUndefined();
    expect(await dispatch(handlers, null)).toBeUndefined();
  });

  it('keeps an EddyError envelope and wraps anything else as INTERNAL', async () => {
    expect(await dispatch(handlers, { kind: 'request', id: 6, command: 'queryLog', payload: { sql: 'select 1' } })).toEqual({
      kind: 'response',
      id: 6,
      ok: false,
      error: { code: 'LIMIT', message: 'The query ran past its time limit of 10 ms.', details: { timeoutMs: 10 } },
    });
    const internal = await dispatch(handlers, { kind: 'request', id: 7, command: 'listProblems', payload: {} });
    expect(internal).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    if (internal && !internal.ok) expect(internal.error.message).toContain('boom');
  });
});

describe('the contract', () => {
  it('names commands and event streams distinctly, with onX for streams', () => {
    expect(commandNames).toEqual(Object.keys(commands));
    for (const stream of eventStreamNames) expect(stream).toMatch(/^on[A-Z]/);
    for (const name of commandNames) expect(name).not.toMatch(/^on[A-Z]/);
  });

  it('round-trips an EddyError through its envelope', () => {
    const error = EddyError.from(new EddyError('NOT_FOUND', 'No stream "x".', { stream: 'x' }).toEnvelope());
    expect(error).toBeInstanceOf(EddyError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.details).toEqual({ stream: 'x' });
  });
});
