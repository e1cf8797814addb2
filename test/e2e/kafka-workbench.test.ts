// The Kafka view in a real browser over web mode, against the real broker: connect with quick
// brokers, browse a topic's partitions and configs, capture from an offset into the event log and
// see it in the Explorer, read a group's lag and its chart, produce with JSON validation, and
// replay the captured stream to another topic.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, requireChromium, screenshot } from '../support/browser.js';
import { findKafka } from '../support/services.js';
import { startWebApp, type WebApp } from '../support/web-app.js';
import { consumeAll, createTopic, deleteTopics, produceAll, testKafka, uniqueTopic } from '../integration/kafka-helpers.js';

const brokers = await findKafka();
const enabled = Boolean(brokers) && requireChromium();

describe.runIf(enabled)('kafka view in the browser', () => {
  const kafka = testKafka(brokers ?? []);
  const topic = uniqueTopic('ui');
  const target = uniqueTopic('ui-replay');
  const groupId = `eddy-test-ui-group-${topic}`;
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-e2e-'));
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await createTopic(kafka, topic, 3, [{ name: 'retention.ms', value: '604800000' }]);
    await createTopic(kafka, target, 3);
    await produceAll(
      kafka,
      topic,
      Array.from({ length: 900 }, (_, index) => ({
        partition: index % 3,
        key: `customer-${index % 50}`,
        value: index % 10 === 9 ? `plain text ${index}` : JSON.stringify({ orderId: index, total: (index % 97) + 0.5, status: index % 2 ? 'paid' : 'new' }),
        headers: { source: 'e2e' },
      })),
    );
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [0, 1, 2].map((partition) => ({ partition, offset: String(100 * (partition + 1)) })) });
    await admin.disconnect();
    app = await startWebApp({ workspace });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(workspace, { recursive: true, force: true });
    await deleteTopics(kafka, [topic, target, `${topic}-new`]);
  });

  it('connects with quick brokers and shows a topic with its partitions and configs', async () => {
    await page.goto(app.url);
    await page.getByText('Engine ready').waitFor();
    await page.getByRole('button', { name: 'Kafka', exact: true }).click();
    const brokersInput = page.getByLabel('Bootstrap brokers');
    await brokersInput.fill((brokers ?? []).join(','));
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const row = page.locator(`[data-topic="${topic}"]`);
    await row.waitFor();
    // Partitions, replication factor (one broker here), messages.
    expect(await row.innerText()).toMatch(/3\s+1\s+900/);
    await row.click();
    const detail = page.getByTestId('kafka-topic-detail');
    await detail.waitFor();
    await expect(detail.locator('tbody tr').count()).resolves.toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('kafka-configs').innerText()).toContain('retention.ms');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.locator('.kafka-test').waitFor();
    await screenshot(page, 'kafka-topics');
  });

  it('reads a topic\'s messages without capturing them: the newest first, then forward from an offset of one partition', async () => {
    const detail = page.getByTestId('kafka-topic-detail');
    await detail.getByRole('tab', { name: 'Messages' }).click();
    const summary = page.getByTestId('kafka-messages-summary');
    await summary.filter({ hasText: /^50 message\(s\), newest first/ }).waitFor();
    const rows = page.locator('.kafka-message-table tbody tr');
    expect(await rows.count()).toBe(50);
    // Searching what was read: plain-text records only (every tenth), then nothing.
    await page.getByLabel('Search the messages read').fill('PLAIN TEXT');
    await summary.filter({ hasText: /^5 of 50 message\(s\) contain "PLAIN TEXT"/ }).waitFor();
    expect(await rows.count()).toBe(5);
    await page.getByLabel('Search the messages read').fill('');
    await expect.poll(() => rows.count()).toBe(50);
    // Every tenth record is plain text (stored with a note); the rest are JSON orders.
    await page.getByLabel('Messages partition').selectOption('1');
    await page.getByLabel('Messages from').selectOption('offset');
    await page.getByLabel('Messages offset').fill('9');
    await page.getByLabel('Messages limit').selectOption('20');
    await page.getByRole('button', { name: 'Read', exact: true }).click();
    await summary.filter({ hasText: /^20 message\(s\) ·/ }).waitFor();
    const first = page.locator('.kafka-message-table tbody tr').first();
    expect(await first.getAttribute('data-message')).toBe('1/9');
    await first.click();
    const opened = page.getByTestId('kafka-message-detail');
    await opened.waitFor();
    expect(await opened.innerText()).toContain('Partition 1, offset 9');
    expect(await opened.innerText()).toMatch(/key customer-\d+/);
    await screenshot(page, 'kafka-messages');
    await detail.getByRole('tab', { name: 'Partitions & configs' }).click();
  });

  it('creates a topic with partitions, cleanup policy and retention, and shows it', async () => {
    await page.getByRole('button', { name: 'New topic' }).click();
    const form = page.getByRole('form', { name: 'New topic' });
    await form.getByLabel('Topic name').fill('bad name!');
    await form.getByText(/Letters, digits/).waitFor();
    expect(await form.getByRole('button', { name: 'Create topic' }).isDisabled()).toBe(true);
    // One broker here: a replication factor above it is refused before asking the cluster.
    await form.getByLabel('Topic name').fill(`${topic}-new`);
    await form.getByLabel('Replication factor').fill('2');
    await form.getByText(/between 1 and 1/).waitFor();
    await form.getByLabel('Replication factor').fill('1');
    await form.getByLabel('Partitions').fill('2');
    await form.getByLabel('Cleanup policy').selectOption('compact,delete');
    await form.getByLabel('Retention hours').fill('12');
    await screenshot(page, 'kafka-new-topic');
    await form.getByRole('button', { name: 'Create topic' }).click();
    const detail = page.getByTestId('kafka-topic-detail');
    await detail.getByRole('heading', { name: `${topic}-new` }).waitFor();
    await expect(detail.locator('tbody tr').count()).resolves.toBeGreaterThanOrEqual(2);
    const configs = await page.getByTestId('kafka-configs').innerText();
    expect(configs).toMatch(/retention\.ms\s+43200000/);
    expect(configs).toMatch(/cleanup\.policy\s+compact,delete/);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [described] = (await admin.fetchTopicMetadata({ topics: [`${topic}-new`] })).topics;
      expect(described?.partitions).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
    // Creating it again says so.
    await page.getByRole('button', { name: 'New topic' }).click();
    await form.getByLabel('Topic name').fill(`${topic}-new`);
    await form.getByRole('button', { name: 'Create topic' }).click();
    await form.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();
    await page.locator(`[data-topic="${topic}"]`).click();
  });

  it('changes the new topic: edits, sets and resets configs, adds partitions, then deletes it after its name is typed', async () => {
    const name = `${topic}-new`;
    await page.locator(`[data-topic="${name}"]`).click();
    const detail = page.getByTestId('kafka-topic-detail');
    await detail.getByRole('heading', { name }).waitFor();
    const configs = page.getByTestId('kafka-configs');
    await configs.getByRole('button', { name: 'Edit retention.ms' }).click();
    await configs.getByLabel('Value of retention.ms').fill('7200000');
    await configs.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => configs.innerText()).toMatch(/retention\.ms\s+7200000 \(2 h\)/);
    await configs.getByRole('button', { name: 'Reset cleanup.policy' }).click();
    await expect.poll(() => configs.innerText()).not.toMatch(/cleanup\.policy/);
    await detail.getByRole('button', { name: 'Set a config…' }).click();
    const add = page.getByRole('form', { name: 'Set a config' });
    await add.getByLabel('Config name').fill('max.message.bytes');
    await add.getByLabel('Config value').fill('2000000');
    await add.getByRole('button', { name: 'Set', exact: true }).click();
    await expect.poll(() => configs.innerText()).toMatch(/max\.message\.bytes\s+2000000/);
    // The broker holds what the view shows, the untouched override included.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({ resources: [{ type: 2, name }], includeSynonyms: false });
      const overrides = Object.fromEntries(described.resources[0]!.configEntries.filter((entry) => entry.configSource === 1).map((entry) => [entry.configName, entry.configValue]));
      expect(overrides).toEqual({ 'retention.ms': '7200000', 'max.message.bytes': '2000000' });
    } finally {
      await admin.disconnect();
    }
    // A bad value is refused by the broker and said so.
    await configs.getByRole('button', { name: 'Edit retention.ms' }).click();
    await configs.getByLabel('Value of retention.ms').fill('soon');
    await configs.getByRole('button', { name: 'Save' }).click();
    await detail.getByRole('alert').filter({ hasText: /retention\.ms/ }).waitFor();
    await configs.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => detail.getByRole('alert').count()).toBe(0);

    await detail.getByRole('button', { name: 'Add partitions…' }).click();
    const partitions = page.getByRole('form', { name: 'Add partitions' });
    expect(await partitions.getByLabel('New partition count').inputValue()).toBe('3');
    await screenshot(page, 'kafka-add-partitions');
    await partitions.getByRole('button', { name: 'Add partitions' }).click();
    await expect.poll(() => detail.locator('input[aria-label^="Partition "]').count()).toBe(3);

    await detail.getByRole('button', { name: 'Delete topic…' }).click();
    const confirm = page.getByRole('form', { name: 'Delete topic' });
    const remove = confirm.getByRole('button', { name: 'Delete topic', exact: true });
    await confirm.getByLabel('Topic name to confirm').fill(name.slice(0, -1));
    expect(await remove.isDisabled()).toBe(true);
    await screenshot(page, 'kafka-delete-topic');
    await confirm.getByLabel('Topic name to confirm').fill(name);
    await remove.click();
    await page.locator(`[data-topic="${name}"]`).waitFor({ state: 'detached' });
    await page.getByText('Pick a topic to see its partitions and configs.').waitFor();
    const check = kafka.admin();
    await check.connect();
    try {
      expect(await check.listTopics()).not.toContain(name);
    } finally {
      await check.disconnect();
    }
    await page.locator(`[data-topic="${topic}"]`).click();
  });

  it('captures from an offset into the event log, with progress, and the stream shows in the Explorer', async () => {
    await page.getByRole('button', { name: /^Capture/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Offset').check();
    await dialog.getByLabel('Start offset').fill('100');
    await dialog.getByLabel('Max messages').fill('');
    await screenshot(page, 'kafka-capture-dialog');
    await dialog.getByRole('button', { name: 'Start capture' }).click();
    await dialog.waitFor({ state: 'detached' });
    const job = page.locator('.kafka-job[data-state="succeeded"]', { hasText: `Capture ${topic}` });
    await job.waitFor({ timeout: 60_000 });
    expect(await job.innerText()).toMatch(/Captured 600 events/);
    expect(await job.locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe('600');
    await screenshot(page, 'kafka-capture-done');
    // The finished job links to its stream: the Explorer opens on the captured events.
    await job.getByRole('button', { name: `Open kafka:${topic} in the Explorer` }).click();
    await page.locator(`[data-stream="kafka:${topic}"].selected`).waitFor();
    await page.getByTestId('view-count').filter({ hasText: /^600 events$/ }).waitFor();
    await page.getByRole('button', { name: 'Kafka', exact: true }).click();
  });

  it('shows a consumer group with lag per partition and a lag chart', async () => {
    await page.getByRole('tab', { name: 'Consumer groups' }).click();
    const row = page.locator(`[data-group="${groupId}"]`);
    await row.waitFor();
    expect(await row.innerText()).toMatch(/Empty\s+0\s+300/);
    await row.click();
    const table = page.getByTestId('kafka-lag-table');
    await table.waitFor();
    expect(await table.locator(`[data-partition="${topic}/2"]`).innerText()).toMatch(/300\s+300\s+0/);
    expect(await table.locator(`[data-partition="${topic}/0"]`).innerText()).toMatch(/100\s+300\s+200/);
    const chart = page.getByTestId('kafka-lag-chart');
    // The engine samples every 5 s: wait for the second point (polled from here; the page's CSP forbids eval).
    for (let waited = 0; waited < 20_000 && Number(await chart.getAttribute('data-points')) < 2; waited += 250) await page.waitForTimeout(250);
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'kafka-group-lag');
  });

  it('resets the empty group\'s offsets to the latest, then deletes the group', async () => {
    const detail = page.getByTestId('kafka-group-detail');
    await detail.getByRole('button', { name: 'Reset offsets…' }).click();
    const form = page.getByRole('form', { name: 'Reset offsets' });
    await form.getByLabel('Reset to', { exact: true }).selectOption('latest');
    await screenshot(page, 'kafka-group-reset');
    await form.getByRole('button', { name: 'Reset offsets' }).click();
    await page.getByTestId('kafka-group-action').filter({ hasText: `Offsets of ${topic} reset: 0: 100 → 300, 1: 200 → 300, 2: 300 → 300.` }).waitFor();
    const table = page.getByTestId('kafka-lag-table');
    await expect.poll(() => table.locator(`[data-partition="${topic}/0"]`).innerText(), { timeout: 15_000 }).toMatch(/300\s+300\s+0/);
    page.once('dialog', (dialog) => void dialog.accept());
    await detail.getByRole('button', { name: 'Delete group…' }).click();
    await page.locator(`[data-group="${groupId}"]`).waitFor({ state: 'detached' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.map((group) => group.groupId)).not.toContain(groupId);
    } finally {
      await admin.disconnect();
    }
  });

  it('validates JSON before producing, then sends; replays the captured stream to another topic', async () => {
    await page.getByRole('tab', { name: 'Produce & replay' }).click();
    const form = page.getByRole('form', { name: 'Produce a message' });
    await form.getByLabel('Topic', { exact: true }).fill(target);
    await form.getByLabel('Key', { exact: true }).fill('manual-1');
    await form.getByLabel('Value', { exact: true }).fill('{"total": 12.5,}');
    await page.getByTestId('kafka-json-problem').waitFor();
    expect(await page.getByTestId('kafka-json-problem').innerText()).toMatch(/Line 1, column/);
    expect(await form.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await form.getByLabel('Value', { exact: true }).fill('{"total": 12.5}');
    // A topic the cluster does not have is named, and nothing is sent until "create it" is ticked.
    await form.getByLabel('Topic', { exact: true }).fill(`${target}-typo`);
    await expect(form.getByTestId('kafka-new-topic').innerText()).resolves.toContain(`No topic “${target}-typo” on this cluster`);
    expect(await form.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await form.getByLabel('Topic', { exact: true }).fill(target);
    expect(await form.getByTestId('kafka-new-topic').count()).toBe(0);
    await form.getByRole('button', { name: 'Send' }).click();
    await form.getByText(/Sent to .* at offset \d+/).waitFor();

    const replay = page.getByRole('form', { name: 'Replay a stream' });
    await replay.getByLabel('Stream').selectOption(`kafka:${topic}`);
    await replay.getByLabel('Replay topic').fill(target);
    await replay.getByLabel('keep partitions').check();
    await replay.getByRole('button', { name: 'Replay' }).click();
    const job = page.locator('.kafka-job[data-state="succeeded"]', { hasText: `Replay kafka:${topic}` });
    await job.waitFor({ timeout: 60_000 });
    expect(await job.innerText()).toMatch(/Replayed 600 event/);
    await screenshot(page, 'kafka-produce-replay');
    const read = await consumeAll(kafka, target, { expected: 601 });
    expect(read).toHaveLength(601);
    expect(read.filter((message) => message.value?.toString().startsWith('plain text'))).toHaveLength(60);
    expect(errors).toEqual([]);
  });
});
