// The `app://eddy/` scheme the renderer is served from: files from the built renderer folder only,
// each with its MIME type and the Content-Security-Policy. A custom scheme instead of file:// keeps
// the renderer from reading arbitrary local files and gives it a real origin to check IPC against.
import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CONTENT_SECURITY_POLICY, CSP_HEADER } from './csp.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'eddy';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

const mimeTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  // WebAssembly.instantiateStreaming insists on exactly this type.
  '.wasm': 'application/wasm',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
};

export function mimeTypeFor(filePath: string): string {
  return mimeTypes[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Must run before the app is ready. `standard` and `secure` give the scheme a real origin and the
 * secure-context APIs workers need; `corsEnabled` lets Vite's `crossorigin` module scripts and
 * module workers load from it (same-origin only: no response carries CORS allow headers).
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true },
    },
  ]);
}

/**
 * Whether `raw` is a URL on Eddy's own origin. Node's URL reports origin "null" for custom schemes,
 * so the parts are compared; the host is lowercased because Node keeps a custom scheme's host as
 * written while Chromium canonicalises it.
 */
export function isAppUrl(raw: string | undefined | null): boolean {
  if (typeof raw !== 'string') return false;
  try {
    const url = new URL(raw);
    return url.protocol === `${APP_SCHEME}:` && url.host.toLowerCase() === APP_HOST && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/**
 * Maps a request URL to a file inside `rendererDir`, or undefined when the URL is for another host,
 * is malformed, or would leave the folder (`..`, encoded separators, drive letters, NUL bytes).
 */
export function resolveRendererFile(rendererDir: string, rawUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return undefined;
  }
  if (!isAppUrl(rawUrl)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  // A backslash is a separator on Windows and a NUL truncates paths in some APIs; neither belongs
  // in a bundled file name.
  if (decoded.includes('\\') || decoded.includes('\0')) return undefined;
  const segments = decoded.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.')) return undefined;
  let relative = segments.filter((segment) => segment !== '').join('/');
  if (relative === '' || decoded.endsWith('/')) relative = path.posix.join(relative, 'index.html');
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, relative);
  const inside = path.relative(root, file);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
  return file;
}

function securityHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    [CSP_HEADER]: CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
}

function plainResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: securityHeaders('text/plain; charset=utf-8') });
}

/** The `protocol.handle` handler: static files only, read-only methods only. */
export function createAppRequestHandler(rendererDir: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plainResponse(405, 'Method not allowed');
    const file = resolveRendererFile(rendererDir, request.url);
    if (!file) return plainResponse(403, 'Forbidden');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR'
        ? plainResponse(404, 'Not found')
        : plainResponse(500, 'Could not read the file');
    }
    const headers = securityHeaders(mimeTypeFor(file));
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}

/** Serves `rendererDir` on `app://eddy/`; call once the app is ready. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, createAppRequestHandler(rendererDir));
}
