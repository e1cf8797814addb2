// "As of" over a key's versions sorted by validity start: the one version valid at a time. Shared
// by every as-of lookup (preview fixture tables, pipeline tables) so the rule is written once.

/** The last version whose `from` is at or before `time`, or undefined when none is yet. */
export function versionAsOf<T extends { from: number }>(versions: readonly T[], time: number): T | undefined {
  let low = 0;
  let high = versions.length - 1;
  let found: T | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const version = versions[middle]!;
    if (version.from <= time) {
      found = version;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
