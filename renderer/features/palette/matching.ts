// Matching for the command palette and shortcuts, free of the DOM: a subsequence score for what
// the user typed, and whether a key press is a shortcut like `Mod+Shift+P` (Mod: Cmd on macOS).
export interface KeyPress {
  key: string;
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

export function matchKeys(event: KeyPress, keys: string, mac: boolean): boolean {
  const parts = keys.split('+');
  const key = parts.pop()!;
  const wants = new Set(parts);
  const mod = mac ? event.metaKey : event.ctrlKey;
  if (wants.has('Mod') !== mod) return false;
  if (!wants.has('Mod') && (event.ctrlKey || event.metaKey) && !wants.has('Ctrl')) return false;
  if (wants.has('Ctrl') && !event.ctrlKey) return false;
  if (wants.has('Shift') !== event.shiftKey) return false;
  if (wants.has('Alt') !== event.altKey) return false;
  const pressed = event.code.startsWith('Key') ? event.code.slice(3) : event.code.startsWith('Digit') ? event.code.slice(5) : event.key;
  return pressed.toLowerCase() === key.toLowerCase() || event.key.toLowerCase() === key.toLowerCase();
}

/** Subsequence match with a score: consecutive and word-start hits rank higher. */
export function fuzzyScore(query: string, text: string): number | null {
  if (query === '') return 0;
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  const direct = t.indexOf(q);
  if (direct >= 0) return 1000 - direct - (t.length - q.length) * 0.01;
  let score = 0;
  let position = 0;
  let previous = -2;
  for (const char of q) {
    if (char === ' ') continue;
    const found = t.indexOf(char, position);
    if (found < 0) return null;
    score += found === previous + 1 ? 5 : 1;
    if (found === 0 || /[\s:./_-]/.test(t[found - 1] ?? '')) score += 3;
    previous = found;
    position = found + 1;
  }
  return score;
}
