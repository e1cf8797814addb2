// The transform workbench: pick a transform file and a stream's sample window, edit in Monaco with
// the event's shape inferred from those samples, and see every sample's input and outputs side by
// side, re-run (debounced, cancelling the previous run) on every edit. Saves the file, pins picked
// events into a test, and compares the edit against the saved version.
import type { JSX } from 'react';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { EddyError } from '../../../shared/contract';
import type { CompareResult, Diagnostic, PreviewResult, SandboxInfo, TransformInfo } from '../../../shared/contracts/transforms';
import { engine } from '../../client/engine-client';
import type { CodeEditorHandle } from './code-editor';
import { CompareView } from './compare-view';
import { PreviewList } from './preview-list';
import './transforms.css';

const CodeEditor = lazy(() => import('./code-editor').then((module) => ({ default: module.CodeEditor })));

const PREVIEW_DEBOUNCE_MS = 300;
const CHANNEL = 'transforms-panel';

export interface TransformsPanelProps {
  engineReady: boolean;
}

interface StreamChoice {
  stream: string;
  count: number;
}

type View = 'preview' | 'compare';

export function templateFor(stream: string, isChange: boolean): string {
  const body = isChange
    ? [
        '  // Deletes have no after image: drop them (or return the before image).',
        '  if (!event.after) return null;',
        '  return { value: { ...event.after } };',
      ]
    : ['  return { value: event.value };'];
  return [
    "import type { Transform } from 'eddy';",
    '',
    `const transform: Transform<${JSON.stringify(stream).replace(/"/g, "'")}> = (event, ctx) => {`,
    '  // Return { key?, value, headers?, eventTime? }, an array of them, or null to drop the event.',
    '  // ctx.state (keyed state), ctx.lookup(table, key) (as of the event\'s time), ctx.log, ctx.now().',
    ...body,
    '};',
    '',
    'export default transform;',
    '',
  ].join('\n');
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function TransformsPanel({ engineReady }: TransformsPanelProps): JSX.Element {
  const [transforms, setTransforms] = useState<TransformInfo[]>([]);
  const [streams, setStreams] = useState<StreamChoice[]>([]);
  const [path, setPath] = useState<string>();
  const [source, setSource] = useState('');
  const [saved, setSaved] = useState('');
  const [stream, setStream] = useState<string>();
  const [limit, setLimit] = useState(50);
  const [direction, setDirection] = useState<'oldest' | 'newest'>('oldest');
  const [preview, setPreview] = useState<PreviewResult>();
  const [sandbox, setSandbox] = useState<SandboxInfo>();
  const [compare, setCompare] = useState<CompareResult>();
  const [view, setView] = useState<View>('preview');
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [typesNote, setTypesNote] = useState<string>();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [naming, setNaming] = useState<'transform' | 'test' | undefined>();
  const [name, setName] = useState('');
  const editor = useRef<CodeEditorHandle>(null);
  const generation = useRef(0);

  const dirty = source !== saved;
  const diagnostics: Diagnostic[] = useMemo(() => preview?.diagnostics ?? [], [preview]);

  // Files and streams, whenever the engine (re)starts.
  const reloadFiles = useCallback(async () => {
    const [files, stats] = await Promise.all([engine.listTransforms({}), engine.listStreams({})]);
    setTransforms(files);
    setStreams(stats.map((item) => ({ stream: item.stream, count: item.count })));
    return files;
  }, []);
  useEffect(() => {
    if (!engineReady) return;
    reloadFiles().then(
      (files) => {
        if (!path && files[0]) void open(files[0].path);
      },
      (error: unknown) => setProblem(message(error)),
    );
  }, [engineReady]);

  const open = async (file: string): Promise<void> => {
    try {
      const { info, source: text } = await engine.readTransform({ path: file });
      setPath(file);
      setSource(text);
      setSaved(text);
      setSelected(new Set());
      setCompare(undefined);
      setView('preview');
      if (info.stream) setStream(info.stream);
    } catch (error) {
      setProblem(message(error));
    }
  };

  // The event types of the chosen stream, inferred by the engine from its samples.
  useEffect(() => {
    if (!engineReady || !stream) return;
    let live = true;
    engine.getStreamTypes({ stream, limit: 500 }).then(
      async (types) => {
        if (!live) return;
        const setup = await import('./monaco-setup');
        setup.setupMonaco();
        setup.setStreamTypes(types.stream, types.declarations);
        setTypesNote(`types from ${types.samples} sample${types.samples === 1 ? '' : 's'}`);
      },
      (error: unknown) => live && setTypesNote(`no types: ${message(error)}`),
    );
    return () => {
      live = false;
    };
  }, [engineReady, stream]);

  // Which sandbox runs the scripts (V8 isolates, or QuickJS where isolated-vm cannot load), and its limits.
  useEffect(() => {
    if (!engineReady) return;
    engine.getSandboxInfo({}).then(setSandbox, () => setSandbox(undefined));
  }, [engineReady]);

  // Re-run the preview on every edit, debounced; a newer run cancels the older one in the engine.
  useEffect(() => {
    if (!engineReady || !stream || !path) return;
    const mine = ++generation.current;
    const timer = setTimeout(() => {
      setRunning(true);
      engine
        .previewTransform({ script: { path, source }, window: { stream, limit, direction }, channel: CHANNEL })
        .then(
          (result) => {
            if (mine !== generation.current) return;
            setPreview(result);
            setProblem(undefined);
          },
          (error: unknown) => {
            if (mine !== generation.current || (error instanceof EddyError && error.code === 'CANCELLED')) return;
            setProblem(message(error));
          },
        )
        .finally(() => mine === generation.current && setRunning(false));
    }, PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [engineReady, stream, path, source, limit, direction]);

  const save = useCallback(async () => {
    if (!path) return;
    try {
      await engine.saveTransform({ path, source });
      setSaved(source);
      setNotice(`Saved ${path}`);
      void reloadFiles();
    } catch (error) {
      setProblem(message(error));
    }
  }, [path, source, reloadFiles]);

  const runCompare = async (): Promise<void> => {
    if (!path || !stream) return;
    setView('compare');
    setCompare(undefined);
    try {
      setCompare(await engine.compareTransforms({ base: { path }, candidate: { path, source }, window: { stream, limit, direction } }));
    } catch (error) {
      setProblem(message(error));
    }
  };

  const submitName = async (): Promise<void> => {
    const text = name.trim();
    if (!text) return;
    try {
      if (naming === 'transform') {
        const slug = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'transform';
        const file = `transforms/${slug}.ts`;
        const chosen = stream ?? streams[0]?.stream ?? 'kafka:topic';
        const isChange = chosen.startsWith('sqlserver:') || chosen.startsWith('postgres:') || chosen.startsWith('pg:');
        await engine.saveTransform({ path: file, source: templateFor(chosen, isChange) });
        await reloadFiles();
        await open(file);
        setStream(chosen);
        setNotice(`Created ${file}`);
      } else if (naming === 'test' && path && preview) {
        const picked = preview.records.filter((record) => selected.has(record.index));
        const records = picked.length > 0 ? picked : preview.records.slice(0, 3);
        const created = await engine.createTest({ name: text, transform: path, source, events: records.map((record) => record.input) });
        setNotice(`Saved ${created.path}: ${created.test.events.length} event(s), ${created.test.expect.outputs.length} expected output(s)${created.test.masking.length ? `, ${created.test.masking.length} masked field(s)` : ''}`);
      }
      setNaming(undefined);
      setName('');
    } catch (error) {
      setProblem(message(error));
    }
  };

  const toggle = (index: number): void =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(index)) next.delete(index);
      else next.add(index);
      return next;
    });

  const stats = preview?.stats;
  return (
    <div className="transforms-panel" data-testid="transforms-panel">
      <div className="transforms-toolbar">
        <select aria-label="Transform file" value={path ?? ''} onChange={(event) => void open(event.target.value)}>
          {path ? null : <option value="">(no transform)</option>}
          {transforms.map((item) => (
            <option key={item.path} value={item.path}>
              {item.path}
            </option>
          ))}
        </select>
        <button onClick={() => setNaming('transform')}>New…</button>
        <select aria-label="Sample stream" value={stream ?? ''} onChange={(event) => setStream(event.target.value)}>
          {stream ? null : <option value="">(pick a stream)</option>}
          {streams.map((item) => (
            <option key={item.stream} value={item.stream}>
              {item.stream} ({item.count})
            </option>
          ))}
        </select>
        <select aria-label="Sample window" value={`${direction}:${limit}`} onChange={(event) => {
          const [side, size] = event.target.value.split(':');
          setDirection(side === 'newest' ? 'newest' : 'oldest');
          setLimit(Number(size));
        }}>
          {['oldest', 'newest'].flatMap((side) =>
            [20, 50, 100, 200].map((size) => (
              <option key={`${side}:${size}`} value={`${side}:${size}`}>
                {side} {size}
              </option>
            )),
          )}
        </select>
        <span className="spacer" />
        <button onClick={() => void save()} disabled={!path || !dirty} title="Ctrl+S">
          Save{dirty ? ' •' : ''}
        </button>
        <button onClick={() => setNaming('test')} disabled={!preview?.ok || !path} title="Pin the picked events (or the first three) and their current outputs into tests/<name>.test.json">
          Save as test…
        </button>
        <button onClick={() => (view === 'compare' ? setView('preview') : void runCompare())} disabled={!path || !stream}>
          {view === 'compare' ? 'Back to preview' : 'Compare with saved'}
        </button>
      </div>
      {naming ? (
        <form
          className="transforms-naming"
          onSubmit={(event) => {
            event.preventDefault();
            void submitName();
          }}
        >
          <label>
            {naming === 'transform' ? 'New transform name' : `Test name (${selected.size || Math.min(3, preview?.records.length ?? 0)} event(s))`}
            <input autoFocus value={name} onChange={(event) => setName(event.target.value)} />
          </label>
          <button type="submit">{naming === 'transform' ? 'Create' : 'Save test'}</button>
          <button type="button" onClick={() => setNaming(undefined)}>
            Cancel
          </button>
        </form>
      ) : null}
      {problem ? (
        <div className="transforms-problem" role="alert">
          {problem}
          <button className="link-button" onClick={() => setProblem(undefined)}>
            Dismiss
          </button>
        </div>
      ) : null}
      {notice ? (
        <div className="transforms-notice" role="status">
          {notice}
          <button className="link-button" onClick={() => setNotice(undefined)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <div className="transforms-body">
        <div className="transforms-editor">
          {path ? (
            <Suspense fallback={<div className="empty-state dim">Loading the editor…</div>}>
              <CodeEditor ref={editor} path={path} value={source} onChange={setSource} diagnostics={diagnostics} onSave={() => void save()} />
            </Suspense>
          ) : (
            <div className="empty-state">
              <p>No transform yet.</p>
              <button onClick={() => setNaming('transform')}>Create a transform</button>
            </div>
          )}
          <div className="editor-status mono dim">
            {typesNote ?? ''}
            {diagnostics.filter((item) => item.severity === 'error').map((item, index) => (
              <button key={index} className="link-button diagnostic" onClick={() => editor.current?.revealLine(item.line, item.column)}>
                {item.line}:{item.column} {item.message}
              </button>
            ))}
          </div>
        </div>
        <div className="transforms-preview" aria-busy={running}>
          <div className="preview-stats" data-testid="preview-stats">
            {running ? <span className="dim">running…</span> : null}
            {stats ? (
              <span>
                {stats.records} events · {stats.outputs} outputs · <span className={stats.errors ? 'danger' : undefined}>{stats.errors} errors</span> · {stats.elapsedMs} ms
              </span>
            ) : null}
            {preview && !preview.ok ? <span className="danger">does not compile</span> : null}
            {sandbox ? (
              <span className="dim" data-testid="sandbox-engine" title={`${sandbox.engine}; ${sandbox.memoryLimitMb} MB and ${sandbox.timeoutMs} ms per event; ${sandbox.workers} worker(s)`}>
                sandbox: {sandbox.engine.startsWith('V8') ? 'V8 isolate' : 'QuickJS'}
              </span>
            ) : null}
          </div>
          {view === 'compare' ? (
            compare ? <CompareView result={compare} /> : <div className="empty-state dim">Comparing…</div>
          ) : preview ? (
            <PreviewList records={preview.records} selected={selected} onToggle={toggle} onGoToLine={(line, column) => editor.current?.revealLine(line, column)} />
          ) : (
            <div className="empty-state dim">{stream ? 'Running the preview…' : 'Pick a stream to preview on its captured events.'}</div>
          )}
        </div>
      </div>
    </div>
  );
}
