// The newcomer's pipeline in a real browser over web mode (issue 7, "done when"): the demo
// pipeline joins orders with customers as of order time and keeps a running total per customer;
// run it, watch its state and charts, find the poison record in the dead letters, step one record
// through, edit the transform and replay into a dry run, and query the results in the warehouse.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const enabled = requireChromium();
let app: WebApp;
let browser: Browser;
let page: Page;
const errors: string[] = [];

describe.runIf(enabled)('pipelines in the browser', () => {
  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('opens the demo pipeline with its graph and form', async () => {
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    // The guided tour opens on the demo workspace; this test goes straight to the pipeline.
    await page.getByTestId('tour').getByRole('button', { name: 'Skip tour' }).click();
    await page.locator('[data-activity="pipelines"]').click();
    await page.locator('[data-pipeline-file="pipelines/customer-activity.pipeline.json"]').waitFor();
    await page.locator('.pipeline-view[data-pipeline="customer-activity"]').waitFor();
    for (const node of ['orders', 'with-customer', 'running-total', 'customer-totals', 'customers']) await page.locator(`.pipeline-graph [data-node="${node}"]`).first().waitFor();
    await page.locator('.pipeline-graph [data-node="with-customer"]').click();
    await page.locator('.pipeline-node-editor[data-editing="with-customer"]').waitFor();
    expect(await page.locator('.pipeline-node-editor input[aria-label="at"]').inputValue()).toBe('value.PlacedAt');
    await screenshot(page, 'pipeline-design');
  });

  it('runs live with its state visible, charts moving and the poison record in the dead letters', async () => {
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const status = page.getByTestId('pipeline-status');
    await status.locator('[data-state="running"]').waitFor({ timeout: 30_000 });
    await status.filter({ hasText: '367 records' }).waitFor({ timeout: 60_000 });
    await status.filter({ hasText: '1 dead letters' }).waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: 'Charts' }).click();
    await page.locator('.pipeline-charts canvas').first().waitFor();
    expect(await page.locator('.pipeline-charts canvas').count()).toBe(7);
    await expect.poll(async () => Number(await page.locator('.pipeline-charts').getAttribute('data-samples')), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'pipeline-charts');
    await page.getByRole('tab', { name: /Dead letters/ }).click();
    const letter = page.locator('tr.dead-letter[data-stage="source:calls"]');
    await letter.waitFor();
    expect(await page.locator('tr.dead-letter').count()).toBe(1);
    await letter.click();
    expect(await page.locator('.dead-letter-detail').innerText()).toContain('Unterminated string');
    expect(await page.locator('.dead-letter-detail').innerText()).toContain('"callId": 999999');
    await screenshot(page, 'pipeline-dead-letters');
    await page.getByRole('button', { name: 'Pause' }).click();
    await status.locator('[data-state="paused"]').waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await status.locator('[data-state="stopped"]').waitFor({ timeout: 30_000 });
  });

  it('steps one record through every stage', async () => {
    await page.getByRole('tab', { name: 'Step through' }).click();
    await page.locator('.pipeline-step select').selectOption('sqlserver:shop.dbo.Orders');
    await page.getByRole('button', { name: 'First record' }).click();
    await expect.poll(() => page.locator('.pipeline-position').inputValue()).not.toBe('');
    await page.getByRole('button', { name: 'Step', exact: true }).click();
    await page.locator('.step-stage[data-stage="with-customer"][data-outcome="changed"]').waitFor();
    await page.locator('.step-stage[data-stage="running-total"][data-outcome="changed"]').waitFor();
    expect(await page.locator('.step-stage[data-stage="calls-per-customer"]').getAttribute('data-outcome')).toBe('idle');
    await screenshot(page, 'pipeline-step');
  });

  it('replays into a dry run after editing the transform, and the shadow table shows the change', async () => {
    // Edit the transform file of the demo's working copy (what the editor would save).
    const scriptFile = path.join(app.dataDir, 'demo-workspace', 'pipelines', 'scripts', 'running-total.ts');
    writeFileSync(scriptFile, readFileSync(scriptFile, 'utf8').replace('customerName: order.customer?.Name ?? null,', "customerName: (order.customer?.Name ?? '').toUpperCase(),"));
    await page.locator('.pipeline-controls select').selectOption('beginning');
    await page.locator('.pipeline-controls input[type="checkbox"]').check();
    await page.getByRole('button', { name: 'Dry run', exact: true }).click();
    await page.getByTestId('pipeline-status').locator('[data-state="completed"]').waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: 'Warehouse' }).click();
    await page.getByRole('button', { name: 'dryrun_customer_activity_customer_totals' }).click();
    await page.locator('.pipeline-sql').fill('SELECT customerName, runningTotal FROM dryrun_customer_activity_customer_totals WHERE customerId = 1003');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.locator('.pipeline-result table tbody tr').first().waitFor();
    expect(await page.locator('.pipeline-result').innerText()).toContain('CHLOÉ MARTIN');
    // The live tables were not touched by the dry run.
    await page.locator('.pipeline-sql').fill('SELECT customerName FROM customer_totals WHERE customerId = 1003');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.locator('.pipeline-result').filter({ hasText: 'Chloé Martin' }).waitFor();
    await screenshot(page, 'pipeline-dry-run');
    expect(errors).toEqual([]);
  });
});
