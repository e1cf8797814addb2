// Adding a Kafka connection against the real broker, through the Connections view: the form,
// "Test connection" reaching the broker, and the saved profile in the list; then the broker's SASL
// listener (SCRAM-SHA-512, the password from an environment variable) and its mutual-TLS listener
// (CA, client certificate and key files; an encrypted key with its passphrase from a variable), with
// a file that cannot be read reported as such and an edit that keeps the files. Skips with the reason on a laptop without a broker
// (`npm run services:up` starts one); fails under CI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { findKafka, findSecuredKafka, type SecuredKafka } from '../support/services.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const brokers = requireChromium() ? await findKafka() : undefined;
const secured: SecuredKafka | undefined = brokers ? await findSecuredKafka() : undefined;
const PASSWORD_VARIABLE = 'EDDY_E2E_KAFKA_PASSWORD';
const PASSPHRASE_VARIABLE = 'EDDY_E2E_KEY_PASSPHRASE';
let workspace: string;
let app: WebApp;
let browser: Browser;
let page: Page;

describe.runIf(brokers && secured)('adding a Kafka connection', () => {
  beforeAll(async () => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-ui-'));
    writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'Kafka connection test', version: 1, samples: [] }));
    app = await startWebApp({ workspace, env: { [PASSWORD_VARIABLE]: secured!.sasl.password, [PASSPHRASE_VARIABLE]: secured!.tls.keyPassphrase } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('tests the broker from the form and saves the profile without secrets', async () => {
    await page.locator('[data-activity="connections"]').click();
    await page.getByText('No connections yet.').waitFor();
    await page.getByRole('button', { name: '+ Kafka' }).click();
    const form = page.getByRole('form', { name: 'Kafka connection' }).or(page.locator('form.connection-form'));
    await form.getByLabel('Name').fill('Local broker');
    // A broker without a port is pointed at in the form, before anything is sent.
    await form.getByLabel('Bootstrap brokers').fill('localhost');
    await form.getByRole('button', { name: 'Test connection' }).click();
    expect(await form.getByLabel('Bootstrap brokers').evaluate((input) => (input as unknown as { validity: { valid: boolean } }).validity.valid)).toBe(false);
    expect(await page.getByTestId('connection-test-result').count()).toBe(0);
    await form.getByLabel('Bootstrap brokers').fill(brokers!.join(', '));
    expect(await form.getByLabel('Bootstrap brokers').evaluate((input) => (input as unknown as { validity: { valid: boolean } }).validity.valid)).toBe(true);
    expect(await form.getByLabel('Client id').inputValue()).toBe('eddy');
    await form.getByLabel('Client id').fill('eddy-e2e-analyst');
    await form.getByRole('button', { name: 'Test connection' }).click();
    const result = page.getByTestId('connection-test-result');
    await result.waitFor({ timeout: 60_000 });
    const text = await result.innerText();
    expect(text, `the connection test said: ${text}`).toMatch(/^✓ Connected to/);
    await screenshot(page, 'kafka-connection-tested');
    await form.getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('.connection-list li', { hasText: 'Local broker' });
    await saved.waitFor();
    expect(await saved.innerText()).toContain(brokers![0]!);
    // The profile is a plain file in the workspace, ready for git.
    const files = readdirSync(path.join(workspace, 'connections'));
    expect(files).toHaveLength(1);
    const profile = JSON.parse(readFileSync(path.join(workspace, 'connections', files[0]!), 'utf8')) as { kind: string; brokers: string[] };
    expect(profile).toMatchObject({ kind: 'kafka', brokers, clientId: 'eddy-e2e-analyst' });
    // Editing shows the client id it was saved with.
    await saved.getByRole('button', { name: 'Edit' }).click();
    expect(await page.locator('form.connection-form').getByLabel('Client id').inputValue()).toBe('eddy-e2e-analyst');
    await page.locator('form.connection-form').getByRole('button', { name: 'Cancel' }).click();
    // Testing the saved profile from the list reaches the broker as well.
    await saved.getByRole('button', { name: 'Test' }).click();
    await saved.getByTestId('connection-test-result').getByText('✓', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await saved.getByTestId('connection-test-result').innerText()).toMatch(/tested just now\)$/);
    // The Kafka view opens on the connection just saved and lists its topics.
    await page.getByRole('button', { name: 'Kafka', exact: true }).click();
    await expect.poll(() => page.getByLabel('Kafka connection').locator('option:checked').innerText(), { timeout: 15_000 }).toContain('Local broker');
    await page.getByTestId('kafka-topics').waitFor();
    await page.getByRole('button', { name: 'Connections', exact: true }).click();
    // Back in Connections, the card still says how its last test went.
    expect(await page.locator('.connection-list li', { hasText: 'Local broker' }).getByTestId('connection-test-result').innerText()).toMatch(/^✓ Connected to/);
  });

  const profileFile = (id: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(workspace, 'connections', `${id}.json`), 'utf8')) as Record<string, unknown>;
  const form = () => page.locator('form.connection-form');
  const testForm = async (): Promise<string> => {
    await form().getByRole('button', { name: 'Test connection' }).click();
    const result = form().getByTestId('connection-test-result');
    await result.waitFor({ timeout: 60_000 });
    return result.innerText();
  };

  it('connects to the SASL listener with SCRAM-SHA-512 and the password from an environment variable', async () => {
    await page.getByRole('button', { name: '+ Kafka' }).click();
    await form().getByLabel('Name').fill('SCRAM broker');
    await form().getByLabel('Bootstrap brokers').fill(secured!.sasl.brokers.join(', '));
    await form().getByLabel('SASL').selectOption('scram-sha-512');
    await form().getByLabel('User').fill(secured!.sasl.user);
    await form().getByLabel('Password').selectOption('env');
    await form().getByLabel('Variable name').fill(PASSWORD_VARIABLE);
    const text = await testForm();
    expect(text, `the connection test said: ${text}`).toMatch(/^✓ Connected to/);
    await form().getByRole('button', { name: 'Save' }).click();
    await page.locator('.connection-list li', { hasText: 'SCRAM broker' }).waitFor();
    const saved = profileFile('scram-broker');
    expect(saved.sasl).toEqual({ mechanism: 'scram-sha-512', username: secured!.sasl.user, password: `\${env:${PASSWORD_VARIABLE}}` });
    expect(JSON.stringify(saved)).not.toContain(secured!.sasl.password);
  });

  it('connects over mutual TLS with CA, certificate and key files, says when a file cannot be read, and keeps the files on edit', async () => {
    const tls = secured!.tls;
    await page.getByRole('button', { name: '+ Kafka' }).click();
    await form().getByLabel('Name').fill('TLS broker');
    await form().getByLabel('Bootstrap brokers').fill(tls.brokers.join(', '));
    await form().getByLabel('TLS', { exact: true }).check();
    await form().getByLabel('CA certificate').fill(tls.caFile);
    await form().getByLabel('Client certificate').fill(tls.certFile);
    await form().getByLabel('Client key').fill(tls.keyFile);
    const text = await testForm();
    expect(text, `the connection test said: ${text}`).toMatch(/^✓ Connected to/);
    await screenshot(page, 'kafka-connection-mtls');
    await form().getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('.connection-list li', { hasText: 'TLS broker' });
    await saved.waitFor();
    const expected: Record<string, unknown> = { enabled: true, rejectUnauthorized: true, caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile };
    expect(profileFile('tls-broker').tls).toEqual(expected);

    // A CA file that is not there: the test says which file, at the configuration stage.
    await saved.getByRole('button', { name: 'Edit' }).click();
    await form().getByLabel('CA certificate').fill('/nonexistent/ca.pem');
    const failed = await testForm();
    expect(failed).toMatch(/^Failed: check the settings The CA certificate file \/nonexistent\/ca\.pem cannot be read: ENOENT/);
    await form().getByRole('button', { name: 'Cancel' }).click();

    // An encrypted client key: named as such until its passphrase is given, then connected.
    await saved.getByRole('button', { name: 'Edit' }).click();
    await form().getByLabel('Client key').fill(tls.encryptedKeyFile);
    expect(await testForm()).toMatch(/^Failed: check the settings The client key \S+ is encrypted: give its passphrase/);
    await form().getByLabel('Key passphrase').selectOption('env');
    await form().getByLabel('Passphrase variable').fill(PASSPHRASE_VARIABLE);
    const decrypted = await testForm();
    expect(decrypted, `the connection test said: ${decrypted}`).toMatch(/^✓ Connected to/);
    await screenshot(page, 'kafka-connection-key-passphrase');
    await form().getByRole('button', { name: 'Save' }).click();
    await saved.waitFor();
    Object.assign(expected, { keyFile: tls.encryptedKeyFile, keyPassphrase: `\${env:${PASSPHRASE_VARIABLE}}` });
    expect(profileFile('tls-broker').tls).toEqual(expected);

    // Editing and saving without touching TLS keeps every file.
    await saved.getByRole('button', { name: 'Edit' }).click();
    await form().getByLabel('Name').fill('TLS broker (edited)');
    await form().getByRole('button', { name: 'Save' }).click();
    await page.locator('.connection-list li', { hasText: 'TLS broker (edited)' }).waitFor();
    expect(profileFile('tls-broker')).toMatchObject({ name: 'TLS broker (edited)', tls: expected });
  });
});
