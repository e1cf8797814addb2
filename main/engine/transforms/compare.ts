// Compares two versions of a transform over the same events: which records' outputs change, which
// outputs appear or disappear, which fields change and how often — the answer to "what will
// reprocessing with this change do?".
import type { CompareRecord, CompareResult, FieldChange, OutputEvent, PreviewRecord } from '../../../shared/contracts/transforms.js';
import { deepEqual, diffFields } from './diff.js';
import type { RunOutcome } from './run.js';

const MAX_RECORDS = 500;

function comparable(output: OutputEvent): Record<string, unknown> {
  return { key: output.key, value: output.value, headers: output.headers, eventTime: output.eventTime };
}

export function compareRuns(base: RunOutcome, candidate: RunOutcome): CompareResult {
  const summary: CompareResult['summary'] = { records: 0, same: 0, changed: 0, added: 0, removed: 0, newErrors: 0, fixedErrors: 0, fields: [] };
  const fieldCounts = new Map<string, number>();
  const records: CompareRecord[] = [];
  if (!base.ok || !candidate.ok) {
    return { ok: false, diagnostics: { base: base.diagnostics, candidate: candidate.diagnostics }, summary, records };
  }
  const count = Math.min(base.records.length, candidate.records.length);
  summary.records = count;
  for (let index = 0; index < count; index++) {
    const left = base.records[index]!;
    const right = candidate.records[index]!;
    const entry = compareRecord(left, right);
    if (entry.status === 'same') summary.same++;
    else summary.changed++;
    if (right.error && !left.error) summary.newErrors++;
    if (left.error && !right.error) summary.fixedErrors++;
    const pairs = Math.min(left.outputs.length, right.outputs.length);
    summary.added += right.outputs.length - pairs;
    summary.removed += left.outputs.length - pairs;
    for (const change of entry.changes) {
      const field = change.path.replace(/^#\d+\./, '');
      fieldCounts.set(field, (fieldCounts.get(field) ?? 0) + 1);
    }
    if (entry.status !== 'same' && records.length < MAX_RECORDS) records.push(entry);
  }
  summary.fields = [...fieldCounts].map(([path, n]) => ({ path, count: n })).sort((a, b) => b.count - a.count || a.path.localeCompare(b.path));
  return { ok: true, diagnostics: { base: base.diagnostics, candidate: candidate.diagnostics }, summary, records };
}

function compareRecord(left: PreviewRecord, right: PreviewRecord): CompareRecord {
  const changes: FieldChange[] = [];
  const pairs = Math.min(left.outputs.length, right.outputs.length);
  const several = Math.max(left.outputs.length, right.outputs.length) > 1;
  for (let index = 0; index < pairs; index++) {
    changes.push(...diffFields(comparable(left.outputs[index]!) as never, comparable(right.outputs[index]!) as never, several ? `#${index}` : ''));
  }
  let status: CompareRecord['status'];
  const sameErrors = (left.error?.message ?? null) === (right.error?.message ?? null);
  if (right.error && !left.error) status = 'error';
  else if (left.outputs.length === right.outputs.length && changes.length === 0 && sameErrors && deepEqual(left.outputs.map(comparable), right.outputs.map(comparable))) status = 'same';
  else if (right.outputs.length > left.outputs.length && changes.length === 0) status = 'added';
  else if (right.outputs.length < left.outputs.length && changes.length === 0) status = 'removed';
  else status = 'changed';
  return {
    index: left.index,
    input: left.input,
    status,
    base: { outputs: left.outputs, error: left.error },
    candidate: { outputs: right.outputs, error: right.error },
    changes,
  };
}
