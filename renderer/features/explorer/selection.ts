// The grid's selection in row indexes of the view (oldest first, so appends never shift it): a
// focused row, the anchor of a Shift-range, and the selected ranges ([from, to) each).
export interface Range {
  from: number;
  to: number;
}

export interface Selection {
  focus: number | null;
  anchor: number | null;
  ranges: Range[];
}

export const emptySelection: Selection = { focus: null, anchor: null, ranges: [] };

export function single(row: number): Selection {
  return { focus: row, anchor: row, ranges: [{ from: row, to: row + 1 }] };
}

export function extendTo(selection: Selection, row: number): Selection {
  const anchor = selection.anchor ?? row;
  return { focus: row, anchor, ranges: [{ from: Math.min(anchor, row), to: Math.max(anchor, row) + 1 }] };
}

export function normalise(ranges: Range[]): Range[] {
  const sorted = ranges.filter((range) => range.to > range.from).sort((a, b) => a.from - b.from);
  const out: Range[] = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range.from <= last.to) last.to = Math.max(last.to, range.to);
    else out.push({ ...range });
  }
  return out;
}

export function toggle(selection: Selection, row: number): Selection {
  const selected = isSelected(selection, row);
  const ranges: Range[] = [];
  for (const range of selection.ranges) {
    if (selected && row >= range.from && row < range.to) {
      if (range.from < row) ranges.push({ from: range.from, to: row });
      if (row + 1 < range.to) ranges.push({ from: row + 1, to: range.to });
    } else ranges.push(range);
  }
  if (!selected) ranges.push({ from: row, to: row + 1 });
  return { focus: row, anchor: row, ranges: normalise(ranges) };
}

export function selectAll(count: number): Selection {
  return count > 0 ? { focus: 0, anchor: 0, ranges: [{ from: 0, to: count }] } : emptySelection;
}

export function isSelected(selection: Selection, row: number): boolean {
  return selection.ranges.some((range) => row >= range.from && row < range.to);
}

export function selectedCount(selection: Selection): number {
  return selection.ranges.reduce((sum, range) => sum + (range.to - range.from), 0);
}

/** Drops rows past the end (after a filter or deletion shrank the view). */
export function clampSelection(selection: Selection, count: number): Selection {
  const ranges = selection.ranges.map((range) => ({ from: range.from, to: Math.min(range.to, count) })).filter((range) => range.to > range.from);
  const inside = (row: number | null): number | null => (row !== null && row < count ? row : null);
  return { focus: inside(selection.focus), anchor: inside(selection.anchor), ranges };
}
