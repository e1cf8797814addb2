// The newcomer's first minute, in a real browser over web mode: the demo workspace opens with its
// captured streams, a change event shows before/after, and a killed engine is reported and comes back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';
import { connect } from '../support/ws-client.js';

const enabled = requireChromium();
let app: WebApp;
let browser: Browser;
let page: Page;

describe.runIf(enabled)('demo workspace in the browser', () => {
  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    (page as unknown as { errors: string[] }).errors = errors;
  });
  afterEach(async (context) => {
    // What the page and the host showed when a step failed, for the CI log's reader.
    if (context.task.result?.state === 'fail' && page) {
      await screenshot(page, `demo-failed-${context.task.name.slice(0, 30).replace(/\W+/g, '-')}`).catch(() => undefined);
      console.log(`[demo e2e] status bar: ${await page.locator('footer').innerText({ timeout: 2000 }).catch(() => '(none)')}`);
      console.log(`[demo e2e] page errors: ${JSON.stringify((page as unknown as { errors: string[] }).errors)}`);
      console.log(`[demo e2e] web mode output:\n${app.output().slice(-4000)}`);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('opens on the demo workspace with its captured streams', async () => {
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    // The guided tour opens on the demo workspace; the newcomer test walks it, this one skips it.
    await page.getByTestId('tour').getByRole('button', { name: 'Skip tour' }).click();
    await page.locator('[data-stream="sqlserver:shop.dbo.Orders"]').waitFor();
    await expect(page.locator('.stream-list li').count()).resolves.toBe(3);
    expect(await page.locator('[data-stream="kafka:callcentre.calls"]').innerText()).toMatch(/callcentre\.calls/);
    // The token must not linger in the address bar once the session cookie is set.
    expect(page.url()).not.toContain('token=');
    const file = await screenshot(page, 'demo-workspace');
    expect(existsSync(file)).toBe(true);
  });

  it('browses a stream and shows a change event before and after', async () => {
    await page.locator('[data-stream="sqlserver:shop.dbo.Customers"]').click();
    // The grid renders only what is on screen; all 21 customers fit, each loaded from the engine.
    const rows = page.locator('[data-testid="event-grid"] .grid-row:not(.loading)');
    await rows.nth(20).waitFor();
    expect(await rows.count()).toBe(21);
    await expect(page.getByTestId('view-count').innerText()).resolves.toBe('21 events');
    // Every header sits over its cells, whatever the length of the values (a long JSON value must
    // not widen its column and push the ones after it out of reach).
    const boxes = async (selector: string): Promise<{ x: number; width: number }[]> =>
      page.locator(selector).evaluateAll((cells) => cells.map((cell) => ({ x: cell.getBoundingClientRect().x, width: cell.getBoundingClientRect().width })));
    const headers = await boxes('.grid:has([data-testid="event-grid"]) .grid-header [role="columnheader"]');
    const cells = await boxes('[data-testid="event-grid"] .grid-row[aria-rowindex="2"] [role="gridcell"]');
    expect(headers.length).toBeGreaterThanOrEqual(6);
    expect(cells.length).toBe(headers.length);
    for (const [i, header] of headers.entries()) {
      expect(Math.abs(header.x - cells[i]!.x), `column ${i} starts where its header does`).toBeLessThanOrEqual(1);
      expect(Math.abs(header.width - cells[i]!.width), `column ${i} is as wide as its header`).toBeLessThanOrEqual(1);
    }
    const gridRight = await page.getByTestId('event-grid').evaluate((grid) => grid.getBoundingClientRect().left + grid.scrollWidth);
    expect(headers[headers.length - 1]!.x + headers[headers.length - 1]!.width).toBeLessThanOrEqual(gridRight + 1);
    // The one update in the customers sample: Chloé Martin moves to Lyon.
    await page.locator('[data-testid="event-grid"] .grid-row', { has: page.locator('.op-u') }).click();
    const changed = page.locator('table.change tr.changed');
    await changed.first().waitFor();
    const fields = await changed.locator('td:first-child').allInnerTexts();
    expect(fields).toEqual(expect.arrayContaining(['Street', 'City', 'Postcode']));
    expect(await page.locator('table.change').innerText()).toContain('Lyon');
    await screenshot(page, 'change-event');
  });

  it('shows a killed engine in the UI and recovers when it restarts', async () => {
    const client = await connect(app.origin, app.token);
    const response = await client.request('getAppInfo');
    client.close();
    const enginePid = response.ok ? (response.result as { enginePid: number }).enginePid : -1;
    expect(enginePid).toBeGreaterThan(0);
    process.kill(enginePid, 'SIGKILL');
    const banner = page.getByTestId('engine-banner');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.innerText()).toMatch(/stopped unexpectedly \(killed by SIGKILL\)/);
    await page.getByText(/Engine ready · 1 restart/).waitFor({ timeout: 30_000 });
    await page.getByText('Engine recovered').waitFor();
    await screenshot(page, 'engine-recovered');
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await expect(banner.count()).resolves.toBe(0);
    await page.locator('[data-stream="sqlserver:shop.dbo.Orders"]').click();
    await page.locator('[data-testid="event-grid"] .grid-row:not(.loading)').first().waitFor();
    const errors = (page as unknown as { errors: string[] }).errors.filter((text) => !/WebSocket|ERR_CONNECTION/.test(text));
    expect(errors).toEqual([]);
  });
});
