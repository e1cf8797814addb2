// The pipeline's sources in the app: streams of the event log, read together in log order (seq),
// so a replay sees the records of several streams in exactly the order the live run saw them.
// Kafka topics and CDC tables reach a pipeline through the log too (a capture writes them there
// first), which is what makes every run replayable. The position is the last seq handed out.
import type { StoredEvent } from '../../../../shared/events.js';
import type { PipelineEvent, Source, SourcePosition, SourceRead } from '../model.js';
import type { LogPort } from './log-port.js';

export interface LogSourceOptions {
  /** Pipeline source id -> log stream. */
  streams: { id: string; stream: string }[];
  /** Where a run without a checkpoint starts: after this seq (0: the beginning). */
  startAfterSeq?: number;
  /** Bounded runs end at this seq (default: the log's last seq when the source opens). */
  bounded?: boolean;
  toSeq?: number;
}

const BATCH = 1000;

export function storedToPipelineEvent(event: StoredEvent): PipelineEvent {
  const out: PipelineEvent = {
    stream: event.stream,
    position: event.position,
    key: event.key,
    value: event.value,
    headers: event.headers,
    eventTime: event.eventTime,
    ingestTime: event.ingestTime,
  };
  if (event.op !== undefined) out.op = event.op;
  if (event.decodeError !== undefined) out.decodeError = event.decodeError;
  if (event.valueBytes !== undefined) out.valueBytes = event.valueBytes;
  return out;
}

export class LogSource implements Source {
  readonly id: string;
  private cursor = 0;
  private buffer: StoredEvent[] = [];
  private bufferAt = 0;
  private iterator: AsyncIterableIterator<StoredEvent[]> | undefined;
  private iteratorEnd = 0;
  private endSeq = Infinity;
  private readonly byStream = new Map<string, string[]>();
  private unsubscribe: (() => void) | undefined;
  private waiters = new Set<() => void>();
  private headSeq = 0;

  constructor(
    private readonly log: LogPort,
    private readonly options: LogSourceOptions,
  ) {
    this.id = options.streams.map((entry) => entry.id).join('+');
    for (const { id, stream } of options.streams) {
      const ids = this.byStream.get(stream) ?? [];
      ids.push(id);
      this.byStream.set(stream, ids);
    }
  }

  /** The pipeline source ids this reads, for metrics. */
  get sourceIds(): string[] {
    return this.options.streams.map((entry) => entry.id);
  }

  async open(position: SourcePosition | undefined): Promise<void> {
    const seq = position && typeof position === 'object' && !Array.isArray(position) && typeof position.seq === 'number' ? position.seq : undefined;
    this.cursor = seq ?? this.options.startAfterSeq ?? 0;
    this.endSeq = this.options.bounded ? (this.options.toSeq ?? this.log.lastSeq) : Infinity;
    this.headSeq = this.log.lastSeq;
    this.unsubscribe = this.log.onAppended((events) => {
      let mine = false;
      for (const event of events) {
        if (this.byStream.has(event.stream)) mine = true;
        if (event.seq > this.headSeq) this.headSeq = event.seq;
      }
      if (mine) for (const wake of this.waiters) wake();
    });
  }

  async read(max: number, until?: SourcePosition): Promise<SourceRead> {
    const limit = Math.min(this.endSeq, untilSeq(until) ?? Infinity);
    const out: SourceRead = { events: [] };
    while (out.events.length < max) {
      if (this.bufferAt >= this.buffer.length) {
        if (this.cursor >= limit) break;
        const batch = await this.next(limit);
        if (batch.length === 0) break;
        this.buffer = batch;
        this.bufferAt = 0;
      }
      const event = this.buffer[this.bufferAt]!;
      if (event.seq > limit) {
        this.buffer = [];
        this.bufferAt = 0;
        this.dropIterator();
        break;
      }
      this.bufferAt++;
      this.cursor = event.seq;
      const ids = this.byStream.get(event.stream);
      if (!ids) continue;
      // A stored event already has every field of a pipeline event: no copy per record.
      for (const id of ids) out.events.push({ event, origin: { source: id, stream: event.stream, position: event.position, seq: event.seq } });
    }
    return out;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  position(): SourcePosition | undefined {
    return { seq: this.cursor };
  }

  reached(until: SourcePosition): boolean {
    const seq = untilSeq(until);
    return seq === undefined || this.cursor >= seq;
  }

  exhausted(): boolean {
    return this.cursor >= this.endSeq || (this.options.bounded === true && this.bufferAt >= this.buffer.length && this.cursor >= Math.min(this.endSeq, this.log.lastSeq));
  }

  async ack(): Promise<void> {}

  async lag(): Promise<number | null> {
    // Sequence numbers are shared by every stream: this is an upper bound on records behind.
    return Math.max(0, Math.min(this.endSeq, Math.max(this.headSeq, this.log.lastSeq)) - this.cursor);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.dropIterator();
    for (const wake of this.waiters) wake();
  }

  private async next(limit: number): Promise<StoredEvent[]> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.iterator) {
        if (this.cursor >= Math.min(limit, this.log.lastSeq)) return [];
        this.iteratorEnd = Math.min(limit, this.log.lastSeq);
        this.iterator = this.log.replay({ streams: [...this.byStream.keys()], from: { afterSeq: this.cursor }, toSeq: this.iteratorEnd, batchSize: BATCH });
      }
      const result = await this.iterator.next();
      if (!result.done && result.value.length > 0) return result.value;
      // This replay reached the end it was created with; a new one sees what was appended since.
      this.dropIterator();
      this.cursor = Math.max(this.cursor, this.iteratorEnd);
    }
    return [];
  }

  private dropIterator(): void {
    void this.iterator?.return?.();
    this.iterator = undefined;
  }
}

function untilSeq(until: SourcePosition | undefined): number | undefined {
  if (until && typeof until === 'object' && !Array.isArray(until) && typeof until.seq === 'number') return until.seq;
  return undefined;
}
