// The app:// scheme: only files inside the renderer folder, the right MIME types, and the CSP on
// every response, including refusals.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  APP_SCHEME,
  createAppRequestHandler,
  isAppUrl,
  mimeTypeFor,
  registerAppScheme,
  resolveRendererFile,
  serveRenderer,
} from '../../../main/electron/app-protocol.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/electron/csp.js';
import { electronModule, protocolHandlers, resetElectronMock } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

let root: string;
let rendererDir: string;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'eddy-protocol-'));
  rendererDir = path.join(root, 'renderer');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Eddy</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(path.join(rendererDir, 'assets', 'editor.worker-1.js'), 'self.onmessage = () => {}');
  writeFileSync(path.join(rendererDir, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(path.join(rendererDir, 'assets', 'codicon.ttf'), Buffer.from([0, 1, 0, 0]));
  writeFileSync(path.join(rendererDir, 'assets', 'sql-wasm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(path.join(rendererDir, 'assets', 'my file.json'), '{}');
  // Things outside the renderer folder that a traversal would reach.
  writeFileSync(path.join(root, 'secret.txt'), 'do not serve');
  mkdirSync(path.join(root, 'renderer-sibling'));
  writeFileSync(path.join(root, 'renderer-sibling', 'x.js'), 'nope');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => resetElectronMock());

const fetchApp = (url: string, init?: RequestInit): Promise<Response> => createAppRequestHandler(rendererDir)(new Request(url, init));

describe('registration', () => {
  it('registers app:// as a standard, secure scheme before ready', () => {
    registerAppScheme();
    expect(electronModule.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } },
    ]);
  });

  it('serves the renderer through protocol.handle', async () => {
    serveRenderer(rendererDir);
    const handler = protocolHandlers.get(APP_SCHEME);
    expect(handler).toBeTypeOf('function');
    const response = await handler!(new Request('app://eddy/index.html'));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>Eddy</title>');
  });
});

describe('isAppUrl', () => {
  it.each(['app://eddy/', 'app://eddy/index.html', 'app://eddy/assets/x.js?v=1#h', 'APP://EDDY/index.html'])('accepts %s', (url) => {
    expect(isAppUrl(url)).toBe(true);
  });
  it.each(['app://evil/', 'app://eddy.evil/', 'app://eddy:8080/', 'app://u@eddy/', 'https://eddy/', 'file:///eddy', 'app:eddy', '', 'nonsense', undefined, null])(
    'refuses %s',
    (url) => {
      expect(isAppUrl(url)).toBe(false);
    },
  );
});

describe('resolveRendererFile', () => {
  it('maps app paths to files inside the renderer folder', () => {
    expect(resolveRendererFile(rendererDir, 'app://eddy/')).toBe(path.join(rendererDir, 'index.html'));
    expect(resolveRendererFile(rendererDir, 'app://eddy/assets/index-abc.js?x=1#y')).toBe(path.join(rendererDir, 'assets', 'index-abc.js'));
    expect(resolveRendererFile(rendererDir, 'app://eddy/assets/my%20file.json')).toBe(path.join(rendererDir, 'assets', 'my file.json'));
  });

  it.each([
    'app://eddy/../secret.txt',
    'app://eddy/%2e%2e/secret.txt',
    'app://eddy/%2E%2E%2Fsecret.txt',
    'app://eddy/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    'app://eddy/..%2fsecret.txt',
    'app://eddy/..%5csecret.txt',
    'app://eddy/%5c..%5csecret.txt',
    'app://eddy/assets\\..\\..\\secret.txt',
    'app://eddy/%2e%2e%2frenderer-sibling%2fx.js',
    'app://eddy/index.html%00.png',
    'app://eddy/%E0%A4%A',
    'app://eddy//etc/passwd',
    'app://eddy/C:%5cWindows%5cwin.ini',
    'app://evil/index.html',
    'https://eddy/index.html',
    'not a url',
  ])('refuses %s', (url) => {
    const resolved = resolveRendererFile(rendererDir, url);
    if (resolved !== undefined) {
      // Some inputs are collapsed by the URL parser into harmless in-folder paths; that is fine as
      // long as the result never leaves the renderer folder.
      expect(path.relative(rendererDir, resolved).startsWith('..')).toBe(false);
      expect(path.isAbsolute(path.relative(rendererDir, resolved))).toBe(false);
    } else {
      expect(resolved).toBeUndefined();
    }
  });

  it('never resolves outside the folder for encoded traversals', () => {
    for (const url of ['app://eddy/..%2fsecret.txt', 'app://eddy/..%5csecret.txt', 'app://eddy/index.html%00.png']) {
      expect(resolveRendererFile(rendererDir, url), url).toBeUndefined();
    }
  });
});

describe('the app:// handler', () => {
  it.each([
    ['app://eddy/index.html', 'text/html; charset=utf-8'],
    ['app://eddy/', 'text/html; charset=utf-8'],
    ['app://eddy/assets/index-abc.js', 'text/javascript; charset=utf-8'],
    ['app://eddy/assets/editor.worker-1.js', 'text/javascript; charset=utf-8'],
    ['app://eddy/assets/index-abc.css', 'text/css; charset=utf-8'],
    ['app://eddy/assets/codicon.ttf', 'font/ttf'],
    ['app://eddy/assets/sql-wasm.wasm', 'application/wasm'],
  ])('serves %s as %s with the CSP', async (url, type) => {
    const response = await fetchApp(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('returns the file bytes unchanged', async () => {
    const response = await fetchApp('app://eddy/assets/sql-wasm.wasm');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
  });

  it.each(['app://eddy/..%2fsecret.txt', 'app://eddy/..%5csecret.txt', 'app://eddy/assets/..%2f..%2fsecret.txt', 'app://evil/index.html'])(
    'refuses the traversal %s with 403 and still sends the CSP',
    async (url) => {
      const response = await fetchApp(url);
      expect(response.status).toBe(403);
      expect(await response.text()).not.toContain('do not serve');
      expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    },
  );

  it('keeps dot segments the URL parser collapses inside the folder', async () => {
    // `%2e%2e` is `..` to the URL parser, which resolves it before the handler sees the path.
    const response = await fetchApp('app://eddy/%2e%2e/secret.txt');
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('do not serve');
  });

  it('answers 404 for missing files and folders', async () => {
    expect((await fetchApp('app://eddy/missing.js')).status).toBe(404);
    expect((await fetchApp('app://eddy/assets')).status).toBe(404);
  });

  it('only allows reading methods', async () => {
    expect((await fetchApp('app://eddy/index.html', { method: 'POST', body: 'x' })).status).toBe(405);
    const head = await fetchApp('app://eddy/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('mimeTypeFor', () => {
  it('falls back to an opaque type so nothing unknown is sniffed into script', () => {
    expect(mimeTypeFor('x.exe')).toBe('application/octet-stream');
    expect(mimeTypeFor('X.WOFF2')).toBe('font/woff2');
  });
});
