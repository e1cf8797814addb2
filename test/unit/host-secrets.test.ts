// Web mode's and the CLI's secrets: environment references and session-only values, never saved.
import { describe, expect, it } from 'vitest';
import { SessionSecrets, answerSecretsCall } from '../../main/host/host-secrets.js';
import { parseSecretRef, resolveMaybeSecret } from '../../main/engine/secrets.js';

describe('SessionSecrets', () => {
  const secrets = new SessionSecrets({ KAFKA_PASSWORD: 'from-env', EMPTY: '' }, 'web mode has no OS-encrypted store.');

  it('resolves ${env:NAME} from the environment and says which variable is missing', async () => {
    expect(await secrets.resolve('${env:KAFKA_PASSWORD}')).toBe('from-env');
    await expect(secrets.resolve('${env:NOPE}')).rejects.toThrow(/NOPE is not set/);
    // An empty variable is a forgotten export, not an empty password.
    await expect(secrets.resolve('${env:EMPTY}')).rejects.toThrow('The environment variable EMPTY is empty (referenced as ${env:EMPTY}).');
  });

  it('keeps entered secrets for the session only and refuses to persist them', async () => {
    await expect(secrets.store('pg.password', 'v', true)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await secrets.store('pg.password', 'session-value', false)).toEqual({ name: 'pg.password', persisted: false, ref: '${secret:pg.password}' });
    expect(await answerSecretsCall(secrets, { op: 'resolve', ref: '${secret:pg.password}' })).toBe('session-value');
    const status = await secrets.status();
    expect(status).toMatchObject({ persistentAvailable: false, secrets: [{ name: 'pg.password', persisted: false }] });
    expect(JSON.stringify(status)).not.toContain('session-value');
    expect(await secrets.remove('pg.password')).toEqual({ deleted: true });
    await expect(secrets.resolve('${secret:pg.password}')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('says where a ${secret:NAME} it does not have lives: the form of the app, or (the CLI) another way to give it', async () => {
    const app = new SessionSecrets({}, 'web mode keeps secrets for the session only.');
    await expect(app.resolve('${secret:shop.password}')).rejects.toThrow(/"shop\.password" is not set in this session; enter it in the connection's form/);
    const cli = new SessionSecrets({}, 'no store.', (name) => `The secret "${name}" was entered in the Eddy app.`);
    await expect(cli.resolve('${secret:shop.password}')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'The secret "shop.password" was entered in the Eddy app.' });
  });

  it('parses only well-formed references', async () => {
    expect(parseSecretRef('${env:A_B}')).toEqual({ source: 'env', name: 'A_B' });
    expect(parseSecretRef('${file:/etc/passwd}')).toBeUndefined();
    expect(parseSecretRef('prefix ${env:A}')).toBeUndefined();
    await expect(secrets.resolve('plain')).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await resolveMaybeSecret('not-a-ref', () => Promise.reject(new Error('unused')))).toBe('not-a-ref');
  });
});
