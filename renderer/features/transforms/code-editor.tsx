// A Monaco editor bound to one transform file: reports edits, shows the engine's diagnostics
// (compile, load, per-record errors) as markers beside the TypeScript worker's own, and can jump
// to a line. Loaded through a dynamic import so Monaco stays out of the main bundle.
import type { JSX } from 'react';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import type { Diagnostic } from '../../../shared/contracts/transforms';
import { monaco, setupMonaco } from './monaco-setup';

export interface CodeEditorHandle {
  revealLine(line: number, column?: number): void;
  focus(): void;
}

export interface CodeEditorProps {
  /** Workspace path; the model lives at file:///<path> so TypeScript sees a module. */
  path: string;
  value: string;
  onChange: (value: string) => void;
  /** Problems from the engine (the TypeScript worker adds its own). */
  diagnostics: Diagnostic[];
  onSave?: () => void;
}

const OWNER = 'eddy-engine';

function theme(): string {
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'vs-dark' : 'vs';
}

export const CodeEditor = forwardRef<CodeEditorHandle, CodeEditorProps>(function CodeEditor(props, ref): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    setupMonaco();
    if (!host.current) return;
    const instance = monaco.editor.create(host.current, {
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      scrollBeyondLastLine: false,
      tabSize: 2,
      theme: theme(),
      fixedOverflowWidgets: true,
      'semanticHighlighting.enabled': true,
    });
    editor.current = instance;
    const changes = instance.onDidChangeModelContent(() => {
      const value = instance.getValue();
      if (value !== latest.current.value) latest.current.onChange(value);
    });
    instance.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => latest.current.onSave?.());
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    const onScheme = (): void => monaco.editor.setTheme(theme());
    scheme.addEventListener('change', onScheme);
    return () => {
      scheme.removeEventListener('change', onScheme);
      changes.dispose();
      instance.getModel()?.dispose();
      instance.dispose();
      editor.current = null;
    };
  }, []);

  // One model per path; switching files swaps models instead of recreating the editor.
  useEffect(() => {
    const instance = editor.current;
    if (!instance) return;
    const uri = monaco.Uri.parse(`file:///${props.path}`);
    let model = monaco.editor.getModel(uri);
    if (!model) model = monaco.editor.createModel(props.value, props.path.endsWith('.js') ? 'javascript' : 'typescript', uri);
    else if (model.getValue() !== props.value) model.setValue(props.value);
    const previous = instance.getModel();
    if (previous !== model) {
      instance.setModel(model);
      if (previous && previous.uri.toString() !== uri.toString()) previous.dispose();
    }
  }, [props.path]);

  // External changes (file reloaded) replace the buffer; the user's own typing is already there.
  useEffect(() => {
    const model = editor.current?.getModel();
    if (model && model.getValue() !== props.value) model.pushEditOperations([], [{ range: model.getFullModelRange(), text: props.value }], () => null);
  }, [props.value]);

  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    monaco.editor.setModelMarkers(
      model,
      OWNER,
      props.diagnostics.map((diagnostic) => ({
        severity: diagnostic.severity === 'error' ? monaco.MarkerSeverity.Error : monaco.MarkerSeverity.Warning,
        message: diagnostic.message,
        source: diagnostic.source === 'load' ? 'sandbox' : diagnostic.source === 'compile' ? 'compiler' : 'types',
        startLineNumber: diagnostic.line,
        startColumn: diagnostic.column,
        endLineNumber: diagnostic.endLine ?? diagnostic.line,
        endColumn: diagnostic.endColumn ?? model.getLineMaxColumn(Math.min(diagnostic.line, model.getLineCount())),
      })),
    );
  }, [props.diagnostics, props.path]);

  useImperativeHandle(ref, () => ({
    revealLine(line, column = 1) {
      const instance = editor.current;
      if (!instance) return;
      instance.revealLineInCenter(line);
      instance.setPosition({ lineNumber: line, column });
      instance.focus();
    },
    focus() {
      editor.current?.focus();
    },
  }));

  return <div className="code-editor" ref={host} data-testid="transform-editor" />;
});
