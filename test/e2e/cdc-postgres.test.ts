// The Change data capture view in a real browser over web mode, against the real PostgreSQL (issue
// 5, "a newcomer can capture a CDC sample from the UI"): type a URL, test it, discover the tables
// (key, replica identity with its warning and the FULL fix, the slot once created), capture one table with its
// initial snapshot, watch the source state go to "caught up", make changes and see them counted,
// stop, and find the events in the Explorer in the Debezium envelope.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { findPostgres } from '../support/services.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const url = await findPostgres();
const enabled = Boolean(url) && requireChromium();

describe.runIf(enabled)('change data capture view in the browser (PostgreSQL)', () => {
  const suffix = randomBytes(4).toString('hex');
  const table = `eddy_e2e_orders_${suffix}`;
  const slot = `eddy_e2e_${suffix}`;
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-cdc-e2e-'));
  const admin = new pg.Client({ connectionString: url });
  let database = '';
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await admin.connect();
    database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await admin.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, status text NOT NULL, total numeric(12,2))`);
    await admin.query(`INSERT INTO public.${table} VALUES (1, 'new', 10.50), (2, 'paid', 99.99), (3, 'new', 0.01)`);
    app = await startWebApp({ workspace });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
  });

  afterEach(async (context) => {
    // What the page showed when a step failed, for the CI log's reader.
    if (context.task.result?.state === 'fail' && page) {
      await screenshot(page, `cdc-postgres-failed-${context.task.name.slice(0, 30).replace(/\W+/g, '-')}`).catch(() => undefined);
      console.log(`[cdc e2e] captures at the failure: ${await page.locator('.cdc-captures').innerText().catch(() => '(none)')}`);
    }
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(workspace, { recursive: true, force: true });
    // The server releases the slot a moment after the engine's connection closes.
    for (let waited = 0; waited < 10_000; waited += 200) {
      const active = await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot]).catch(() => ({ rowCount: 0 }));
      if (!active.rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
    await admin.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
    await admin.query(`DROP TABLE IF EXISTS public.${table}`).catch(() => undefined);
    await admin.end();
  });

  it('tests a typed URL and discovers the table with its key and replica identity', async () => {
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    await page.getByRole('button', { name: 'Change data capture', exact: true }).click();
    // No saved PostgreSQL connection in a new workspace: the form offers the URL field.
    const urlInput = page.getByLabel('PostgreSQL URL');
    await urlInput.fill(url!);
    await page.getByRole('button', { name: 'Test connection' }).click();
    const tested = page.locator('.pg-test');
    await tested.waitFor();
    expect(await tested.getAttribute('class')).toContain('ok');
    await page.getByRole('button', { name: 'Discover tables' }).click();
    const row = page.locator(`[data-table="public.${table}"]`);
    await row.waitFor();
    expect(await row.innerText()).toMatch(/id\s+default/);
    // Updates and deletes would carry no old values: the row warns and offers the fix.
    expect(await row.locator('.pg-warning-mark').getAttribute('aria-label')).toMatch(/old values|REPLICA IDENTITY/i);
    await row.getByRole('button', { name: 'Set FULL' }).click();
    await row.getByText('full', { exact: true }).waitFor();
    expect(await row.locator('.pg-warning-mark').count()).toBe(0);
    const identity = await admin.query<{ relreplident: string }>(`SELECT relreplident FROM pg_class WHERE oid = 'public.${table}'::regclass`);
    expect(identity.rows[0]!.relreplident).toBe('f');
    expect(await page.locator('.pg-server').innerText()).toContain('wal_level = logical');
  });

  it('captures the table with an initial snapshot; the source reaches "caught up" and counts new changes', async () => {
    await page.getByLabel(`capture public.${table}`).check();
    await page.getByLabel('Slot name').fill(slot);
    await page.getByRole('button', { name: 'Capture 1 table' }).click();
    const capture = page.locator('.cdc-capture', { hasText: table });
    await capture.waitFor();
    await page.locator('.cdc-capture[data-state="caught-up"]', { hasText: table }).waitFor({ timeout: 60_000 });
    await capture.getByText(/^3 events/).waitFor({ timeout: 30_000 });
    // The slot and the publication the capture created show in the discovery below.
    await page.locator(`[data-slot="${slot}"]`).waitFor();
    // A second start on the same slot while the first runs is refused in plain words.
    await page.getByRole('button', { name: 'Capture 1 table' }).click();
    expect(await page.locator('.pg-section .cdc-error').innerText()).toMatch(/already running; stop it first/);
    // Discovered again once the capture streams: the slot is in use, so no Drop is offered.
    await page.locator(`[data-slot="${slot}"]`, { hasText: 'yes' }).waitFor();
    expect(await page.locator(`[data-slot="${slot}"]`).innerText()).toMatch(new RegExp(`pgoutput\\s+${database}\\s+yes`));
    expect(await page.locator(`[data-slot="${slot}"]`).getByRole('button', { name: 'Drop' }).count()).toBe(0);

    await admin.query('BEGIN');
    await admin.query(`INSERT INTO public.${table} VALUES (4, 'new', 5.00)`);
    await admin.query(`UPDATE public.${table} SET status = 'paid' WHERE id = 1`);
    await admin.query('COMMIT');
    await admin.query(`DELETE FROM public.${table} WHERE id = 3`);
    await capture.getByText(/^6 events/).waitFor({ timeout: 30_000 });
    expect(await capture.innerText()).toContain(`pg:${database}.public.${table}`);
    await screenshot(page, 'cdc-postgres-capture');

    await capture.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.cdc-capture[data-state="stopped"]', { hasText: table }).waitFor({ timeout: 30_000 });
    // Stopped means the slot is released, with its position after everything stored.
    const slotRow = await admin.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(slotRow.rows).toEqual([{ active: false }]);
    // The form discovers again: the slot is free now, and may be dropped from here.
    await page.locator(`[data-slot="${slot}"]`).getByRole('button', { name: 'Drop' }).waitFor();
  });

  it('resumes a stopped capture from the capture list, from its slot: what changed meanwhile arrives once, without a new snapshot', async () => {
    // The form is gone (another view was opened): the capture list alone can resume it.
    await page.getByRole('button', { name: 'Explorer', exact: true }).click();
    await page.getByRole('button', { name: 'Change data capture', exact: true }).click();
    const capture = page.locator('.cdc-capture', { hasText: table });
    await admin.query(`INSERT INTO public.${table} VALUES (5, 'while stopped', 1.25)`);
    await capture.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.cdc-capture[data-state="caught-up"]', { hasText: table }).waitFor({ timeout: 60_000 });
    await capture.getByText(/^1 event\b(?!s)/).waitFor({ timeout: 30_000 });
    await capture.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.cdc-capture[data-state="stopped"]', { hasText: table }).waitFor({ timeout: 30_000 });
    expect(await capture.getByRole('button', { name: 'Resume' }).count()).toBe(1);
  });

  it('shows the captured changes in the Explorer: snapshot reads, then create, update and delete', async () => {
    await page.getByRole('button', { name: 'Explorer', exact: true }).click();
    const stream = `pg:${database}.public.${table}`;
    await page.locator(`[data-stream="${stream}"]`).click();
    const rows = page.locator('[data-testid="event-grid"] .grid-row:not(.loading)');
    await rows.nth(6).waitFor();
    expect(await rows.count()).toBe(7);
    await expect(page.getByTestId('view-count').innerText()).resolves.toBe('7 events');
    const ops: Record<string, number> = {};
    for (const op of ['r', 'c', 'u', 'd']) ops[op] = await page.locator('[data-testid="event-grid"] .grid-row', { has: page.locator(`.op-${op}`) }).count();
    expect(ops).toEqual({ r: 3, c: 2, u: 1, d: 1 });
    // With REPLICA IDENTITY FULL the update shows what changed: the status; the numeric is exact.
    await page.locator('[data-testid="event-grid"] .grid-row', { has: page.locator('.op-u') }).click();
    const changed = page.locator('table.change tr.changed');
    await changed.first().waitFor();
    expect(await changed.locator('td:first-child').allInnerTexts()).toEqual(['status']);
    expect(await page.locator('table.change').innerText()).toContain('10.50');
    await screenshot(page, 'cdc-postgres-explorer');
    expect(errors).toEqual([]);
  });
});
