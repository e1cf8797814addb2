// The desktop host's secrets as the engine sees them: `${secret:NAME}` from the safeStorage store,
// `${env:NAME}` from Eddy's environment, persistence refused without a keyring.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EddyError } from '../../../shared/contract.js';
import { DesktopSecrets } from '../../../main/electron/desktop-secrets.js';
import { SecretStore } from '../../../main/electron/secrets.js';
import { resetElectronMock, safeStorage } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

let dir: string;
let secrets: DesktopSecrets;

beforeEach(() => {
  resetElectronMock();
  dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-desktop-secrets-'));
  secrets = new DesktopSecrets(SecretStore.inUserData(dir, { platform: 'linux' }), { KAFKA_PASSWORD: 'from-env' });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EddyError) return error.code;
    throw error;
  }
  return 'resolved';
}

describe('DesktopSecrets', () => {
  it('persists with a keyring and resolves ${secret:NAME}', async () => {
    await expect(secrets.store('pg_password', 's3cret', true)).resolves.toEqual({ name: 'pg_password', persisted: true, ref: '${secret:pg_password}' });
    await expect(secrets.resolve('${secret:pg_password}')).resolves.toBe('s3cret');
    await expect(secrets.status()).resolves.toEqual({
      persistentAvailable: true,
      backend: 'gnome_libsecret',
      secrets: [{ name: 'pg_password', persisted: true }],
    });
  });

  it('refuses to persist on basic_text but keeps a session secret', async () => {
    safeStorage.backend = 'basic_text';
    await expect(code(secrets.store('pg_password', 's3cret', true))).resolves.toBe('FORBIDDEN');
    await expect(secrets.store('pg_password', 's3cret', false)).resolves.toMatchObject({ persisted: false });
    await expect(secrets.resolve('${secret:pg_password}')).resolves.toBe('s3cret');
    const status = await secrets.status();
    expect(status).toMatchObject({ persistentAvailable: false, backend: 'basic_text', secrets: [{ name: 'pg_password', persisted: false }] });
    expect(status.reason).toMatch(/keyring/);
  });

  it('resolves ${env:NAME} from the app environment', async () => {
    await expect(secrets.resolve('${env:KAFKA_PASSWORD}')).resolves.toBe('from-env');
    await expect(code(secrets.resolve('${env:MISSING}'))).resolves.toBe('NOT_FOUND');
  });

  it('rejects what is not a reference and reports unknown secrets', async () => {
    await expect(code(secrets.resolve('plain text'))).resolves.toBe('VALIDATION');
    await expect(code(secrets.resolve('${secret:nope}'))).resolves.toBe('NOT_FOUND');
  });

  it('removes secrets', async () => {
    await secrets.store('x', 'v', true);
    await expect(secrets.remove('x')).resolves.toEqual({ deleted: true });
    await expect(secrets.remove('x')).resolves.toEqual({ deleted: false });
  });
});
