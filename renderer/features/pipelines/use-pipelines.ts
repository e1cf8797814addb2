// Live pipeline data for the panel: the workspace's pipeline files, the status of every run (pushed
// by onPipelineStatus), and a short history of each run's metrics for the charts (pushed by
// onPipelineMetrics at most 4 times a second; the charts redraw at most that often).
import { useCallback, useEffect, useRef, useState } from 'react';
import type { PipelineInfo, PipelineMetrics, RunStatus } from '../../../shared/contracts/pipelines';
import { engine } from '../../client/engine-client';

export const HISTORY = 240;

export function errorText(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

export function usePipelineFiles(engineReady: boolean): { files: PipelineInfo[]; error: string | undefined; reload: () => void } {
  const [files, setFiles] = useState<PipelineInfo[]>([]);
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listPipelines({}).then(
      (list) => {
        if (!alive) return;
        setFiles(list);
        setError(undefined);
      },
      (failure: unknown) => alive && setError(errorText(failure)),
    );
    return () => {
      alive = false;
    };
  }, [engineReady, tick]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { files, error, reload };
}

export function useRuns(engineReady: boolean): Record<string, RunStatus> {
  const [runs, setRuns] = useState<Record<string, RunStatus>>({});
  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listPipelineRuns({}).then(
      (list) => alive && setRuns((current) => ({ ...Object.fromEntries(list.map((run) => [run.pipeline, run])), ...current })),
      () => undefined,
    );
    const stop = engine.onPipelineStatus((status) => setRuns((current) => ({ ...current, [status.pipeline]: status })));
    return () => {
      alive = false;
      stop();
    };
  }, [engineReady]);
  return runs;
}

/** The metrics history of one pipeline (newest last), and the latest sample. */
export function useMetrics(engineReady: boolean, pipeline: string | undefined): { history: PipelineMetrics[]; latest: PipelineMetrics | undefined } {
  const [state, setState] = useState<{ history: PipelineMetrics[] }>({ history: [] });
  const buffer = useRef<PipelineMetrics[]>([]);
  useEffect(() => {
    buffer.current = [];
    setState({ history: [] });
    if (!engineReady || !pipeline) return;
    let alive = true;
    engine.getPipelineMetrics({ pipeline }).then(
      (metrics) => {
        if (alive && metrics && buffer.current.length === 0) {
          buffer.current = [metrics];
          setState({ history: buffer.current });
        }
      },
      () => undefined,
    );
    let scheduled: number | undefined;
    const stop = engine.onPipelineMetrics((metrics) => {
      if (metrics.pipeline !== pipeline) return;
      const next = buffer.current.length >= HISTORY ? buffer.current.slice(1) : buffer.current.slice();
      next.push(metrics);
      buffer.current = next;
      // At most 10 renders a second, whatever the engine sends.
      scheduled ??= window.setTimeout(() => {
        scheduled = undefined;
        if (alive) setState({ history: buffer.current });
      }, 100);
    });
    return () => {
      alive = false;
      stop();
      if (scheduled !== undefined) window.clearTimeout(scheduled);
    };
  }, [engineReady, pipeline]);
  return { history: state.history, latest: state.history[state.history.length - 1] };
}
