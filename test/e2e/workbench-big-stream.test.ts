// A million events in the real UI. First they stream in at full rate (a JSON Lines import, the
// fastest way into the log) while the explorer shows the stream live, and the Long Tasks API
// watches the renderer: no task may take over 50 ms, and the view updates at most 10 times a
// second. Then the grid reaches the very last of the 1,000,000 rows, by keyboard and by dragging
// the scrollbar to the end, with no more than a screenful of rows in the DOM.
//
// A long task is measured in wall-clock time, so on a machine running more than it has cores for,
// a 10 ms task the OS preempts reads as 100 ms. A Chromium trace gives each task's CPU time on the
// renderer's main thread as well: the renderer's own work must stay under 50 ms per task always,
// and the Long Tasks API must report nothing whenever the machine is not oversubscribed or a
// task was not preempted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { startWebApp, type WebApp } from '../support/web-app.js';

const enabled = requireChromium();
const EVENTS = 1_000_000;
const STREAM = 'web:clicks';
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
let workspace: string;
let app: WebApp;
let browser: Browser;
let page: Page;

/** Writes the sample as JSON Lines, about 150 bytes an event, without holding it in memory. */
async function writeSample(file: string): Promise<void> {
  const out = createWriteStream(file);
  const pages = ['/', '/cart', '/checkout', '/search', '/product'];
  for (let start = 0; start < EVENTS; start += 10_000) {
    let chunk = '';
    for (let i = start; i < start + 10_000; i++) {
      chunk += `{"stream":"${STREAM}","position":"clicks/0/${i}","key":{"user":${i % 5000}},"value":{"page":"${pages[i % 5]}","ms":${i % 900}},"eventTime":${T0 + i * 5},"ingestTime":${T0 + i * 5 + (i % 40)}}\n`;
    }
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** Runs in the page (a string: the test tsconfig has no DOM library). */
const installLongTaskObserver = `(() => {
  window.eddyLongTasks = [];
  window.eddyCountChanges = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.eddyLongTasks.push({ start: Math.round(entry.startTime), duration: Math.round(entry.duration) });
  }).observe({ type: 'longtask' });
  // Every time the explorer's event count changes on screen: the live view's update rate.
  const watch = () => {
    const target = document.querySelector('[data-testid="view-count"]');
    if (!target) return setTimeout(watch, 50);
    new MutationObserver(() => window.eddyCountChanges.push(performance.now())).observe(target, { childList: true, characterData: true, subtree: true });
  };
  watch();
})()`;

// Browser globals for code that runs in the page (page.evaluate).
declare const document: { querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }> };
declare const window: { eddyLongTasks: { start: number; duration: number }[]; eddyCountChanges: number[] };

describe.runIf(enabled)('a million events in the explorer', () => {
  beforeAll(async () => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-million-'));
    writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'A million clicks', version: 1, samples: [] }));
    await writeSample(path.join(workspace, 'clicks.jsonl'));
    app = await startWebApp({ workspace });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('streams a million events in at full rate without a long task in the renderer', async () => {
    await page.getByText('The event log is empty.').waitFor();
    await page.getByRole('button', { name: 'Import a JSON Lines file', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Import a JSON Lines file' });
    await dialog.getByLabel('File path').fill('clicks.jsonl');
    await dialog.getByRole('button', { name: 'Import' }).click();
    await dialog.locator('progress').waitFor();
    await dialog.getByRole('button', { name: 'Hide' }).click();
    // Open the stream as soon as it appears and watch it fill, live.
    await page.locator(`[data-stream="${STREAM}"]`).click();
    await page.getByTestId('view-count').waitFor();
    // Tracing first: starting it can stall the renderer once, and every long task the observer
    // then reports falls inside the trace, where its CPU time can be read.
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel'] });
    await page.evaluate(installLongTaskObserver);
    const load: number[] = [];
    const started = Date.now();
    await page.getByTestId('status-job').waitFor();
    await screenshot(page, 'big-stream-importing');
    const samples: number[] = [];
    while (Date.now() - started < 540_000) {
      const text = await page.getByTestId('view-count').innerText();
      samples.push(Number(text.replace(/[^\d]/g, '')));
      load.push(os.loadavg()[0]!);
      if (text === '1,000,000 events' && (await page.getByTestId('status-job').count()) === 0) break;
      await page.waitForTimeout(1000);
    }
    const seconds = (Date.now() - started) / 1000;
    const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }[] };
    const threadNames = new Map<string, string>();
    for (const event of trace.traceEvents) if (event.ph === 'M' && event.name === 'thread_name') threadNames.set(`${event.pid}:${event.tid}`, event.args?.name ?? '');
    const tasks = trace.traceEvents.filter((event) => event.name === 'RunTask' && event.ph === 'X' && threadNames.get(`${event.pid}:${event.tid}`) === 'CrRendererMain');
    const cpuLong = tasks.filter((task) => (task.tdur ?? 0) > 50_000).map((task) => ({ wallMs: Math.round(task.dur! / 1000), cpuMs: Math.round(task.tdur! / 1000) }));
    const maxCpu = Math.round(Math.max(0, ...tasks.map((task) => task.tdur ?? 0)) / 1000);
    const oversubscribed = Math.max(...load) > os.cpus().length;
    // A task that spent over 20 ms of its wall time off the CPU was preempted by the OS (the
    // renderer makes no blocking calls): direct evidence of a busy machine at that moment, which
    // the one-minute load average is too slow to show. During the import the engine, its builder
    // thread and the host keep both cores busy; at a0ae7a5 as now, such tasks read 54-77 ms of
    // wall time for 28-45 ms of CPU. Each one excuses one wall-clock long task; the CPU time of
    // every task is held to 50 ms above regardless.
    const preempted = tasks.filter((task) => (task.dur ?? 0) > 50_000 && task.dur! - (task.tdur ?? 0) > 20_000).length;
    const { longTasks, changes } = await page.evaluate(() => ({ longTasks: window.eddyLongTasks, changes: window.eddyCountChanges }));
    // The busiest second of view updates.
    let busiest = 0;
    for (let i = 0, j = 0; i < changes.length; i++) {
      while (changes[i]! - changes[j]! > 1000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const growth = samples.filter((value, index) => index > 0 && value > samples[index - 1]!).length;
    process.stdout.write(
      `[big-stream] imported ${EVENTS} events in ${seconds.toFixed(1)} s while the explorer followed them: ${changes.length} count updates (busiest second: ${busiest}), ` +
        `${growth} growing samples; renderer main-thread tasks: ${tasks.length}, longest CPU time ${maxCpu} ms; ` +
        `Long Tasks API (wall clock): ${longTasks.length ? JSON.stringify(longTasks) : 'none'}, ${preempted} preempted in the trace; load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)} on ${os.cpus().length} cores\n`,
    );
    expect(samples[samples.length - 1]).toBe(EVENTS);
    expect(growth).toBeGreaterThan(2);
    expect(busiest).toBeLessThanOrEqual(10);
    expect(tasks.length).toBeGreaterThan(100);
    expect(cpuLong).toEqual([]);
    if (!oversubscribed) expect(longTasks.filter((task) => task.duration > 50).slice(preempted)).toEqual([]);
  }, 600_000);

  it('reaches the last of a million rows, with only a screenful in the DOM', async () => {
    const grid = page.getByTestId('event-grid');
    await grid.locator('.grid-row:not(.loading)').first().waitFor();
    // Newest first: row 1 is the last event imported, row 1,000,000 the first.
    await expect(grid.locator('.grid-row[data-row="0"] .grid-cell').nth(5).innerText()).resolves.toBe(`clicks/0/${EVENTS - 1}`);
    await grid.locator('.grid-row[data-row="0"]').click();
    await page.keyboard.press('End');
    const last = grid.locator(`.grid-row[data-row="${EVENTS - 1}"]:not(.loading)`);
    await last.waitFor({ timeout: 30_000 });
    expect(await last.locator('.grid-cell').first().innerText()).toBe('1,000,000');
    expect(await last.locator('.grid-cell').nth(5).innerText()).toBe('clicks/0/0');
    await expect(page.locator('.event-detail .detail-title').innerText()).resolves.toBe('clicks/0/0'); // the selected, oldest event
    await screenshot(page, 'big-stream-last-row');
    expect(await grid.locator('.grid-row').count()).toBeLessThan(100);

    // The scrollbar reaches the end too, and the middle is one drag away.
    await grid.evaluate((element) => (element.scrollTop = 0));
    await grid.locator('.grid-row[data-row="0"]:not(.loading)').waitFor();
    await grid.evaluate((element) => (element.scrollTop = element.scrollHeight / 2 - element.clientHeight / 2));
    const middleRow = await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll('[data-testid="event-grid"] .grid-row:not(.loading)')).map((row) => Number(row.getAttribute('data-row')));
      return rows.length > 0 && Math.min(...rows) > 1000 ? Math.min(...rows) : null;
    });
    expect(Math.abs((await middleRow.jsonValue())! - EVENTS / 2)).toBeLessThan(EVENTS / 50);
    await grid.evaluate((element) => (element.scrollTop = element.scrollHeight));
    await grid.locator(`.grid-row[data-row="${EVENTS - 1}"]:not(.loading)`).waitFor({ timeout: 30_000 });
    expect(await grid.locator('.grid-row').count()).toBeLessThan(100);
  }, 180_000);
});
