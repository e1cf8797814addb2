// The command palette (Mod+Shift+P) and the quick pick it is built on: a filtered list opened over
// the workbench, driven by the keyboard. Other pickers (go to stream, go to event) reuse it.
import { useEffect, useMemo, useRef, useState, type JSX } from 'react';
import { createStore, useStore } from '../../app/store';
import { describeKeys, fuzzyScore, useCommandList } from './commands';

export interface QuickItem {
  id: string;
  label: string;
  detail?: string;
  keys?: string;
}

export interface QuickPick {
  title: string;
  placeholder: string;
  /** Fixed items filtered by the query; omit for a free-text prompt. */
  items?: QuickItem[];
  /** When true the palette lists the registered commands. */
  commands?: boolean;
  /** Called with the chosen item, or with undefined and the typed text for a prompt. */
  accept: (item: QuickItem | undefined, text: string) => void;
  initialText?: string;
}

export const palette = createStore<{ pick: QuickPick | null }>({ pick: null });

export function openQuickPick(pick: QuickPick): void {
  palette.set({ pick });
}

export function closeQuickPick(): void {
  palette.set({ pick: null });
}

export function openCommandPalette(): void {
  openQuickPick({ title: 'Commands', placeholder: 'Type a command', commands: true, accept: () => undefined });
}

export function CommandPalette(): JSX.Element | null {
  const pick = useStore(palette, (state) => state.pick);
  if (!pick) return null;
  return <Palette key={pick.title + pick.placeholder} pick={pick} />;
}

function Palette({ pick }: { pick: QuickPick }): JSX.Element {
  const commandList = useCommandList();
  const [text, setText] = useState(pick.initialText ?? '');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const previousFocus = useRef<Element | null>(document.activeElement);

  useEffect(() => {
    input.current?.focus();
    const restore = previousFocus.current;
    return () => {
      if (restore instanceof HTMLElement) restore.focus();
    };
  }, []);

  const items = useMemo(() => {
    const source: (QuickItem & { run?: () => void })[] = pick.commands
      ? commandList.map((command) => ({ id: command.id, label: `${command.category}: ${command.title}`, ...(command.keys ? { keys: command.keys } : {}), run: command.run }))
      : (pick.items ?? []);
    if (!pick.commands && !pick.items) return [];
    const scored = source
      .map((item) => ({ item, score: fuzzyScore(text.trim(), `${item.label} ${item.detail ?? ''}`) }))
      .filter((entry): entry is { item: QuickItem & { run?: () => void }; score: number } => entry.score !== null);
    if (text.trim() !== '') scored.sort((a, b) => b.score - a.score);
    else if (pick.commands) scored.sort((a, b) => a.item.label.localeCompare(b.item.label));
    return scored.slice(0, 200).map((entry) => entry.item);
  }, [pick, commandList, text]);

  useEffect(() => setActive(0), [text]);
  useEffect(() => {
    listRef.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const accept = (index: number): void => {
    const item = items[index];
    closeQuickPick();
    if (pick.commands) {
      (item as { run?: () => void } | undefined)?.run?.();
      return;
    }
    pick.accept(item, text);
  };

  return (
    <div className="palette-backdrop" onMouseDown={() => closeQuickPick()}>
      <div className="palette" role="dialog" aria-label={pick.title} onMouseDown={(event) => event.stopPropagation()}>
        <input
          ref={input}
          className="palette-input"
          value={text}
          placeholder={pick.placeholder}
          aria-label={pick.placeholder}
          aria-controls="palette-list"
          aria-activedescendant={items[active] ? `palette-item-${active}` : undefined}
          role="combobox"
          aria-expanded="true"
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.preventDefault();
              closeQuickPick();
            } else if (event.key === 'ArrowDown') {
              event.preventDefault();
              setActive((value) => Math.min(items.length - 1, value + 1));
            } else if (event.key === 'ArrowUp') {
              event.preventDefault();
              setActive((value) => Math.max(0, value - 1));
            } else if (event.key === 'Enter') {
              event.preventDefault();
              if (items.length > 0 || !pick.items) accept(active);
            }
          }}
        />
        {pick.items || pick.commands ? (
          <ul className="palette-list" id="palette-list" role="listbox" ref={listRef}>
            {items.length === 0 ? <li className="palette-empty">Nothing matches “{text}”.</li> : null}
            {items.map((item, index) => (
              <li
                key={item.id}
                id={`palette-item-${index}`}
                role="option"
                aria-selected={index === active}
                className={index === active ? 'palette-item active' : 'palette-item'}
                onMouseEnter={() => setActive(index)}
                onClick={() => accept(index)}
              >
                <span className="palette-label">{item.label}</span>
                {item.detail ? <span className="palette-detail">{item.detail}</span> : null}
                {item.keys ? <kbd>{describeKeys(item.keys)}</kbd> : null}
              </li>
            ))}
          </ul>
        ) : (
          <p className="palette-hint">Press Enter to confirm, Escape to cancel.</p>
        )}
      </div>
    </div>
  );
}
