// A SQL query over the event log in the real UI: the Monaco editor with SQL highlighting and
// completion of stream names and fields, results in the virtualized table and as a chart, and an
// error that says what went wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const enabled = requireChromium();
let app: WebApp;
let browser: Browser;
let page: Page;

async function typeQuery(text: string): Promise<void> {
  const editor = page.locator('.sql-editor[data-editor="monaco"] .monaco-editor');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // Monaco auto-closes brackets and quotes as you type: insert the text in one go instead.
  await page.keyboard.insertText(text);
}

describe.runIf(enabled)('SQL over the log', () => {
  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    await page.getByTestId('tour').getByRole('button', { name: 'Skip tour' }).click();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('runs a query with json_extract over a stream and shows the rows', async () => {
    await page.keyboard.press('Control+Shift+P');
    await page.keyboard.type('new sql query');
    await page.keyboard.press('Enter');
    await page.locator('.sql-editor[data-editor="monaco"]').waitFor({ timeout: 60_000 });
    // Monaco highlights SQL keywords.
    await page.locator('.sql-editor .mtk1, .sql-editor [class*="mtk"]').first().waitFor();
    await typeQuery(
      "SELECT json_extract(value, '$.after.Name') AS name, json_extract(value, '$.after.City') AS city, op\nFROM events\nWHERE stream = 'sqlserver:shop.dbo.Customers' AND op = 'u'",
    );
    await page.keyboard.press('Control+Enter');
    const status = page.getByTestId('sql-status');
    await status.waitFor();
    expect(await status.innerText()).toMatch(/^1 row in [\d.]+ ms/);
    const grid = page.getByTestId('results-grid');
    expect(await grid.locator('.grid-row').first().innerText()).toMatch(/Chloé Martin\s+Lyon\s+u/);
    await screenshot(page, 'sql-query');
  });

  it('completes stream names and fields', async () => {
    await typeQuery("SELECT count(*) FROM events WHERE stream = '");
    await page.keyboard.press('Control+Space');
    const suggestions = page.locator('.monaco-editor .suggest-widget');
    await suggestions.getByText('kafka:callcentre.calls').waitFor();
    await screenshot(page, 'sql-completion-streams');
    await page.keyboard.press('Escape');
    await typeQuery("SELECT json_extract(value, '$.");
    await page.keyboard.press('Control+Space');
    await suggestions.getByText('$.after.City').first().waitFor();
    // Running the query closes the list instead of leaving it over the results.
    await page.keyboard.press('Control+Enter');
    await suggestions.waitFor({ state: 'hidden' });
    await page.getByTestId('sql-error').waitFor();
  });

  it('charts grouped results and explains a failing query', async () => {
    await typeQuery("SELECT op, count(*) AS events FROM events WHERE stream = 'sqlserver:shop.dbo.Orders' GROUP BY op");
    await page.getByRole('button', { name: '▶ Run' }).click();
    await page.getByTestId('sql-status').getByText(/rows? in/).waitFor();
    // One statement spans the demo log's segments: no per-segment caveat.
    expect(await page.getByText(/ran once per segment/).count()).toBe(0);
    await page.getByRole('button', { name: 'Chart' }).click();
    await page.locator('.results-area canvas').waitFor();
    await page.getByRole('button', { name: 'Table' }).click();
    // A count over the whole log is one row, whatever the segments.
    await typeQuery('SELECT count(*) FROM events');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('sql-status').getByText(/^1 row in/).waitFor();
    await typeQuery('DELETE FROM events');
    await page.keyboard.press('Control+Enter');
    const error = page.getByTestId('sql-error');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/read-only/i);
    await typeQuery('SELECT nosuchcolumn FROM events');
    await page.keyboard.press('Control+Enter');
    await error.getByText(/no such column/).waitFor();
    expect(await error.innerText()).toMatch(/Check the input and try again/);
  });

  it('cancels a long query from its Cancel button, and the next query runs', async () => {
    await typeQuery('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r');
    await page.keyboard.press('Control+Enter');
    const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    await cancel.waitFor();
    await page.getByRole('button', { name: /Running…/ }).waitFor();
    await cancel.click();
    const error = page.getByTestId('sql-error');
    await error.getByText(/cancelled/).waitFor({ timeout: 5000 });
    expect(await cancel.count()).toBe(0);
    await typeQuery('SELECT 42 AS answer');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('sql-status').getByText(/1 row in/).waitFor();
  });
});
