// Monaco for the SQL editor, loaded lazily (it is large). The transforms feature owns Monaco's
// setup (its workers from the app's own origin, since the CSP allows no eval, and the TypeScript
// language), so the SQL editor uses that same setup: Monaco is configured once for the whole app.
// The SQL language is registered here explicitly: the bundler keeps only the languages imported
// by name.
import type * as Monaco from 'monaco-editor';

export type MonacoApi = typeof Monaco;

let loading: Promise<MonacoApi> | undefined;

export function loadMonaco(): Promise<MonacoApi> {
  loading ??= (async () => {
    const [setup] = await Promise.all([import('../features/transforms/monaco-setup'), import('monaco-editor/esm/vs/basic-languages/sql/sql.contribution')]);
    return setup.setupMonaco() as MonacoApi;
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
