// A newcomer writes a transform against the captured orders in a real browser over web mode:
// Monaco (loaded under the app's CSP, no 'unsafe-eval') completes `event.after.` with the real
// columns inferred from samples, the per-record preview updates while typing, and the demo's test
// passes in the tests panel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const enabled = requireChromium();
let app: WebApp;
let browser: Browser;
let page: Page;
const problems: string[] = [];

describe.runIf(enabled)('transform authoring in the browser', () => {
  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    // The guided tour opens on the demo workspace; this test goes straight to the editor.
    await page.getByTestId('tour').getByRole('button', { name: 'Skip tour' }).click();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('opens the demo transform in Monaco with a per-record preview of the captured orders', async () => {
    await page.locator('[data-activity="transforms"]').click();
    await page.getByTestId('transforms-panel').waitFor();
    await page.locator('.monaco-editor .view-lines').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="preview-record"]').first().waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('preview-stats').innerText()).toMatch(/50 events · \d+ outputs · 0 errors/);
    // The web mode's engine runs scripts in V8 isolates (isolated-vm is installed wherever the tests run).
    expect(await page.getByTestId('sandbox-engine').innerText()).toBe('sandbox: V8 isolate');
    await screenshot(page, 'transforms-preview');
  });

  it('completes event.after. with the columns inferred from the samples', async () => {
    await page.locator('.monaco-editor .view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText("import type { Transform } from 'eddy';\n\nconst t: Transform<'sqlserver:shop.dbo.Orders'> = (event, ctx) => {\n  const status = ");
    await page.keyboard.type('event.after.', { delay: 30 });
    const suggestions = page.locator('.suggest-widget .monaco-list-row');
    await suggestions.first().waitFor({ timeout: 30_000 });
    await page.locator('.suggest-widget .monaco-list-row', { hasText: 'Status' }).first().waitFor({ timeout: 30_000 });
    const labels = await suggestions.allInnerTexts();
    expect(labels.join(' ')).toMatch(/OrderID/);
    await screenshot(page, 'transforms-completion');
    await page.keyboard.press('Escape');
  });

  it('re-runs the preview as the script changes, with errors per record and their line', async () => {
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(
      [
        "import type { Transform } from 'eddy';",
        '',
        "const t: Transform<'sqlserver:shop.dbo.Orders'> = (event) => {",
        "  if ((event.after?.Quantity ?? 0) > 2) throw new Error('too many items');",
        '  return { value: { status: event.after?.Status, doubled: (event.after?.Amount ?? 0) * 2 } };',
        '};',
        'export default t;',
        '',
      ].join('\n'),
    );
    await page.locator('[data-field="doubled"]').first().waitFor({ timeout: 30_000 });
    await page.locator('.field-added[data-field="status"]').first().waitFor();
    await page.getByTestId('preview-stats').getByText(/· [1-9]\d* errors/).waitFor({ timeout: 30_000 });
    const failed = page.locator('[data-testid="preview-record"][data-status="error"]').first();
    expect(await failed.innerText()).toMatch(/too many items[\s\S]*line 4/);
    await screenshot(page, 'transforms-edited');
  });

  it('runs the demo test in the tests panel', async () => {
    await page.locator('[data-activity="tests"]').click();
    await page.getByTestId('tests-panel').waitFor();
    await page.getByRole('button', { name: 'Run all' }).click();
    await page.getByTestId('tests-summary').getByText(/1 passed/).waitFor({ timeout: 30_000 });
    await screenshot(page, 'tests-panel');
    // The browser's own favicon request is the only 404 (the app has no icon in web mode).
    expect(problems.filter((text) => !/WebSocket|ERR_CONNECTION|status of 404/.test(text))).toEqual([]);
  });
});
