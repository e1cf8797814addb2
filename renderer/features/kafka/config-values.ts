// Topic config values in words beside the raw number: 604800000 ms reads "7 d", 16777216 bytes
// reads "16 MiB", Long.MAX_VALUE reads "unlimited" (pure, so it is unit-tested).

const LONG_MAX = '9223372036854775807';

function duration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) {
      const value = ms / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${ms} ms`;
}

function bytes(count: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit < 0) return `${count} B`;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The value in words for configs measured in milliseconds or bytes; undefined when the raw value says it all. */
export function configInWords(name: string, value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || !/^-?\d+$/.test(value)) return undefined;
  const timed = name.endsWith('.ms');
  const sized = name.endsWith('.bytes');
  if (!timed && !sized) return undefined;
  if (value === LONG_MAX || value === '-1') return timed ? 'forever' : 'unlimited';
  const number = Number(value);
  if (number < (timed ? 1000 : 1024)) return undefined;
  return timed ? duration(number) : bytes(number);
}
