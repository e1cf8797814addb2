// The engine's implementation of the explorer part of the contract (shared/contracts/explorer.ts):
// row-addressed views for the virtualized grid, locating events, field discovery, chart
// aggregates, export and JSONL import.
import path from 'node:path';
import { EddyError } from '../../../shared/contract.js';
import type { HandlersFor } from '../../../shared/contract-kit.js';
import type { explorerCommands } from '../../../shared/contracts/explorer.js';
import type { EngineContext } from '../context.js';
import { eventRate, fieldDistribution, timeSkew } from './charts.js';
import { DOWNLOAD_MAX_EVENTS, exportFilename, exportToFile, exportToText, normaliseRanges, rangeTotal, rowsOf } from './export.js';
import { describeFields } from './fields.js';
import { filterKey } from './filter.js';
import { checkImportFile, importJsonl, resolveImportPath } from './import.js';
import { ViewManager } from './view-index.js';

export function createExplorerHandlers(context: Pick<EngineContext, 'log' | 'jobs' | 'workspace' | 'onClose'>): HandlersFor<typeof explorerCommands> {
  const { log, jobs, workspace } = context;
  let views: ViewManager | undefined;
  const viewsOf = (): ViewManager => (views ??= new ViewManager(log));
  context.onClose(() => views?.close());

  return {
    async openView({ stream, filter }) {
      const view = await viewsOf().get(stream, filter);
      return {
        stream,
        count: view.count,
        streamCount: view.streamCount,
        filtered: filterKey(filter) !== '',
        firstSeq: view.anchorSeqs.length > 0 ? view.anchorSeqs.get(0) : null,
        lastSeq: view.count > 0 ? view.coveredSeq : null,
        elapsedMs: view.elapsedMs,
      };
    },

    async readRows({ stream, filter, from, limit }) {
      const view = await viewsOf().get(stream, filter);
      const events = await view.read(from, limit);
      return { from, count: view.count, events };
    },

    async locateEvent({ stream, filter, position, seq }) {
      const found = seq ?? (position !== undefined ? await log.findPosition(stream, position) : null);
      if (found === null) throw new EddyError('NOT_FOUND', `No event at position ${position ?? '?'} in ${stream}. It may have been removed by retention, or belong to another stream.`);
      const view = await viewsOf().get(stream, filter);
      const { index, event } = await view.locate(found);
      if (!event) throw new EddyError('NOT_FOUND', `Event ${found} is not in ${stream}.`);
      return { seq: found, position: event.position, index, count: view.count };
    },

    describeFields: async ({ stream, sample }) => describeFields(log, stream, sample),

    eventRate: async (request) => eventRate(log, request),

    timeSkew: async (request) => timeSkew(log, request),

    fieldDistribution: async (request) => fieldDistribution(log, request),

    async exportEvents({ stream, filter, format, ranges, columns, target }) {
      const view = await viewsOf().get(stream, filter);
      const selected = normaliseRanges(ranges, view.count);
      const count = rangeTotal(selected);
      const filename = exportFilename(stream, format);
      if (target === 'download') {
        if (count > DOWNLOAD_MAX_EVENTS) {
          throw new EddyError('LIMIT', `${count.toLocaleString('en')} events are too many to download at once (the limit is ${DOWNLOAD_MAX_EVENTS.toLocaleString('en')}). Export them to the workspace folder instead.`, { count });
        }
        const { content, count: written } = await exportToText(rowsOf((from, limit) => view.read(from, limit), selected), format, columns);
        return { filename, count: written, content };
      }
      const file = path.join(workspace.root, 'exports', filename);
      const job = jobs.start({ kind: 'export', title: `Export ${count.toLocaleString('en')} events of ${stream}`, unit: 'events', total: count }, async (handle) => {
        const written = await exportToFile(file, rowsOf((from, limit) => view.read(from, limit, handle.signal), selected), format, columns, (done) => handle.progress(done), handle.signal);
        return `Wrote ${written.toLocaleString('en')} events to ${path.relative(workspace.root, file)}`;
      });
      return { filename, count, jobId: job.id, path: file };
    },

    async importFile({ path: requested, stream }) {
      const file = resolveImportPath(workspace.root, requested);
      const size = await checkImportFile(file);
      const job = jobs.start({ kind: 'import', title: `Import ${path.basename(file)}`, unit: 'bytes', total: size }, async (handle) => {
        const summary = await importJsonl(log, file, size, stream, handle);
        const skipped = summary.invalid > 0 ? ` ${summary.invalid.toLocaleString('en')} lines skipped (first: ${summary.firstProblems[0]}).` : '';
        return `Imported ${summary.appended.toLocaleString('en')} events from ${path.basename(file)}${summary.duplicates ? ` (${summary.duplicates.toLocaleString('en')} were already in the log)` : ''}.${skipped}`;
      });
      return { jobId: job.id };
    },
  };
}
