// Loads Monaco (lazily: it is large) and configures it for transform scripts: workers from the
// app's own origin via Vite `?worker` imports (the CSP has no 'unsafe-eval'), the TypeScript
// language with the transform API as the ambient module 'eddy', and per-stream event types that
// the engine infers from captured samples.
// The editor core with its features (suggest, hover, markers), and only the languages transforms use.
import 'monaco-editor/esm/vs/editor/edcore.main';
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api';
import 'monaco-editor/esm/vs/basic-languages/typescript/typescript.contribution';
import 'monaco-editor/esm/vs/basic-languages/javascript/javascript.contribution';
import 'monaco-editor/esm/vs/language/typescript/monaco.contribution';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker?worker';
import TypeScriptWorker from 'monaco-editor/esm/vs/language/typescript/ts.worker?worker';
import { transformApiDeclarations } from '../../../shared/transform-api';

export type Monaco = typeof monaco;

let configured = false;

export function setupMonaco(): Monaco {
  if (configured) return monaco;
  configured = true;
  (globalThis as { MonacoEnvironment?: monaco.Environment }).MonacoEnvironment = {
    getWorker(_workerId: string, label: string) {
      return label === 'typescript' || label === 'javascript' ? new TypeScriptWorker() : new EditorWorker();
    },
  };
  const typescript = monaco.languages.typescript;
  const options: monaco.languages.typescript.CompilerOptions = {
    target: typescript.ScriptTarget.ES2020,
    module: typescript.ModuleKind.ESNext,
    moduleResolution: typescript.ModuleResolutionKind.NodeJs,
    lib: ['es2022'],
    strict: true,
    noEmit: true,
    allowNonTsExtensions: true,
    allowJs: true,
    checkJs: true,
  };
  for (const defaults of [typescript.typescriptDefaults, typescript.javascriptDefaults]) {
    defaults.setCompilerOptions(options);
    defaults.setDiagnosticsOptions({ noSemanticValidation: false, noSyntaxValidation: false });
    defaults.setEagerModelSync(true);
    defaults.addExtraLib(transformApiDeclarations, 'file:///node_modules/@types/eddy/index.d.ts');
  }
  return monaco;
}

const streamLibs = new Map<string, monaco.IDisposable[]>();

/** Adds (or replaces) the inferred event types of a stream, so `event.after.` completes its columns. */
export function setStreamTypes(stream: string, declarations: string): void {
  for (const disposable of streamLibs.get(stream) ?? []) disposable.dispose();
  const file = `file:///node_modules/@types/eddy-streams/${encodeURIComponent(stream)}.d.ts`;
  const typescript = monaco.languages.typescript;
  streamLibs.set(stream, [typescript.typescriptDefaults.addExtraLib(declarations, file), typescript.javascriptDefaults.addExtraLib(declarations, file)]);
}

export { monaco };
