// The Content-Security-Policy every host serves the renderer with. No 'unsafe-eval': Monaco's
// workers load from the app's own origin or blob: URLs; 'wasm-unsafe-eval' only allows compiling
// WebAssembly, not evaluating strings as code.
export function contentSecurityPolicy(extraConnectSources: string[] = []): string {
  const connect = ["'self'", ...extraConnectSources].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}
