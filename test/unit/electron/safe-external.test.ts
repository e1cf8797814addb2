// shell.openExternal is reached only with plain http(s) links; everything an attacker could use to
// start a program or reach a file share is refused.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { openExternalSafely, parseSafeExternalUrl } from '../../../main/electron/safe-external.js';
import { electronModule, resetElectronMock } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

beforeEach(() => resetElectronMock());

const hostile: unknown[] = [
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  'javascript://example.com/%0aalert(1)',
  'file:///etc/passwd',
  'file://server/share/evil.exe',
  'smb://attacker.example/share',
  'ms-msdt:/id PCWDiagnostic',
  'search-ms:query=evil',
  'vbscript:msgbox(1)',
  'data:text/html,<script>alert(1)</script>',
  'ftp://example.com/',
  'mailto:someone@example.com',
  'app://eddy/index.html',
  'Http:\\\\evil.example',
  'http:\\\\evil.example\\share',
  'https:/\\evil.example',
  'HTTP://evil.example/',
  ' http://evil.example/',
  '\thttps://evil.example/',
  'https://evil.example/ ',
  'https://evil.example/\n',
  'https://evil.\u0000example/',
  'https://ev\u0085il.example/',
  'http://',
  'https://',
  'https:evil.example',
  'http:/evil.example',
  'https://user:pass@evil.example/',
  'https://bank.example@evil.example/',
  '//evil.example/',
  'evil.example',
  '',
  `https://example.com/${'a'.repeat(5000)}`,
  undefined,
  null,
  42,
  { toString: () => 'https://example.com/' },
  new URL('https://example.com/'),
];

describe('parseSafeExternalUrl', () => {
  it.each(hostile.map((value) => [value]))('refuses %j', (value) => {
    expect(parseSafeExternalUrl(value)).toBeUndefined();
  });

  it.each(['http://evil', 'https://example.com', 'https://example.com/docs?q=a%20b#part', 'http://127.0.0.1:8080/x', 'https://[::1]/'])(
    'accepts %s',
    (value) => {
      expect(parseSafeExternalUrl(value)?.protocol).toMatch(/^https?:$/);
    },
  );
});

describe('openExternalSafely', () => {
  it('opens the normalised href of a web link', async () => {
    await expect(openExternalSafely('https://Example.com')).resolves.toBe(true);
    expect(electronModule.shell.openExternal).toHaveBeenCalledWith('https://example.com/');
  });

  it('never calls shell.openExternal for a refused URL', async () => {
    for (const value of hostile) await expect(openExternalSafely(value)).resolves.toBe(false);
    expect(electronModule.shell.openExternal).not.toHaveBeenCalled();
  });

  it('reports failure when the OS cannot open the link', async () => {
    electronModule.shell.openExternal.mockRejectedValueOnce(new Error('no browser'));
    await expect(openExternalSafely('https://example.com/')).resolves.toBe(false);
  });
});
