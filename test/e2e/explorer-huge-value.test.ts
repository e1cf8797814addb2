// An event with a multi-megabyte column in the Explorer: the before/after table and the raw view
// show its start, how much more there is and a button for the rest, so opening it neither stalls
// the page nor squeezes the other columns, and the raw text wraps instead of vanishing off-screen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const enabled = requireChromium();
const STREAM = 'pg:shop.public.documents';
const BODY = 3_000_000;
let workspace: string;
let app: WebApp;
let browser: Browser;
let page: Page;

describe.runIf(enabled)('a huge value in the Explorer', () => {
  beforeAll(async () => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-huge-'));
    const source = { connector: 'postgresql', db: 'shop', schema: 'public', table: 'documents', ts_ms: 1_767_225_600_000 };
    const event = {
      stream: STREAM,
      position: 'pg:0/1A2B3C:0/1A2B3C:0',
      key: { id: 7 },
      value: { before: null, after: { id: 7, title: 'scan', body: 'x'.repeat(BODY) }, source, op: 'c', ts_ms: 1_767_225_600_000 },
      op: 'c',
      eventTime: 1_767_225_600_000,
      ingestTime: 1_767_225_600_050,
    };
    writeFileSync(path.join(workspace, 'documents.jsonl'), `${JSON.stringify(event)}\n`);
    writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'Huge value', version: 1, samples: ['documents.jsonl'] }));
    app = await startWebApp({ workspace });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('shows the start of the column, how much more there is, and the rest on request', async () => {
    await page.locator(`[data-stream="${STREAM}"]`).click();
    await page.locator('[data-testid="event-grid"] .grid-row:not(.loading)').first().click();
    const table = page.locator('table.change');
    await table.waitFor();
    const body = table.locator('tr', { hasText: 'body' });
    await expect.poll(() => body.innerText()).toContain(`… ${(BODY + 2 - 2000).toLocaleString('en')} more characters`);
    // The field names keep their room.
    const fieldWidth = await body.locator('td').first().evaluate((cell) => (cell as unknown as { getBoundingClientRect(): { width: number } }).getBoundingClientRect().width);
    expect(fieldWidth).toBeGreaterThan(25);
    await screenshot(page, 'explorer-huge-value');
    await body.getByRole('button', { name: 'Show all' }).click();
    await expect.poll(async () => (await body.innerText()).length, { timeout: 30_000 }).toBeGreaterThan(BODY);
    await page.getByRole('tab', { name: 'Raw' }).click();
    const raw = page.locator('pre.json');
    await expect.poll(() => raw.innerText()).toMatch(/"title": "scan"/);
    expect(await raw.innerText()).toMatch(/more characters/);
    // Wrapped: the text stays inside the panel instead of one line millions of pixels wide.
    const box = await raw.evaluate((element) => {
      const el = element as unknown as { scrollWidth: number; clientWidth: number };
      return { scroll: el.scrollWidth, client: el.clientWidth };
    });
    expect(box.scroll).toBeLessThanOrEqual(box.client + 2);
  });
});
