// The secret store on safeStorage: encrypted on disk with a real keyring backend, refused (with a
// session-only offer) on basic_text or an unknown backend, and values never in files or errors.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EddyError } from '../../../shared/contract.js';
import { SECRETS_FILE_NAME, SecretStore } from '../../../main/electron/secrets.js';
import { resetElectronMock, safeStorage } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

const SECRET = 'pa$$w0rd-canary-7f3a';
let dir: string;
let file: string;

function store(platform: NodeJS.Platform = 'linux'): SecretStore {
  return new SecretStore({ filePath: file, platform });
}

async function rejection(promise: Promise<unknown>): Promise<EddyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EddyError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  resetElectronMock();
  dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-secrets-'));
  file = path.join(dir, SECRETS_FILE_NAME);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('with a keyring (gnome_libsecret)', () => {
  it('stores the value encrypted, keyed by reference name, and reads it back', async () => {
    const secrets = store();
    await expect(secrets.status()).resolves.toEqual({ persistent: true, backend: 'gnome_libsecret' });
    await expect(secrets.set('kafka.prod.sasl', SECRET)).resolves.toBe('encrypted');
    expect(safeStorage.encryptStringAsync).toHaveBeenCalledWith(SECRET);

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
    const parsed = JSON.parse(text) as { version: number; secrets: Record<string, { ciphertext: string }> };
    expect(parsed.version).toBe(1);
    expect(Object.keys(parsed.secrets)).toEqual(['kafka.prod.sasl']);

    // A fresh store (a new app session) reads the file.
    await expect(store().get('kafka.prod.sasl')).resolves.toBe(SECRET);
    await expect(store().get('missing')).resolves.toBeUndefined();
  });

  it('writes the file readable by the user only', async () => {
    if (process.platform === 'win32') return;
    await store().set('db.password', SECRET);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('lists names and persistence, never values', async () => {
    const secrets = store();
    await secrets.set('b.saved', SECRET);
    await secrets.set('a.session', 'other', { persistence: 'session' });
    const list = await secrets.list();
    expect(list).toEqual([
      { name: 'a.session', persistence: 'session' },
      { name: 'b.saved', persistence: 'encrypted' },
    ]);
    expect(JSON.stringify(list)).not.toContain(SECRET);
  });

  it('deletes from disk and memory', async () => {
    const secrets = store();
    await secrets.set('db.password', SECRET);
    await expect(secrets.delete('db.password')).resolves.toBe(true);
    await expect(secrets.get('db.password')).resolves.toBeUndefined();
    await expect(store().get('db.password')).resolves.toBeUndefined();
    await expect(secrets.delete('db.password')).resolves.toBe(false);
  });

  it('re-encrypts when safeStorage asks for it (key rotation)', async () => {
    await store().set('db.password', SECRET);
    safeStorage.shouldReEncrypt = true;
    safeStorage.encryptStringAsync.mockClear();
    await expect(store().get('db.password')).resolves.toBe(SECRET);
    expect(safeStorage.encryptStringAsync).toHaveBeenCalledOnce();
  });

  it('keeps concurrent writes', async () => {
    const secrets = store();
    await Promise.all(Array.from({ length: 10 }, (_, index) => secrets.set(`key.${index}`, `value-${index}`)));
    const reread = store();
    for (let index = 0; index < 10; index++) await expect(reread.get(`key.${index}`)).resolves.toBe(`value-${index}`);
  });

  it.each(['kwallet', 'kwallet5', 'kwallet6'] as const)('also persists with %s', async (backend) => {
    safeStorage.backend = backend;
    await expect(store().set('x', SECRET)).resolves.toBe('encrypted');
  });
});

describe('without a keyring', () => {
  it.each(['basic_text', 'unknown'] as const)('refuses to persist on %s with FORBIDDEN and offers session-only', async (backend) => {
    safeStorage.backend = backend;
    // basic_text still reports encryption as "available"; the store must not trust that.
    safeStorage.available = true;
    const secrets = store();
    const status = await secrets.status();
    expect(status).toMatchObject({ persistent: false, backend });
    expect(status.reason).toBeTruthy();

    const error = await rejection(secrets.set('db.password', SECRET));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/session/);
    expect(error.details).toMatchObject({ name: 'db.password', backend, sessionOnlyAvailable: true });
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error.toEnvelope())).not.toContain(SECRET);
    expect(safeStorage.encryptStringAsync).not.toHaveBeenCalled();
    expect(existsSync(file)).toBe(false);
  });

  it('keeps session-only secrets in memory, never on disk', async () => {
    safeStorage.backend = 'basic_text';
    const secrets = store();
    await expect(secrets.set('db.password', SECRET, { persistence: 'session' })).resolves.toBe('session');
    await expect(secrets.get('db.password')).resolves.toBe(SECRET);
    expect(existsSync(file)).toBe(false);
    expect(safeStorage.encryptStringAsync).not.toHaveBeenCalled();
    // Another session does not know it.
    await expect(store().get('db.password')).resolves.toBeUndefined();
    secrets.clearSession();
    await expect(secrets.get('db.password')).resolves.toBeUndefined();
  });

  it('refuses when safeStorage reports encryption unavailable on any platform', async () => {
    safeStorage.available = false;
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const error = await rejection(store(platform).set('x', SECRET));
      expect(error.code).toBe('FORBIDDEN');
    }
  });

  it('does not ask Linux backends on macOS and Windows', async () => {
    await expect(store('darwin').status()).resolves.toEqual({ persistent: true, backend: 'keychain' });
    await expect(store('win32').status()).resolves.toEqual({ persistent: true, backend: 'dpapi' });
    expect(safeStorage.getSelectedStorageBackend).not.toHaveBeenCalled();
  });

  it('will not read a saved secret once the keyring is gone', async () => {
    await store().set('db.password', SECRET);
    safeStorage.backend = 'basic_text';
    const error = await rejection(store().get('db.password'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(safeStorage.decryptStringAsync).not.toHaveBeenCalled();
  });
});

describe('hygiene', () => {
  it('never shows values when the store is inspected or serialised', async () => {
    const secrets = store();
    await secrets.set('saved', SECRET);
    await secrets.set('session', SECRET, { persistence: 'session' });
    await secrets.get('saved');
    expect(inspect(secrets, { depth: 10, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(secrets)).not.toContain(SECRET);
  });

  it('does not echo the value when encryption fails', async () => {
    safeStorage.encryptStringAsync.mockRejectedValueOnce(new Error(`failed on ${SECRET}`));
    const error = await rejection(store().set('x', SECRET));
    expect(error.code).toBe('UNAVAILABLE');
    expect(JSON.stringify(error.toEnvelope())).not.toContain(SECRET);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('treats %s as a plain name, not an inherited member', async (name) => {
    await expect(store().get(name)).resolves.toBeUndefined();
    await store().set(name, SECRET);
    await store().set('other', 'x');
    await expect(store().get(name)).resolves.toBe(SECRET);
    expect((await store().list()).map((entry) => entry.name)).toEqual([name, 'other'].sort((a, b) => a.localeCompare(b)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['', '../etc/passwd', 'a b', 'x'.repeat(129), '.hidden', '9lives', 'a:b', '${secret:x}'])('rejects the reference name %j', async (name) => {
    const error = await rejection(store().set(name, SECRET));
    expect(error.code).toBe('VALIDATION');
  });

  it('rejects non-string and oversized values', async () => {
    await expect(rejection(store().set('x', 42 as unknown as string))).resolves.toMatchObject({ code: 'VALIDATION' });
    await expect(rejection(store().set('x', 'v'.repeat(70_000)))).resolves.toMatchObject({ code: 'LIMIT' });
  });

  it('leaves a file it does not understand untouched', async () => {
    writeFileSync(file, 'not json at all');
    const error = await rejection(store().set('x', SECRET));
    expect(error.code).toBe('INTERNAL');
    expect(readFileSync(file, 'utf8')).toBe('not json at all');
  });

  it('creates the store in the userData folder', () => {
    const secrets = SecretStore.inUserData(dir);
    expect(secrets).toBeInstanceOf(SecretStore);
  });
});
