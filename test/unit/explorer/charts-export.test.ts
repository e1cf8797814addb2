// Chart aggregates merged across segments, field discovery, export (CSV formula guard, JSON Lines
// that import again) and JSONL import as a cancellable job.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StoredEvent } from '../../../shared/events.js';
import { csvCell, csvLayout, normaliseRanges } from '../../../main/engine/explorer/export.js';
import { niceBucket } from '../../../main/engine/explorer/charts.js';
import { cleanUp, fill, handlersFor, shopEvent, smallLog, T0, tempDir } from './helpers.js';

afterEach(cleanUp);

const STREAM = 'sqlserver:shop.dbo.Customers';

describe('chart aggregates', () => {
  it('counts events per time bucket across segments, zero-filled', async () => {
    const log = await smallLog();
    await fill(log, 3000);
    const { handlers, close } = handlersFor(log);
    const rate = await handlers.eventRate({ streams: [STREAM], time: 'event', bucketMs: 60_000 });
    expect(rate.bucketMs).toBe(60_000);
    const series = rate.series[0]!;
    expect(series.stream).toBe(STREAM);
    expect(series.total).toBe(3000);
    expect(series.points.reduce((sum, [, n]) => sum + n, 0)).toBe(3000);
    // One event a second: 60 per full minute bucket.
    expect(series.points.slice(1, -1).every(([, n]) => n === 60)).toBe(true);
    const all = await handlers.eventRate({ time: 'ingest' });
    expect(all.series.map((item) => item.stream).sort()).toEqual(['kafka:noise', STREAM]);
    await expect(handlers.eventRate({ time: 'event', bucketMs: 1 })).rejects.toMatchObject({ code: 'LIMIT' });
    await close();
  });

  it('measures ingest-time skew per bucket and field distributions', async () => {
    const log = await smallLog();
    await fill(log, 2000);
    const { handlers, close } = handlersFor(log);
    const skew = await handlers.timeSkew({ stream: STREAM, bucketMs: 100_000 });
    expect(skew.points.length).toBe(20);
    for (const [, min, avg, max, n] of skew.points) {
      expect(min).toBe(0);
      expect(max).toBe(400);
      expect(avg).toBe(200);
      expect(n).toBe(100);
    }
    const cities = await handlers.fieldDistribution({ stream: STREAM, path: 'after.City', limit: 3, bins: 10 });
    expect(cities.kind).toBe('categorical');
    expect(cities.total).toBe(2000);
    expect(cities.missing).toBe(500); // deletes: `after` is null, so the path is absent
    expect(cities.values.length).toBe(3);
    expect(cities.values[0]!.count + cities.values[1]!.count + cities.values[2]!.count + cities.other).toBe(1500);
    const amounts = await handlers.fieldDistribution({ stream: STREAM, path: 'after.Amount', limit: 5, bins: 10 });
    expect(amounts.kind).toBe('numeric');
    expect(amounts.bins.length).toBe(10);
    expect(amounts.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(1500);
    const vip = await handlers.fieldDistribution({ stream: STREAM, path: 'after.Vip', limit: 5, bins: 10 });
    expect(vip.values.map((item) => item.value).sort()).toEqual([false, true]);
    const nothing = await handlers.fieldDistribution({ stream: STREAM, path: 'after.NoSuchField', limit: 5, bins: 10 });
    expect(nothing.kind).toBe('empty');
    await close();
  });

  it('picks round buckets', () => {
    expect(niceBucket(1000 * 2000)).toBe(1000);
    expect(niceBucket(3600_000)).toBe(2000);
    expect(niceBucket(0)).toBe(1);
  });

  it('lists the fields of a stream for completion', async () => {
    const log = await smallLog();
    await fill(log, 50);
    const { handlers, close } = handlersFor(log);
    const { fields, sampled } = await handlers.describeFields({ stream: STREAM, sample: 20 });
    expect(sampled).toBe(20);
    const paths = fields.map((field) => field.path);
    expect(paths).toEqual(expect.arrayContaining(['after.City', 'after.Tags[0]', 'before.City', 'op', 'key.Id']));
    expect(fields.find((field) => field.path === 'after')!.types).toEqual(['null', 'object']);
    await close();
  });
});

describe('export', () => {
  it('guards CSV cells against formula injection and quotes what needs quoting', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell('\rcmd')).toBe(`"'\rcmd"`);
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    const layout = csvLayout(['after.City', 'key.Id']);
    expect(layout.header).toBe('seq,stream,position,op,event_time,ingest_time,key,value,headers,after.City,key.Id');
    const event = { ...shopEvent(3), seq: 9, size: 1, value: { after: { City: '=cmd|calc' } } } as StoredEvent;
    expect(layout.row(event)).toContain(",'=cmd|calc,3");
  });

  it('merges overlapping selections', () => {
    expect(normaliseRanges([{ from: 5, to: 10 }, { from: 0, to: 3 }, { from: 8, to: 20 }], 15)).toEqual([
      { from: 0, to: 3 },
      { from: 5, to: 15 },
    ]);
    expect(normaliseRanges(undefined, 4)).toEqual([{ from: 0, to: 4 }]);
  });

  it('downloads a selection and writes a whole view to the workspace; JSON Lines import again', async () => {
    const log = await smallLog();
    await fill(log, 1200);
    const { handlers, jobs, root, close } = handlersFor(log);
    const csv = await handlers.exportEvents({ stream: STREAM, format: 'csv', ranges: [{ from: 10, to: 20 }], columns: ['after.City'], target: 'download' });
    expect(csv.count).toBe(10);
    expect(csv.content!.trim().split('\n')).toHaveLength(11);
    const jsonl = await handlers.exportEvents({ stream: STREAM, format: 'jsonl', filter: { ops: ['d'] }, columns: [], target: 'download' });
    expect(jsonl.count).toBe(300);
    const lines = jsonl.content!.trim().split('\n').map((line) => JSON.parse(line) as { op: string; stream: string; seq?: number });
    expect(lines.every((line) => line.op === 'd' && line.stream === STREAM && line.seq === undefined)).toBe(true);

    const started = await handlers.exportEvents({ stream: STREAM, format: 'jsonl', columns: [], target: 'workspace' });
    const finished = await jobs.wait(started.jobId!);
    expect(finished.state).toBe('succeeded');
    expect(path.dirname(started.path!)).toBe(path.join(root, 'exports'));
    const written = readFileSync(started.path!, 'utf8').trim().split('\n');
    expect(written).toHaveLength(1200);

    // The export imports into a fresh log as the same events.
    const other = await smallLog();
    const second = handlersFor(other, root);
    const { jobId } = await second.handlers.importFile({ path: path.relative(root, started.path!) });
    const imported = await second.jobs.wait(jobId);
    expect(imported.state).toBe('succeeded');
    expect(imported.message).toMatch(/Imported 1,200 events/);
    expect((await second.handlers.openView({ stream: STREAM })).count).toBe(1200);
    // Importing the same file again stores nothing new: positions are identities.
    const again = await second.jobs.wait((await second.handlers.importFile({ path: started.path! })).jobId);
    expect(again.message).toMatch(/Imported 0 events .*1,200 were already in the log/);
    await close();
    await second.close();
  });

  it('imports plain JSON lines into a chosen stream, skipping bad lines, and can be cancelled', async () => {
    const log = await smallLog();
    const { handlers, jobs, root, close } = handlersFor(log);
    const file = path.join(root, 'calls.jsonl');
    writeFileSync(file, ['{"caller":"a"}', 'not json', '', '{"caller":"b"}', JSON.stringify({ ...shopEvent(1), ingestTime: undefined })].join('\n'));
    // Without a stream, only the line that is an Eddy event can be imported.
    const strict = await jobs.wait((await handlers.importFile({ path: 'calls.jsonl' })).jobId);
    expect(strict.message).toMatch(/Imported 1 events .*3 lines skipped \(first: line 1: not an Eddy event/);
    const plain = await jobs.wait((await handlers.importFile({ path: 'calls.jsonl', stream: 'file:calls' })).jobId);
    expect(plain.state).toBe('succeeded');
    expect(plain.message).toMatch(/Imported 2 events from calls.jsonl \(1 were already in the log\)\. 1 lines skipped/);
    const rows = await handlers.readRows({ stream: 'file:calls', from: 0, limit: 10 });
    expect(rows.events.map((event) => [event.position, event.value])).toEqual([
      ['file:calls.jsonl:1', { caller: 'a' }],
      ['file:calls.jsonl:4', { caller: 'b' }],
    ]);
    await expect(handlers.importFile({ path: 'missing.jsonl' })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const big = path.join(tempDir(), 'big.jsonl');
    writeFileSync(big, Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ ...shopEvent(i, 'big'), eventTime: T0 + i })).join('\n'));
    const { jobId } = await handlers.importFile({ path: big });
    await new Promise((resolve) => setTimeout(resolve, 30));
    jobs.cancel(jobId);
    const cancelled = await jobs.wait(jobId);
    expect(cancelled.state).toBe('cancelled');
    const stored = (await log.streams()).find((stats) => stats.stream === 'big')?.count ?? 0;
    expect(stored).toBeLessThan(60_000);
    await close();
  });
});
