// Cancelling an explorer query through the contract: `queryLog` with a queryId, then `cancelQuery`
// with the same id, answers CANCELLED at once; an unknown id cancels nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../main/engine/engine.js';

describe('cancelQuery', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'eddy-query-cancel-'));
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.close().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  });

  it('stops a running query by its id', { timeout: 60_000 }, async () => {
    const workspace = path.join(base, 'ws');
    mkdirSync(workspace, { recursive: true });
    writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'cancel', version: 1, samples: [] }));
    engine = await createEngine({ host: 'cli', version: 'test', workspace, dataDir: path.join(base, 'data'), resourcesDir: process.cwd() }, (() => undefined) as never, (async () => undefined) as never);
    // SQL runs over the log's segments: give it one.
    await engine.context.log.append(Array.from({ length: 10 }, (_, index) => ({ stream: 'test:cancel', position: `p${index}`, key: index, value: { index }, eventTime: index, ingestTime: index })));
    const started = Date.now();
    const pending = engine.handlers.queryLog({ sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', maxRows: 10, timeoutMs: 60_000, queryId: 'q1' });
    let early: unknown = 'still running';
    pending.then((value) => (early = value), (error: unknown) => (early = error));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(early).toBe('still running');
    expect(await engine.handlers.cancelQuery({ queryId: 'q1' })).toEqual({ cancelled: true });
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await engine.handlers.cancelQuery({ queryId: 'q1' })).toEqual({ cancelled: false });
    expect((await engine.handlers.queryLog({ sql: 'SELECT 42', maxRows: 10, timeoutMs: 5000 })).rows).toEqual([[42]]);
  });
});
