// Adding a Kafka connection against the real broker, through the Connections view: the form,
// "Test connection" reaching the broker, and the saved profile in the list. Skips with the reason
// on a laptop without a broker (`npm run services:up` starts one); fails under CI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { findKafka } from '../support/services.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const brokers = requireChromium() ? await findKafka() : undefined;
let workspace: string;
let app: WebApp;
let browser: Browser;
let page: Page;

describe.runIf(brokers)('adding a Kafka connection', () => {
  beforeAll(async () => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-ui-'));
    writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'Kafka connection test', version: 1, samples: [] }));
    app = await startWebApp({ workspace });
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
    await form.getByLabel('Bootstrap brokers').fill(brokers!.join(', '));
    await form.getByRole('button', { name: 'Test connection' }).click();
    const result = page.getByTestId('connection-test-result');
    await result.waitFor({ timeout: 60_000 });
    const text = await result.innerText();
    expect(text, `the connection test said: ${text}`).toMatch(/^Connected/);
    await screenshot(page, 'kafka-connection-tested');
    await form.getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('.connection-list li', { hasText: 'Local broker' });
    await saved.waitFor();
    expect(await saved.innerText()).toContain(brokers![0]!);
    // The profile is a plain file in the workspace, ready for git.
    const files = readdirSync(path.join(workspace, 'connections'));
    expect(files).toHaveLength(1);
    const profile = JSON.parse(readFileSync(path.join(workspace, 'connections', files[0]!), 'utf8')) as { kind: string; brokers: string[] };
    expect(profile).toMatchObject({ kind: 'kafka', brokers });
    // Testing the saved profile from the list reaches the broker as well.
    await saved.getByRole('button', { name: 'Test' }).click();
    await saved.getByTestId('connection-test-result').getByText('Connected', { exact: true }).waitFor({ timeout: 60_000 });
  });
});
