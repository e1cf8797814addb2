// The SQL editor: Monaco with SQL highlighting and completion of streams and fields; Ctrl/Cmd+Enter
// runs the query. If Monaco cannot load, a plain text area takes its place and says so.
import { useEffect, useRef, useState, type JSX } from 'react';
import type * as Monaco from 'monaco-editor';
import { loadMonaco } from '../../app/monaco';
import { useResolvedTheme } from '../../app/theme';
import { registerSqlCompletion } from './sql-completion';

export function SqlEditor({ value, onChange, onRun, label }: { value: string; onChange: (value: string) => void; onRun: () => void; label: string }): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<Monaco.editor.IStandaloneCodeEditor>(null);
  const [mode, setMode] = useState<'loading' | 'monaco' | 'textarea'>('loading');
  const [problem, setProblem] = useState<string>();
  const theme = useResolvedTheme();
  const latest = useRef({ onChange, onRun });
  latest.current = { onChange, onRun };
  const monacoRef = useRef<typeof Monaco>(null);

  useEffect(() => {
    let disposed = false;
    loadMonaco().then(
      (monaco) => {
        if (disposed || !host.current) return;
        monacoRef.current = monaco;
        registerSqlCompletion(monaco);
        const instance = monaco.editor.create(host.current, {
          value,
          language: 'sql',
          theme: theme === 'dark' ? 'vs-dark' : 'vs',
          automaticLayout: true,
          minimap: { enabled: false },
          fontSize: 13,
          lineNumbers: 'on',
          scrollBeyondLastLine: false,
          wordWrap: 'on',
          tabSize: 2,
          quickSuggestions: { other: true, strings: true, comments: false },
          suggestOnTriggerCharacters: true,
          ariaLabel: label,
          fixedOverflowWidgets: true,
        });
        instance.onDidChangeModelContent(() => latest.current.onChange(instance.getValue()));
        instance.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => {
          // Running closes the completion list, which would otherwise hang over the results.
          instance.trigger('eddy', 'hideSuggestWidget', null);
          latest.current.onRun();
        });
        instance.onDidBlurEditorWidget(() => instance.trigger('eddy', 'hideSuggestWidget', null));
        editor.current = instance;
        setMode('monaco');
        instance.focus();
      },
      (error: unknown) => {
        if (disposed) return;
        setProblem(error instanceof Error ? error.message : String(error));
        setMode('textarea');
      },
    );
    return () => {
      disposed = true;
      editor.current?.getModel()?.dispose();
      editor.current?.dispose();
      editor.current = null;
    };
  }, []);

  useEffect(() => {
    monacoRef.current?.editor.setTheme(theme === 'dark' ? 'vs-dark' : 'vs');
  }, [theme, mode]);

  // Outside changes (a query opened from a stream) replace the text.
  useEffect(() => {
    const instance = editor.current;
    if (instance && instance.getValue() !== value) instance.setValue(value);
  }, [value]);

  return (
    <div className="sql-editor" data-testid="sql-editor" data-editor={mode}>
      {mode === 'textarea' ? (
        <>
          <textarea
            className="sql-textarea"
            aria-label={label}
            spellCheck={false}
            value={value}
            onChange={(event) => onChange(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                onRun();
              }
            }}
          />
          <p className="hint">The code editor could not load ({problem}); this plain editor runs the same queries.</p>
        </>
      ) : (
        <div ref={host} className="monaco-host" />
      )}
      {mode === 'loading' ? <div className="sql-loading dim">Loading the editor…</div> : null}
    </div>
  );
}
