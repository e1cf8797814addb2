// The Pipelines view: the workspace's pipelines on the left; on the right the selected one with its
// state always in sight (running, paused, failed with the reason), the run controls (run live,
// replay from the beginning / an offset / a point in time, dry run into shadow tables, pause,
// resume, stop), and tabs: the design (graph + form), the JSON text, live charts, dead letters,
// step-through of one record, the warehouse, and the pipeline tests.
import { useEffect, useMemo, useRef, useState, type JSX } from 'react';
import type { PipelineInfo, ReplayFrom, RunStatus, SpecProblemView } from '../../../shared/contracts/pipelines';
import { blankPipelineSpec, sourceStream, type SourceSpec } from '../../../shared/pipeline-spec';
import { engine } from '../../client/engine-client';
import { MetricsCharts } from './metrics-charts';
import { PipelineForm, type SpecObject } from './pipeline-form';
import { PipelineGraph } from './pipeline-graph';
import { DeadLetters, StepThrough, WarehouseView } from './run-views';
import { errorText, useMetrics, usePipelineFiles, useRuns } from './use-pipelines';
import './pipelines.css';

type Tab = 'design' | 'json' | 'run' | 'dead-letters' | 'step' | 'warehouse' | 'tests';
const TABS: { id: Tab; label: string }[] = [
  { id: 'design', label: 'Design' },
  { id: 'json', label: 'JSON' },
  { id: 'run', label: 'Charts' },
  { id: 'dead-letters', label: 'Dead letters' },
  { id: 'step', label: 'Step through' },
  { id: 'warehouse', label: 'Warehouse' },
  { id: 'tests', label: 'Tests' },
];

const ACTIVE = new Set<RunStatus['state']>(['starting', 'running', 'paused', 'stopping']);

function parse(text: string): SpecObject | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as SpecObject) : undefined;
  } catch {
    return undefined;
  }
}

function describeReplay(replay: ReplayFrom | null): string {
  if (!replay) return '';
  if (replay.from === 'beginning') return 'replay from the beginning';
  if (replay.from === 'offset') return `replay from seq ${replay.seq}`;
  return `replay from ${new Date(replay.time).toISOString()}`;
}

export function RunState({ status }: { status: RunStatus | null | undefined }): JSX.Element {
  if (!status) return <span className="pipeline-state idle">not running</span>;
  const label = `${status.state}${status.dryRun ? ' (dry run)' : ''}`;
  return (
    <span className={`pipeline-state ${status.state}`} role="status" aria-label={`pipeline state: ${label}`} data-state={status.state}>
      {label}
    </span>
  );
}

function StatusLine({ status, records, deadLetters }: { status: RunStatus | undefined; records: number | undefined; deadLetters: number | undefined }): JSX.Element {
  if (!status) return <div className="pipeline-status-line dim">Not running. Run it live from its sources, replay it from the event log, or try a dry run first (nothing external is written).</div>;
  return (
    <div className={`pipeline-status-line state-${status.state}`} data-testid="pipeline-status">
      <RunState status={status} />
      <span>
        {status.mode === 'replay' ? describeReplay(status.replay) : 'live'}
        {status.checkpoint ? ` · checkpoint ${status.checkpoint.id} at ${new Date(status.checkpoint.at).toLocaleTimeString()}` : ''}
        {records !== undefined ? ` · ${records.toLocaleString()} records` : ''}
        {deadLetters !== undefined ? ` · ${deadLetters.toLocaleString()} dead letters` : ''}
      </span>
      {status.reason ? <span className={status.state === 'failed' ? 'pipeline-error' : 'pipeline-reason'}>{status.reason}</span> : null}
    </div>
  );
}

function Controls({ info, status, dirty, onSave, engineReady }: { info: PipelineInfo; status: RunStatus | undefined; dirty: boolean; onSave: () => Promise<boolean>; engineReady: boolean }): JSX.Element {
  const [mode, setMode] = useState<'live' | 'beginning' | 'offset' | 'time'>('live');
  const [from, setFrom] = useState('');
  const [dryRun, setDryRun] = useState(false);
  const [error, setError] = useState<string>();
  const active = status !== undefined && ACTIVE.has(status.state);
  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const start = (): Promise<void> =>
    act(async () => {
      if (dirty && !(await onSave())) return;
      let replay: ReplayFrom | undefined;
      if (mode === 'beginning') replay = { from: 'beginning' };
      if (mode === 'offset') replay = { from: 'offset', seq: Number(from) };
      if (mode === 'time') replay = { from: 'time', time: /^\d+$/.test(from) ? Number(from) : Date.parse(from) };
      await engine.startPipeline({ path: info.path, mode: mode === 'live' ? 'live' : 'replay', ...(replay ? { replay } : {}), dryRun });
    });
  return (
    <div className="pipeline-controls" role="toolbar" aria-label="Run controls">
      <select value={mode} onChange={(event) => setMode(event.target.value as typeof mode)} disabled={active} aria-label="Run mode">
        <option value="live">Live (resume from checkpoint)</option>
        <option value="beginning">Replay from the beginning</option>
        <option value="offset">Replay from an offset (seq)</option>
        <option value="time">Replay from a point in time</option>
      </select>
      {mode === 'offset' || mode === 'time' ? (
        <input className="pipeline-from" value={from} onChange={(event) => setFrom(event.target.value)} placeholder={mode === 'offset' ? 'log seq, e.g. 120' : '2026-03-02T11:00:00Z'} aria-label="Replay from" />
      ) : null}
      <label title="Sinks write to shadow tables in the local warehouse; nothing external is written">
        <input type="checkbox" checked={dryRun} onChange={(event) => setDryRun(event.target.checked)} disabled={active} /> Dry run
      </label>
      <button className="primary" onClick={() => void start()} disabled={!engineReady || active || !info.valid}>
        {dryRun ? 'Dry run' : mode === 'live' ? 'Run' : 'Replay'}
      </button>
      {status?.state === 'paused' ? (
        <button onClick={() => void act(() => engine.resumePipeline({ pipeline: info.name }))} disabled={!engineReady}>
          Resume
        </button>
      ) : (
        <button onClick={() => void act(() => engine.pausePipeline({ pipeline: info.name }))} disabled={!engineReady || status?.state !== 'running'}>
          Pause
        </button>
      )}
      <button onClick={() => void act(() => engine.stopPipeline({ pipeline: info.name }))} disabled={!engineReady || !active}>
        Stop
      </button>
      <button
        onClick={() => {
          if (window.confirm(`Forget the checkpoint and state of ${info.name}? The next live run starts from the beginning.`)) void act(() => engine.resetPipeline({ pipeline: info.name }));
        }}
        disabled={!engineReady || active}
        title="Forget the checkpoint and state"
      >
        Reset
      </button>
      {error ? <span className="pipeline-error">{error}</span> : null}
    </div>
  );
}

function PipelineTests({ engineReady, pipelinePath }: { engineReady: boolean; pipelinePath: string }): JSX.Element {
  const [tests, setTests] = useState<{ path: string; name: string; pipeline: string | null; invalid?: string | undefined }[]>([]);
  const [report, setReport] = useState<Awaited<ReturnType<typeof engine.runPipelineTests>>>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!engineReady) return;
    engine.listPipelineTests({}).then(setTests, (failure: unknown) => setError(errorText(failure)));
  }, [engineReady]);
  const mine = tests.filter((test) => test.pipeline === pipelinePath);
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setReport(await engine.runPipelineTests({ paths: mine.map((test) => test.path) }));
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="pipeline-tests" aria-label="Pipeline tests">
      <p className="hint">
        Pipeline tests are files (<code>tests/NAME.pipeline-test.json</code>): fixture records in, the rows each sink must hold out, with controlled time. <code>eddy test</code> runs them in CI.
      </p>
      {mine.length === 0 ? <p className="dim">No test for this pipeline yet.</p> : null}
      <ul>
        {mine.map((test) => {
          const result = report?.tests.find((entry) => entry.path === test.path);
          return (
            <li key={test.path} data-test={test.path}>
              <code>{test.path}</code> {test.name} {result ? <span className={`pipeline-test-status ${result.status}`}>{result.status}</span> : null}
              {result?.failures.map((failure, index) => (
                <pre key={index} className="pipeline-error">
                  {failure.message}
                  {failure.diff.length ? `\n${failure.diff.join('\n')}` : ''}
                </pre>
              ))}
            </li>
          );
        })}
      </ul>
      <button className="primary" onClick={() => void run()} disabled={!engineReady || busy || mine.length === 0}>
        {busy ? 'Running…' : 'Run tests'}
      </button>
      {error ? <div className="pipeline-error">{error}</div> : null}
    </section>
  );
}

function PipelineEditor({ info, engineReady, status, onSaved }: { info: PipelineInfo; engineReady: boolean; status: RunStatus | undefined; onSaved: () => void }): JSX.Element {
  const [text, setText] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [problems, setProblems] = useState<SpecProblemView[]>([]);
  const [tab, setTab] = useState<Tab>('design');
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<string>();
  const { history, latest } = useMetrics(engineReady, info.name);
  const validation = useRef(0);

  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.readPipeline({ path: info.path }).then(
      (file) => {
        if (!alive) return;
        setText(file.text);
        setSaved(file.text);
        setProblems(file.problems);
      },
      (failure: unknown) => alive && setError(errorText(failure)),
    );
    return () => {
      alive = false;
    };
  }, [info.path, engineReady]);

  const edit = (next: string): void => {
    setText(next);
    const mine = ++validation.current;
    window.setTimeout(() => {
      if (mine !== validation.current) return;
      engine.validatePipeline({ text: next }).then(
        (result) => mine === validation.current && setProblems(result.problems),
        () => undefined,
      );
    }, 250);
  };
  const save = async (): Promise<boolean> => {
    if (text === undefined) return false;
    try {
      const result = await engine.savePipeline({ path: info.path, text, overwrite: true });
      setSaved(text);
      setProblems(result.problems);
      onSaved();
      return true;
    } catch (failure) {
      setError(errorText(failure));
      return false;
    }
  };
  const spec = useMemo(() => (text === undefined ? undefined : parse(text)), [text]);
  const dirty = text !== undefined && text !== saved;
  const streams = useMemo(() => {
    const sources = Array.isArray(spec?.sources) ? (spec!.sources as unknown as SourceSpec[]) : [];
    return [...new Set(sources.map((source) => (source.kind === 'kafka' ? sourceStream(source) : source.stream)).filter(Boolean))];
  }, [spec]);
  const finished = status && !ACTIVE.has(status.state);
  const suggestedTable = status?.shadowTables ? Object.values(status.shadowTables)[0] : undefined;

  return (
    <div className="pipeline-view" data-pipeline={info.name}>
      <header className="pipeline-header">
        <div className="pipeline-title">
          <h2>{info.name}</h2>
          <RunState status={status} />
          {dirty ? <span className="pipeline-dirty">unsaved</span> : null}
          <button onClick={() => void save()} disabled={!dirty}>
            Save
          </button>
        </div>
        {info.description ? <p className="hint">{info.description}</p> : null}
        <Controls info={{ ...info, valid: problems.length === 0 }} status={status} dirty={dirty} onSave={save} engineReady={engineReady} />
        <StatusLine status={status} records={latest?.records.in} deadLetters={latest?.records.deadLetters} />
      </header>
      {error ? <div className="pipeline-error">{error}</div> : null}
      {problems.length > 0 ? (
        <ul className="pipeline-problems" aria-label="Problems">
          {problems.map((problem, index) => (
            <li key={index}>
              <code>{problem.path.join('.') || 'spec'}</code>: {problem.message}
            </li>
          ))}
        </ul>
      ) : null}
      <nav className="pipeline-tabs" role="tablist">
        {TABS.map((entry) => (
          <button key={entry.id} role="tab" aria-selected={tab === entry.id} className={tab === entry.id ? 'toggle active' : 'toggle'} onClick={() => setTab(entry.id)}>
            {entry.label}
            {entry.id === 'dead-letters' && latest?.records.deadLetters ? ` (${latest.records.deadLetters})` : ''}
          </button>
        ))}
      </nav>
      <div className="pipeline-tab-body">
        {tab === 'design' ? (
          spec ? (
            <div className="pipeline-design">
              <div className="pipeline-graph-wrap">
                <PipelineGraph spec={spec as never} metrics={latest} selected={selected} onSelect={setSelected} />
              </div>
              <PipelineForm spec={spec} selected={selected} onSelect={setSelected} onChange={(next) => edit(`${JSON.stringify(next, null, 2)}\n`)} />
            </div>
          ) : (
            <p className="pipeline-error">The JSON does not parse; fix it in the JSON tab.</p>
          )
        ) : null}
        {tab === 'json' ? <textarea className="pipeline-json" value={text ?? ''} onChange={(event) => edit(event.target.value)} spellCheck={false} aria-label="Pipeline JSON" /> : null}
        {tab === 'run' ? <MetricsCharts history={history} /> : null}
        {tab === 'dead-letters' ? <DeadLetters pipeline={info.name} engineReady={engineReady} refreshKey={`${latest?.records.deadLetters ?? 0}-${status?.state}`} /> : null}
        {tab === 'step' ? <StepThrough path={info.path} text={text ?? ''} streams={streams} engineReady={engineReady} /> : null}
        {tab === 'warehouse' ? <WarehouseView engineReady={engineReady} refreshKey={`${finished ? status?.updatedAt : ''}-${latest?.checkpoints.lastId ?? 0}`} suggested={suggestedTable} /> : null}
        {tab === 'tests' ? <PipelineTests engineReady={engineReady} pipelinePath={info.path} /> : null}
      </div>
    </div>
  );
}

export function PipelinesPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const { files, error, reload } = usePipelineFiles(engineReady);
  const runs = useRuns(engineReady);
  const [selected, setSelected] = useState<string>();
  const [createError, setCreateError] = useState<string>();
  useEffect(() => {
    if (selected === undefined && files[0]) setSelected(files[0].path);
  }, [files, selected]);
  const current = files.find((file) => file.path === selected);
  const create = async (): Promise<void> => {
    const name = window.prompt('Name of the new pipeline (letters, digits, - and _):', 'my-pipeline');
    if (!name) return;
    setCreateError(undefined);
    try {
      const info = await engine.savePipeline({ path: `pipelines/${name}.pipeline.json`, text: `${JSON.stringify(blankPipelineSpec(name), null, 2)}\n`, overwrite: false });
      reload();
      setSelected(info.path);
    } catch (failure) {
      setCreateError(errorText(failure));
    }
  };
  return (
    <div className="pipelines-panel">
      <aside className="pipelines-list" aria-label="Pipelines">
        <div className="pipelines-list-head">
          <strong>Pipelines</strong>
          <button onClick={() => void create()} disabled={!engineReady}>
            New
          </button>
        </div>
        {error ? <div className="pipeline-error">{error}</div> : null}
        {createError ? <div className="pipeline-error">{createError}</div> : null}
        <ul>
          {files.map((file) => (
            <li key={file.path}>
              <button className={file.path === selected ? 'pipeline-item active' : 'pipeline-item'} onClick={() => setSelected(file.path)} data-pipeline-file={file.path}>
                <span className="pipeline-item-name">{file.name}</span>
                <RunState status={runs[file.name] ?? file.run} />
                {!file.valid ? <span className="pipeline-error">invalid</span> : null}
              </button>
            </li>
          ))}
        </ul>
        {files.length === 0 ? <p className="hint">No pipelines in this workspace yet (pipelines/*.pipeline.json).</p> : null}
      </aside>
      {current ? (
        <PipelineEditor key={current.path} info={current} engineReady={engineReady} status={runs[current.name] ?? current.run ?? undefined} onSaved={reload} />
      ) : (
        <div className="empty-state">
          <p>Pick a pipeline, or create one.</p>
        </div>
      )}
    </div>
  );
}
