// Web mode's server: serves the built renderer and the engine contract over a WebSocket, on
// 127.0.0.1 only, behind a random token (like a notebook server). It refuses foreign Host headers
// (DNS rebinding) and foreign Origins (cross-site WebSockets), and relays requests to the
// supervised engine process exactly as the desktop's main process does.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { WireRequestSchema, type WireEvent, type WireResponse } from '../../shared/contract.js';
import type { EngineSupervisor } from '../host/engine-supervisor.js';
import { contentSecurityPolicy } from '../host/csp.js';

export interface WebServerOptions {
  supervisor: EngineSupervisor;
  /** Folder with the built renderer (index.html and assets). */
  staticDir: string;
  port: number;
  token?: string;
  /** Largest WebSocket message accepted from a browser. */
  maxMessageBytes?: number;
  log?: (line: string) => void;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'eddy_token';
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

function sameToken(candidate: string | undefined | null, token: string): boolean {
  if (!candidate) return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return undefined;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const maxMessageBytes = options.maxMessageBytes ?? 32 * 1024 * 1024;
  const staticRoot = path.resolve(options.staticDir);
  let port = options.port;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const authorized = (request: http.IncomingMessage, url: URL): boolean =>
    sameToken(url.searchParams.get('token'), token) || sameToken(cookieToken(request.headers.cookie), token);

  const server = http.createServer((request, response) => {
    void (async () => {
      const host = request.headers.host ?? '';
      if (!allowedHosts().has(host)) {
        response.writeHead(421, { 'content-type': 'text/plain' }).end('Eddy only answers on 127.0.0.1 and localhost.\n');
        return;
      }
      const url = new URL(request.url ?? '/', `http://${host}`);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (!authorized(request, url)) {
        response
          .writeHead(401, { 'content-type': 'text/plain; charset=utf-8' })
          .end('Eddy web mode needs its access token. Open the full URL printed by `npm run web` (it ends in ?token=...).\n');
        return;
      }
      const headers: Record<string, string> = {
        'content-security-policy': contentSecurityPolicy([`ws://${host}`]),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'x-frame-options': 'DENY',
        'cache-control': 'no-store',
      };
      if (url.searchParams.has('token')) {
        headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
      }
      let relative = decodeURIComponent(url.pathname);
      if (relative === '/' || relative === '') relative = '/index.html';
      const file = path.resolve(staticRoot, '.' + relative);
      if (file !== staticRoot && !file.startsWith(staticRoot + path.sep)) {
        response.writeHead(404).end();
        return;
      }
      try {
        const info = await stat(file);
        if (!info.isFile()) throw new Error('not a file');
        headers['content-type'] = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
        headers['content-length'] = String(info.size);
        response.writeHead(200, headers);
        if (request.method === 'HEAD') response.end();
        else createReadStream(file).pipe(response);
      } catch {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      }
    })().catch((error: unknown) => {
      options.log?.(`http error: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  const clients = new Set<WebSocket>();

  server.on('upgrade', (request, socket, head) => {
    const host = request.headers.host ?? '';
    const origin = request.headers.origin;
    const url = new URL(request.url ?? '/', `http://${host || '127.0.0.1'}`);
    const refuse = (status: number, reason: string): void => {
      options.log?.(`refused WebSocket: ${reason}`);
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowedHosts().has(host)) return refuse(421, 'Misdirected Request');
    // Browsers always send Origin on WebSocket handshakes; a foreign one is a cross-site page.
    if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(403, 'Forbidden');
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    if (!authorized(request, url)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  const send = (ws: WebSocket, message: WireResponse | WireEvent): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };

  wss.on('connection', (ws) => {
    clients.add(ws);
    send(ws, { kind: 'event', stream: 'onEngineStatus', payload: options.supervisor.currentStatus });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return; // Nothing to answer without an id; the client library never sends this.
      }
      const request = WireRequestSchema.safeParse(parsed);
      if (!request.success) {
        const id = typeof (parsed as { id?: unknown })?.id === 'number' ? (parsed as { id: number }).id : undefined;
        if (id !== undefined) {
          send(ws, { kind: 'response', id, ok: false, error: { code: 'VALIDATION', message: 'Malformed request envelope.' } });
        }
        return;
      }
      const { id, command, payload } = request.data;
      void options.supervisor.request(command, payload).then((response) => send(ws, { ...response, id }));
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => clients.delete(ws));
  });

  const unsubscribe = options.supervisor.onEvent((event) => {
    const text = JSON.stringify(event);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE' && port !== 0) {
        options.log?.(`port ${port} is in use; picking a free one`);
        port = 0;
        server.listen(0, '127.0.0.1');
        return;
      }
      reject(error);
    };
    server.on('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  if (address && typeof address === 'object') port = address.port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
