// Web mode end to end at the protocol level: the token, Origin and Host guards, the contract's
// typed errors, the demo workspace, and the engine coming back after it is killed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startWebApp, type WebApp } from '../support/web-app.js';
import { connect, connectRaw } from '../support/ws-client.js';

let app: WebApp;

beforeAll(async () => {
  app = await startWebApp();
});
afterAll(async () => {
  await app?.stop();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: app.port, path, headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
  });
}

describe('web mode server', () => {
  it('binds to 127.0.0.1 and prints a token URL', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
  });

  it('refuses the page without the token and serves it with one, under a strict CSP', async () => {
    const refused = await get('/');
    expect(refused.status).toBe(401);
    const served = await get(`/?token=${app.token}`);
    expect(served.status).toBe(200);
    expect(served.body).toContain('<div id="root">');
    const csp = String(served.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(String(served.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('refuses a wrong token and a foreign Host header (DNS rebinding)', async () => {
    expect((await get('/?token=wrong')).status).toBe(401);
    expect((await get(`/?token=${app.token}`, { host: `evil.example:${app.port}` })).status).toBe(421);
  });

  it('refuses path traversal out of the renderer folder', async () => {
    const response = await get(`/..%2f..%2fpackage.json?token=${app.token}`);
    expect(response.status).toBe(404);
  });

  it('refuses a WebSocket without the token, with a foreign Origin, or with a foreign Host', async () => {
    const ws = app.origin.replace('http', 'ws');
    expect(await connectRaw(`${ws}/ws`, { origin: app.origin })).toEqual({ ok: false, status: 401 });
    expect(await connectRaw(`${ws}/ws?token=nope`, { origin: app.origin })).toEqual({ ok: false, status: 401 });
    expect(await connectRaw(`${ws}/ws?token=${app.token}`, { origin: 'https://evil.example' })).toEqual({ ok: false, status: 403 });
    expect(await connectRaw(`${ws}/ws?token=${app.token}`, { origin: app.origin, host: 'evil.example' })).toEqual({ ok: false, status: 421 });
    const accepted = await connectRaw(`${ws}/ws?token=${app.token}`, { origin: app.origin });
    expect(accepted.ok).toBe(true);
    if (accepted.ok) accepted.ws.close();
  });
});

describe('the contract over web mode', () => {
  it('answers getAppInfo with the demo workspace', async () => {
    const client = await connect(app.origin, app.token);
    const response = await client.request('getAppInfo');
    client.close();
    expect(response.ok).toBe(true);
    if (!response.ok) return;
    const info = response.result as { host: string; workspace: { isDemo: boolean; name: string }; enginePid: number };
    expect(info.host).toBe('web');
    expect(info.workspace.isDemo).toBe(true);
    expect(info.enginePid).not.toBe(app.child.pid);
  });

  it('rejects a malformed request with a typed validation error', async () => {
    const client = await connect(app.origin, app.token);
    const response = await client.request('readEvents', { stream: 42, limit: -1 });
    const extra = await client.request('getAppInfo', { unexpected: true });
    client.close();
    expect(response).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    if (!response.ok) expect(response.error.message).toMatch(/stream/);
    expect(extra).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });

  it('rejects an unknown command', async () => {
    const client = await connect(app.origin, app.token);
    const response = await client.request('dropEverything', {});
    client.close();
    expect(response).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
  });

  it('lists the demo streams: customers, orders and call-centre events', async () => {
    const client = await connect(app.origin, app.token);
    const response = await client.request('listStreams');
    client.close();
    expect(response.ok).toBe(true);
    if (!response.ok) return;
    const streams = response.result as { stream: string; count: number }[];
    const byName = new Map(streams.map((stats) => [stats.stream, stats.count]));
    expect(byName.get('sqlserver:shop.dbo.Customers')).toBe(21);
    expect(byName.get('sqlserver:shop.dbo.Orders')).toBeGreaterThan(100);
    expect(byName.get('kafka:callcentre.calls')).toBeGreaterThan(50);
  });

  it('reports a killed engine as crashed, restarts it, and answers again', async () => {
    const client = await connect(app.origin, app.token);
    const before = await client.request('getAppInfo');
    expect(before.ok).toBe(true);
    if (!before.ok) return;
    const pid = (before.result as { enginePid: number }).enginePid;
    process.kill(pid, 'SIGKILL');
    const crashed = await client.waitForEvent((event) => event.stream === 'onEngineStatus' && (event.payload as { state: string }).state === 'crashed');
    expect((crashed.payload as { message: string }).message).toMatch(/SIGKILL/);
    await client.waitForEvent((event) => event.stream === 'onEngineStatus' && (event.payload as { state: string }).state === 'ready' && (event.payload as { pid?: number }).pid !== pid);
    const after = await client.request('getAppInfo');
    client.close();
    expect(after.ok).toBe(true);
    if (after.ok) expect((after.result as { enginePid: number }).enginePid).not.toBe(pid);
  });
});
