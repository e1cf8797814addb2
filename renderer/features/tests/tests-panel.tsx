// The tests panel: the workspace's transform tests (tests/*.test.json), run one or all in the
// sandbox, with a result per test and readable diffs for failures — the same runner as `eddy test`.
import type { JSX } from 'react';
import { useCallback, useEffect, useState } from 'react';
import type { TestInfo, TestResult, TestRunReport } from '../../../shared/contracts/transforms';
import { engine } from '../../client/engine-client';
import { PreviewList } from '../transforms/preview-list';
import '../transforms/transforms.css';

export interface TestsPanelProps {
  engineReady: boolean;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function TestsPanel({ engineReady }: TestsPanelProps): JSX.Element {
  const [tests, setTests] = useState<TestInfo[]>([]);
  const [results, setResults] = useState<Map<string, TestResult>>(new Map());
  const [report, setReport] = useState<TestRunReport>();
  const [selected, setSelected] = useState<string>();
  const [running, setRunning] = useState<string | 'all' | undefined>();
  const [problem, setProblem] = useState<string>();

  const reload = useCallback(async () => {
    try {
      const list = await engine.listTests({});
      setTests(list);
      setSelected((current) => current ?? list[0]?.path);
    } catch (error) {
      setProblem(message(error));
    }
  }, []);
  useEffect(() => {
    if (engineReady) void reload();
  }, [engineReady, reload]);

  const run = async (paths: string[] | undefined): Promise<void> => {
    setRunning(paths?.length === 1 ? paths[0] : 'all');
    setProblem(undefined);
    try {
      const next = await engine.runTests({ ...(paths ? { paths } : {}), detail: true });
      setReport(next);
      setResults((current) => {
        const merged = new Map(current);
        for (const result of next.tests) merged.set(result.path, result);
        return merged;
      });
      if (!paths) await reload();
    } catch (error) {
      setProblem(message(error));
    } finally {
      setRunning(undefined);
    }
  };

  const result = selected ? results.get(selected) : undefined;
  return (
    <div className="tests-panel" data-testid="tests-panel">
      <div className="tests-toolbar">
        <button onClick={() => void run(undefined)} disabled={!engineReady || running !== undefined || tests.length === 0}>
          {running === 'all' ? 'Running…' : 'Run all'}
        </button>
        <button onClick={() => selected && void run([selected])} disabled={!engineReady || running !== undefined || !selected}>
          Run selected
        </button>
        <button onClick={() => void reload()} disabled={!engineReady}>
          Refresh
        </button>
        <span className="spacer" />
        {report ? (
          <span className="tests-summary" data-testid="tests-summary">
            <span className="ok">{report.passed} passed</span>, <span className={report.failed + report.errors ? 'danger' : undefined}>{report.failed + report.errors} failed</span> · {report.durationMs} ms
          </span>
        ) : null}
      </div>
      {problem ? (
        <div className="transforms-problem" role="alert">
          {problem}
        </div>
      ) : null}
      <div className="tests-body">
        <ul className="tests-list" aria-label="Tests">
          {tests.length === 0 ? <li className="dim test-item">No tests yet: pin sample events from the Transforms view (“Save as test…”).</li> : null}
          {tests.map((test) => {
            const status = results.get(test.path)?.status;
            return (
              <li key={test.path} className={`test-item${selected === test.path ? ' selected' : ''}`} onClick={() => setSelected(test.path)} data-test={test.path}>
                <span className={`test-status ${status ?? ''}`} aria-label={status ?? 'not run'}>
                  {status === 'passed' ? '✓' : status === 'failed' ? '✗' : status === 'error' ? '!' : '·'}
                </span>
                <span>
                  <div>{test.name}</div>
                  <div className="dim mono">{test.invalid ? `invalid: ${test.invalid}` : `${test.path} · ${test.events} event(s)`}</div>
                </span>
              </li>
            );
          })}
        </ul>
        <div className="test-result" data-testid="test-result">
          {!result ? (
            <p className="dim">{running && running === selected ? 'Running…' : 'Run the test to see its result.'}</p>
          ) : (
            <>
              <h3>
                <span className={`test-status ${result.status}`}>{result.status === 'passed' ? '✓' : '✗'}</span> {result.name}{' '}
                <span className="dim">
                  {result.status} · {result.records} event(s) · {result.outputs} output(s) · {result.durationMs} ms
                </span>
              </h3>
              {result.failures.map((failure, index) => (
                <div className="test-failure" key={index}>
                  <div>{failure.message}</div>
                  {failure.diff.length > 0 ? (
                    <pre className="test-diff mono">
                      {failure.diff.map((line, lineIndex) => (
                        <div key={lineIndex} className={line.startsWith('-') ? 'expected' : line.startsWith('+') ? 'actual' : undefined}>
                          {line}
                        </div>
                      ))}
                    </pre>
                  ) : null}
                </div>
              ))}
              {result.run ? <PreviewList records={result.run} /> : null}
            </>
          )}
        </div>
      </div>
    </div>
  );
}
