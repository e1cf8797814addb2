// Light and dark themes: the user's choice, or the operating system's when set to "system". The
// resolved theme is put on <html data-theme> for the CSS, and read by Monaco and the charts.
import { useEffect, useSyncExternalStore } from 'react';
import { ui, useUi, type ThemeSetting } from './ui-state';

export type ResolvedTheme = 'light' | 'dark';

const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;

function subscribeSystem(listener: () => void): () => void {
  media?.addEventListener('change', listener);
  return () => media?.removeEventListener('change', listener);
}

export function systemTheme(): ResolvedTheme {
  return media?.matches ? 'dark' : 'light';
}

export function resolveTheme(setting: ThemeSetting, system: ResolvedTheme): ResolvedTheme {
  return setting === 'system' ? system : setting;
}

export function useResolvedTheme(): ResolvedTheme {
  const setting = useUi((state) => state.theme);
  const system = useSyncExternalStore(subscribeSystem, systemTheme);
  return resolveTheme(setting, system);
}

/** Keeps <html data-theme> in step with the setting and the OS; mount once, in the shell. */
export function useThemeAttribute(): ResolvedTheme {
  const theme = useResolvedTheme();
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);
  return theme;
}

const order: ThemeSetting[] = ['system', 'light', 'dark'];

export function cycleTheme(): ThemeSetting {
  const next = order[(order.indexOf(ui.get().theme) + 1) % order.length]!;
  ui.set({ theme: next });
  return next;
}

export function setTheme(theme: ThemeSetting): void {
  ui.set({ theme });
}
