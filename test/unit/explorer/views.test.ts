// Row addressing over a real, multi-segment event log: every row of a view is reachable by index,
// filtered views count what a scan would, live appends move the view without a rescan, and an
// event is located by its position.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../shared/events.js';
import type { ExplorerFilter } from '../../../shared/contracts/explorer.js';
import { compileFilter } from '../../../main/engine/explorer/filter.js';
import { cleanUp, fill, handlersFor, shopEvent, smallLog, waitFor } from './helpers.js';

afterEach(cleanUp);

const STREAM = 'sqlserver:shop.dbo.Customers';

async function everything(log: Awaited<ReturnType<typeof smallLog>>, stream = STREAM): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for await (const batch of log.replay({ streams: [stream] })) all.push(...batch);
  return all;
}

describe('explorer views', () => {
  it('reaches every row of a stream spread over many segments, oldest first', async () => {
    const log = await smallLog();
    await fill(log, 6000);
    const { handlers, close } = handlersFor(log);
    const truth = await everything(log);
    const view = await handlers.openView({ stream: STREAM });
    expect(view.count).toBe(6000);
    expect(view.streamCount).toBe(6000);
    for (const from of [0, 1, 63, 999, 2500, 4321, 5900, 5999]) {
      const page = await handlers.readRows({ stream: STREAM, from, limit: 100 });
      expect(page.count).toBe(6000);
      expect(page.events.map((event) => event.position)).toEqual(truth.slice(from, from + 100).map((event) => event.position));
    }
    expect((await handlers.readRows({ stream: STREAM, from: 6000, limit: 10 })).events).toEqual([]);
    await close();
  });

  it('counts and pages filtered views exactly like a scan with the same rules', async () => {
    const log = await smallLog();
    await fill(log, 4000);
    const { handlers, close } = handlersFor(log);
    const truth = await everything(log);
    const filters: ExplorerFilter[] = [
      { fields: [{ path: 'after.City', op: 'eq', value: 'Lyon' }] },
      { text: 'customer 12' },
      { ops: ['d'] },
      { fields: [{ path: 'after.Vip', op: 'eq', value: true }] },
      { fields: [{ path: 'after.Amount', op: 'gt', value: 5000 }] },
      { fields: [{ path: 'after', op: 'eq', value: null }] },
      { fields: [{ path: 'key.Id', op: 'lt', value: 10 }] },
      { fields: [{ path: 'after.Tags[1]', op: 'eq', value: 't2' }], eventTime: { from: shopEvent(1000).eventTime, to: shopEvent(3000).eventTime } },
      { text: 'TRACE' },
      { fields: [{ path: 'after.Tags', op: 'contains', value: '"t1"' }] },
      { fields: [{ path: 'before.City', op: 'missing' }] },
    ];
    for (const filter of filters) {
      const match = compileFilter(filter)!;
      const expected = truth.filter(match);
      const view = await handlers.openView({ stream: STREAM, filter });
      expect({ filter, count: view.count }).toEqual({ filter, count: expected.length });
      const from = Math.max(0, Math.floor(expected.length / 2) - 5);
      const page = await handlers.readRows({ stream: STREAM, filter, from, limit: 50 });
      expect(page.events.map((event) => event.seq)).toEqual(expected.slice(from, from + 50).map((event) => event.seq));
    }
    await close();
  });

  it('follows live appends without rescanning, and keeps paging correct at the new end', async () => {
    const log = await smallLog();
    await fill(log, 1500);
    const { handlers, close } = handlersFor(log);
    const lyon: ExplorerFilter = { fields: [{ path: 'after.City', op: 'eq', value: 'Lyon' }] };
    const before = await handlers.openView({ stream: STREAM, filter: lyon });
    await handlers.openView({ stream: STREAM });
    await fill(log, 1000, STREAM, 1500);
    await waitFor(async () => (await handlers.openView({ stream: STREAM })).count === 2500);
    const after = await handlers.openView({ stream: STREAM, filter: lyon });
    const truth = await everything(log);
    expect(after.count).toBe(truth.filter(compileFilter(lyon)!).length);
    expect(after.count).toBeGreaterThan(before.count);
    const last = await handlers.readRows({ stream: STREAM, from: 2490, limit: 20 });
    expect(last.events.map((event) => event.position)).toEqual(truth.slice(2490).map((event) => event.position));
    await close();
  });

  it('rebuilds a view when the stream shrinks (deleted stream)', async () => {
    const log = await smallLog();
    await fill(log, 500);
    const { handlers, close } = handlersFor(log);
    expect((await handlers.openView({ stream: STREAM })).count).toBe(500);
    await log.deleteStream(STREAM);
    expect((await handlers.openView({ stream: STREAM })).count).toBe(0);
    await close();
  });

  it('locates an event by position in plain and filtered views', async () => {
    const log = await smallLog();
    await fill(log, 3000);
    const { handlers, close } = handlersFor(log);
    const truth = await everything(log);
    const target = truth[2222]!;
    const plain = await handlers.locateEvent({ stream: STREAM, position: target.position });
    expect(plain).toMatchObject({ seq: target.seq, index: 2222, position: target.position });
    const sameCity: ExplorerFilter = { fields: [{ path: 'after.City', op: 'eq', value: (target.value as { after: { City: string } }).after.City }] };
    const filtered = await handlers.locateEvent({ stream: STREAM, filter: sameCity, position: target.position });
    expect(filtered.index).toBe(truth.filter(compileFilter(sameCity)!).findIndex((event) => event.seq === target.seq));
    const hidden = await handlers.locateEvent({ stream: STREAM, filter: { text: 'no such text anywhere' }, position: target.position });
    expect(hidden.index).toBeNull();
    await expect(handlers.locateEvent({ stream: STREAM, position: 'nowhere' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await close();
  });
});

describe('explorer views with sparse anchors', () => {
  it('pages through anchors K rows apart, plain and filtered, including rows added live', async () => {
    const { ViewManager } = await import('../../../main/engine/explorer/view-index.js');
    const log = await smallLog();
    await fill(log, 3000);
    const views = new ViewManager(log, 100);
    const truth = await everything(log);
    const plain = await views.get(STREAM, undefined);
    expect(plain.step).toBe(30);
    expect(plain.anchorRows.length).toBeLessThanOrEqual(100 + 20);
    for (const from of [0, 29, 30, 31, 1234, 2999]) {
      expect((await plain.read(from, 45)).map((event) => event.seq)).toEqual(truth.slice(from, from + 45).map((event) => event.seq));
    }
    const filter: ExplorerFilter = { ops: ['u'] };
    const updates = truth.filter(compileFilter(filter)!);
    const filtered = await views.get(STREAM, filter);
    expect(filtered.count).toBe(updates.length);
    expect(filtered.step).toBe(Math.ceil(updates.length / 100));
    for (const from of [0, 7, 700, updates.length - 3]) {
      expect((await filtered.read(from, 40)).map((event) => event.seq)).toEqual(updates.slice(from, from + 40).map((event) => event.seq));
    }
    await fill(log, 500, STREAM, 3000);
    await waitFor(() => plain.count === 3500);
    const grown = await everything(log);
    expect((await plain.read(3400, 200)).map((event) => event.seq)).toEqual(grown.slice(3400).map((event) => event.seq));
    const located = await filtered.locate(grown.filter(compileFilter(filter)!)[900]!.seq);
    expect(located.index).toBe(900);
    views.close();
  });
});

describe('explorer views that grow live', () => {
  it('keep their anchors bounded and every row reachable', async () => {
    const { ViewManager } = await import('../../../main/engine/explorer/view-index.js');
    const log = await smallLog();
    await fill(log, 10);
    const views = new ViewManager(log, 50);
    const plain = await views.get(STREAM, undefined);
    const sparse = await views.get(STREAM, { ops: ['d'] });
    expect(plain.step).toBe(1);
    await fill(log, 1990, STREAM, 10);
    await waitFor(() => plain.count === 2000);
    expect(plain.anchorRows.length).toBeLessThanOrEqual(100);
    expect(plain.step).toBeGreaterThan(1);
    const truth = await everything(log);
    for (const from of [0, 17, 999, 1950]) {
      expect((await plain.read(from, 50)).map((event) => event.seq)).toEqual(truth.slice(from, from + 50).map((event) => event.seq));
    }
    const deletes = truth.filter(compileFilter({ ops: ['d'] })!);
    expect(sparse.count).toBe(deletes.length);
    expect((await sparse.read(100, 30)).map((event) => event.seq)).toEqual(deletes.slice(100, 130).map((event) => event.seq));
    views.close();
  });
});

describe('explorer views under load', () => {
  it('never rescan while events pour in and requests overlap', async () => {
    const { ViewManager } = await import('../../../main/engine/explorer/view-index.js');
    const log = await smallLog();
    await fill(log, 100);
    let scans = 0;
    const counting = new Proxy(log, {
      get(target, property, receiver) {
        if (property === 'query') return (...args: Parameters<typeof log.query>) => (scans++, target.query(...args));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const views = new ViewManager(counting);
    const first = await views.get(STREAM, undefined);
    expect(scans).toBe(1);
    let appending = true;
    const writer = (async () => {
      await fill(log, 3000, STREAM, 100);
      appending = false;
    })();
    while (appending) {
      const results = await Promise.all([views.get(STREAM, undefined), views.get(STREAM, undefined), views.get(STREAM, undefined)]);
      for (const view of results) expect(view).toBe(first);
      await first.read(Math.max(0, first.count - 100), 100);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await writer;
    await waitFor(async () => (await views.get(STREAM, undefined)).count === 3100);
    expect(scans).toBe(1);
    views.close();
  });
});
