// The newcomer's path through the demo workspace, in a real browser over web mode: the guided
// tour (explore, transform, test, pipeline, export) opens once and is remembered; empty states say
// what to do next; a selection exports as JSON Lines and as formula-guarded CSV; the command
// palette, shortcuts and themes work; the layout and open tabs come back after a reload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

// The page's root element, for code that runs in the page (the test tsconfig has no DOM library).
declare const document: { documentElement: { dataset: Record<string, string | undefined> } };

const enabled = requireChromium();
let app: WebApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];

describe.runIf(enabled)('the newcomer path through the demo workspace', () => {
  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, colorScheme: 'light' });
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('walks the guided tour through explore, transform, test, pipeline and export', async () => {
    const tour = page.getByTestId('tour');
    await tour.getByRole('heading', { name: 'Welcome to Eddy' }).waitFor();
    await screenshot(page, 'tour-welcome');
    const titles: string[] = [];
    await tour.getByRole('button', { name: 'Show me' }).click();
    for (;;) {
      const title = await tour.getByRole('heading').innerText();
      titles.push(title);
      // Each step points at what it talks about (the ring is drawn around it).
      if (!['You are set'].includes(title)) await page.locator('.tour-ring').waitFor();
      if (title === '1 · Explore: one change') {
        await page.locator('[data-testid="event-grid"] .grid-row:not(.loading)').first().waitFor();
        await screenshot(page, 'tour-explore');
      }
      const done = tour.getByRole('button', { name: 'Done' });
      if (await done.count()) {
        await done.click();
        break;
      }
      await tour.getByRole('button', { name: 'Next' }).click();
    }
    expect(titles).toEqual(['1 · Explore', '1 · Explore: one change', '2 · Transform', '3 · Test', '4 · Pipeline', '5 · Export', 'You are set']);
    await expect(tour.count()).resolves.toBe(0);
    // Remembered: a reload does not bring it back.
    await page.reload();
    await page.getByText('Engine ready').waitFor();
    await page.locator('[data-stream="sqlserver:shop.dbo.Orders"]').waitFor();
    await page.waitForTimeout(500);
    await expect(tour.count()).resolves.toBe(0);
  });

  it('says what to do next where a feature has nothing to show', async () => {
    for (const activity of ['transforms', 'tests', 'pipelines', 'kafka', 'cdc']) {
      await page.locator(`[data-activity="${activity}"]`).click();
      const empty = page.getByTestId(`empty-${activity}`);
      // A feature panel, once it exists, replaces the empty state; either way the view says something.
      if (await empty.count()) {
        expect(await empty.innerText()).toMatch(/Meanwhile/);
        expect(await empty.getByRole('button').count()).toBeGreaterThan(0);
      }
    }
    await page.locator('[data-activity="pipelines"]').click();
    if (await page.getByTestId('empty-pipelines').count()) {
      await page.getByRole('button', { name: 'Show dead letters' }).click();
      await page.getByText('No dead letters.').waitFor();
      await screenshot(page, 'empty-states');
    }
    await page.locator('[data-activity="explorer"]').click();
  });

  it('exports a selection as JSON Lines and as formula-guarded CSV', async () => {
    await page.locator('[data-stream="sqlserver:shop.dbo.Customers"]').click();
    const grid = page.getByTestId('event-grid');
    await grid.locator('.grid-row:not(.loading)').nth(20).waitFor();
    // Select rows 2-6 with a click and a Shift-click.
    await grid.locator('.grid-row[data-row="1"]').click();
    await grid.locator('.grid-row[data-row="5"]').click({ modifiers: ['Shift'] });
    await page.getByText('5 selected').waitFor();
    await page.getByRole('button', { name: 'Export…' }).click();
    const menu = page.getByRole('dialog', { name: 'Export events' });
    const [jsonl] = await Promise.all([page.waitForEvent('download'), menu.getByRole('button', { name: 'Export 5 events' }).click()]);
    expect(jsonl.suggestedFilename()).toMatch(/^sqlserver_shop\.dbo\.Customers-.*\.jsonl$/);
    const lines = readFileSync((await jsonl.path())!, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { stream: string; position: string });
    expect(lines).toHaveLength(5);
    expect(lines.every((line) => line.stream === 'sqlserver:shop.dbo.Customers')).toBe(true);

    // A JSON-path column, then CSV: the column is in the file.
    await page.getByRole('button', { name: '+ Column' }).click();
    await page.getByRole('dialog', { name: 'Add a column' }).getByLabel('JSON path').fill('after.City');
    await page.keyboard.press('Enter');
    await grid.locator('.grid-cell.path-column').first().waitFor();
    await page.getByRole('button', { name: 'Export…' }).click();
    await menu.getByLabel(/CSV/).check();
    await page.getByText(/prefixed with ' so spreadsheets/).waitFor();
    const [csv] = await Promise.all([page.waitForEvent('download'), menu.getByRole('button', { name: 'Export 5 events' }).click()]);
    const text = readFileSync((await csv.path())!, 'utf8');
    expect(text.split('\n')[0]).toBe('seq,stream,position,op,event_time,ingest_time,key,value,headers,after.City');
    expect(text.trim().split('\n')).toHaveLength(6);
    await screenshot(page, 'export-selection');
  });

  it('charts event rates, lateness and field values of a stream', async () => {
    await page.locator('[data-stream="sqlserver:shop.dbo.Orders"]').hover();
    await page.getByRole('button', { name: 'Charts of sqlserver:shop.dbo.Orders' }).click();
    for (const chart of ['rate-chart', 'skew-chart', 'distribution-chart']) await page.getByTestId(chart).locator('canvas').waitFor();
    await page.getByTestId('rate-chart').getByText(/288 events/).waitFor();
    await page.getByTestId('distribution-chart').getByText(/distinct values|bins/).waitFor();
    while (await page.locator('.notice').count()) await page.locator('.notice').first().getByRole('button', { name: 'Dismiss' }).click();
    await page.mouse.move(150, 700);
    await page.waitForTimeout(300);
    await screenshot(page, 'charts');
    await page.locator('.tab', { hasText: 'shop.dbo.Customers' }).click();
  });

  it('finds every action in the command palette, and keeps theme, layout and tabs across a reload', async () => {
    await page.keyboard.press('Control+Shift+P');
    const palette = page.getByRole('dialog', { name: 'Commands' });
    await palette.waitFor();
    await page.keyboard.type('dark theme');
    await screenshot(page, 'command-palette');
    await page.keyboard.press('Enter');
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('dark');
    await page.keyboard.press('Control+Shift+P');
    await page.keyboard.type('show output');
    await page.keyboard.press('Enter');
    await page.getByRole('tab', { name: 'Output' }).waitFor();
    await page.getByText(/Exported 5 events of sqlserver:shop\.dbo\.Customers/).first().waitFor();
    await page.reload();
    await page.getByText('Engine ready').waitFor();
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('dark');
    await page.getByRole('tab', { name: 'Output' }).waitFor();
    await expect(page.locator('.tab.active').innerText()).resolves.toContain('shop.dbo.Customers');
    await page.locator('[data-testid="event-grid"] .grid-cell.path-column').first().waitFor();
    // Back to the OS default (light in this browser) for the screenshots that follow.
    await page.keyboard.press('Control+Shift+P');
    await page.keyboard.type('operating system');
    await page.keyboard.press('Enter');
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('light');
    expect(errors).toEqual([]);
  });
});
