// Small hooks and formatters shared by the Kafka views: engine calls that reload on demand, the
// engine's Kafka jobs as they progress, numbers and durations in words.
import { useCallback, useEffect, useRef, useState } from 'react';
import { EddyError, type Job } from '../../../shared/contract';
import type { KafkaConnection } from '../../../shared/contracts/kafka';
import { engine } from '../../client/engine-client';

export interface Loaded<T> {
  data: T | undefined;
  error: EddyError | undefined;
  loading: boolean;
  reload: () => void;
}

function asEddyError(failure: unknown): EddyError {
  return failure instanceof EddyError ? failure : new EddyError('INTERNAL', failure instanceof Error ? failure.message : String(failure));
}

/** Runs `load` when `key` changes and on `reload()`; keeps the last good data while reloading or after an error. */
export function useEngineLoad<T>(load: (() => Promise<T>) | undefined, key: string): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<EddyError>();
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const lastKey = useRef(key);
  useEffect(() => {
    if (lastKey.current !== key) {
      lastKey.current = key;
      setData(undefined);
    }
    if (!load) return;
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
        setError(asEddyError(failure));
        setLoading(false);
      },
    );
    // `load` is rebuilt every render; `key` says when it means something else.
  }, [key, tick]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { data, error, loading, reload };
}

const KAFKA_JOB_KINDS = new Set(['kafka-capture', 'kafka-replay', 'kafka-produce-file']);

/** The engine's Kafka jobs (captures, replays, bulk produce), newest first, live. */
export function useKafkaJobs(engineReady: boolean): Job[] {
  const [jobs, setJobs] = useState<Job[]>([]);
  useEffect(() => {
    const merge = (job: Job): void => {
      if (!KAFKA_JOB_KINDS.has(job.kind)) return;
      setJobs((current) => {
        const index = current.findIndex((item) => item.id === job.id);
        if (index < 0) return [job, ...current].slice(0, 30);
        const next = current.slice();
        next[index] = job;
        return next;
      });
    };
    const stop = engine.onJobProgress(merge);
    if (engineReady) {
      engine.listJobs({}).then(
        (list) => setJobs(list.filter((job) => KAFKA_JOB_KINDS.has(job.kind)).reverse().slice(0, 30)),
        () => undefined,
      );
    }
    return stop;
  }, [engineReady]);
  return jobs;
}

export function connectionKey(connection: KafkaConnection | undefined): string {
  return connection === undefined ? '' : typeof connection === 'string' ? `id:${connection}` : `brokers:${connection.brokers.join(',')}`;
}

export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : new Intl.NumberFormat('en').format(value);
}

export function formatRate(rate: number): string {
  if (rate >= 10_000) return `${(rate / 1000).toFixed(0)}k/s`;
  if (rate >= 1000) return `${(rate / 1000).toFixed(1)}k/s`;
  return `${Math.round(rate)}/s`;
}

/** 850 ms, 12 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** A `datetime-local` input value (local time) to epoch milliseconds. */
export function localInputToMs(value: string): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** Where a JSON text fails to parse, as "line L, column C" (for live validation in forms). */
export function jsonProblem(text: string): string | undefined {
  if (text.trim() === '') return 'The value is empty: type JSON, or switch to text.';
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const reason = messageOf(error).replace(/, ".*" is not valid JSON$/s, '');
    const match = /position (\d+)/.exec(reason);
    if (!match) return reason;
    const position = Number(match[1]);
    const before = text.slice(0, position);
    return `Line ${before.split('\n').length}, column ${position - before.lastIndexOf('\n')}: ${reason.replace(/ in JSON at position \d+.*$/s, '')}`;
  }
}

/** A position picked in a form (a kind, with an offset or a local date-time typed beside it) as the engine takes it. */
export function positionFrom<K extends string>(kind: K | 'offset' | 'timestamp', offset: string, time: string): { kind: 'offset'; offset: number } | { kind: 'timestamp'; timestamp: number } | { kind: K } {
  if (kind === 'offset') return { kind: 'offset', offset: Number(offset.trim()) };
  if (kind === 'timestamp') return { kind: 'timestamp', timestamp: localInputToMs(time) ?? 0 };
  return { kind: kind as K };
}
