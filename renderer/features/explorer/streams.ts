// The streams of the event log, shared by every view that lists them (side panel, palette, SQL
// completion, charts, dead letters). One subscription to `onLogAppended`; refreshes are throttled
// to at most 4 a second with never more than one request in flight, however fast events arrive.
import { useEffect } from 'react';
import type { EddyError } from '../../../shared/contract';
import type { StreamStats } from '../../../shared/events';
import { engine } from '../../client/engine-client';
import { createStore, useStore } from '../../app/store';

interface StreamsState {
  list: StreamStats[] | undefined;
  error: EddyError | undefined;
  loading: boolean;
}

export const streams = createStore<StreamsState>({ list: undefined, error: undefined, loading: false });

const MIN_INTERVAL_MS = 250;
let inFlight = false;
let again = false;
let lastAt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

export function refreshStreams(): void {
  if (inFlight) {
    again = true;
    return;
  }
  const wait = lastAt + MIN_INTERVAL_MS - Date.now();
  if (wait > 0) {
    timer ??= setTimeout(() => {
      timer = undefined;
      refreshStreams();
    }, wait);
    return;
  }
  inFlight = true;
  lastAt = Date.now();
  streams.set({ loading: true });
  engine.listStreams({}).then(
    (list) => streams.set({ list, error: undefined, loading: false }),
    (error: EddyError) => streams.set({ error, loading: false }),
  ).finally(() => {
    inFlight = false;
    if (again) {
      again = false;
      refreshStreams();
    }
  });
}

/** Mount once in the shell. */
export function useStreamsFeed(engineReady: boolean): void {
  useEffect(() => engine.onLogAppended(() => refreshStreams()), []);
  useEffect(() => {
    if (engineReady) refreshStreams();
  }, [engineReady]);
}

export function useStreams(): StreamsState {
  return useStore(streams, (state) => state);
}

export { isDeadLetterStream } from './dead-letters';
