// The desktop renderer's Content-Security-Policy: the same policy every host serves (defined once in
// main/host/csp.ts), put on every `app://` response and, as a backstop, on every response the
// window's session receives.
import { contentSecurityPolicy } from '../host/csp.js';

/**
 * The desktop policy. The renderer reaches the engine through the preload, never over the network,
 * so no connect source beyond 'self' is added. There is no 'unsafe-eval': Monaco's workers load
 * from 'self' or blob: URLs, and 'wasm-unsafe-eval' only allows compiling WebAssembly.
 */
export const CONTENT_SECURITY_POLICY: string = contentSecurityPolicy();

export const CSP_HEADER = 'Content-Security-Policy';

/**
 * Returns response headers with Eddy's policy in place of any the response carried. Other CSP
 * headers are dropped rather than kept: several policies combine by intersection, and a foreign
 * one could break the UI in ways that are hard to diagnose (or, report-only, leak page URLs).
 */
export function withContentSecurityPolicy(
  headers: Record<string, string | string[]> | undefined,
): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-security-policy' || lower === 'content-security-policy-report-only') continue;
    result[name] = value;
  }
  result[CSP_HEADER] = [CONTENT_SECURITY_POLICY];
  return result;
}
