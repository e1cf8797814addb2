// React hooks over the engine client: the engine's lifecycle, and calls that refresh on demand.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EngineStatus } from '../../shared/contract';
import { EddyError } from '../../shared/contract';
import { engine } from '../client/engine-client';

export function useEngineStatus(): EngineStatus {
  const [status, setStatus] = useState<EngineStatus>({ state: 'starting', restarts: 0, at: Date.now() });
  useEffect(() => engine.onEngineStatus(setStatus), []);
  return status;
}

export interface Loadable<T> {
  data: T | undefined;
  error: EddyError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now, whenever `deps` change, and on `reload()`; keeps the last good data on error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loadable<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<EddyError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    load().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (mine !== generation.current) return;
        setError(failure instanceof EddyError ? failure : new EddyError('INTERNAL', String(failure)));
        setLoading(false);
      },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { data, error, loading, reload };
}

/**
 * One user action at a time: which one runs (`busy`: the kind given to `run`), and its failure in
 * words until the next try.
 */
export function useAction<K extends string = 'action'>(): { busy: K | undefined; error: string | undefined; run: (work: () => Promise<void>, kind?: K) => Promise<void>; clearError: () => void } {
  const [busy, setBusy] = useState<K>();
  const [error, setError] = useState<string>();
  const run = async (work: () => Promise<void>, kind = 'action' as K): Promise<void> => {
    setBusy(kind);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, error, run, clearError: () => setError(undefined) };
}
