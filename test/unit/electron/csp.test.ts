// The desktop Content-Security-Policy: no eval, narrow allowances for Monaco's workers and wasm.
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, withContentSecurityPolicy } from '../../../main/electron/csp.js';

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((part) => {
      const [name = '', ...values] = part.trim().split(/\s+/);
      return [name, values];
    }),
  );
}

describe('CONTENT_SECURITY_POLICY', () => {
  const parsed = directives(CONTENT_SECURITY_POLICY);

  it('is exactly the reviewed policy', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
        "frame-ancestors 'none'; form-action 'none'",
    );
  });

  it("never allows 'unsafe-eval' or inline scripts", () => {
    expect(CONTENT_SECURITY_POLICY).not.toContain("'unsafe-eval'");
    expect(parsed.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(parsed.get('default-src')).toEqual(["'self'"]);
  });

  it("lets Monaco's workers load from the app or blob: URLs only", () => {
    expect(parsed.get('worker-src')).toEqual(["'self'", 'blob:']);
  });

  it('shuts plugins, base tags, framing and form posts', () => {
    for (const name of ['object-src', 'base-uri', 'frame-ancestors', 'form-action']) expect(parsed.get(name)).toEqual(["'none'"]);
  });

  it('has no wildcard or remote source anywhere', () => {
    for (const [, values] of parsed) {
      for (const value of values) expect(value).not.toMatch(/^\*|^https?:|^ws/);
    }
  });
});

describe('withContentSecurityPolicy', () => {
  it('adds the policy to headers that had none', () => {
    expect(withContentSecurityPolicy(undefined)).toEqual({ 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });

  it('replaces enforcing and report-only policies whatever their case', () => {
    const result = withContentSecurityPolicy({
      'CONTENT-SECURITY-POLICY': "default-src *",
      'content-security-policy-report-only': ["default-src 'none'"],
      'Content-Type': ['text/html'],
    });
    expect(result).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });
});
