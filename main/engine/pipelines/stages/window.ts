// Event-time windows (tumbling, hopping, session) with a bounded-out-of-orderness watermark and
// allowed lateness. Semantics, chosen to match what Flink and Kafka Streams users expect:
//
// - The watermark W is the highest event time this stage has seen minus `maxOutOfOrder`: no event
//   older than W is expected any more. It only moves forward, after each event.
// - A window [start, end) fires once W >= end: its result is emitted (`final: true`).
// - An event arriving for a window that already fired, while W < end + allowedLateness, updates it
//   and the result is emitted again (`updates` counts the re-emissions; sinks upsert by key+start).
// - An event whose every window has W >= end + allowedLateness is too late: it goes to the
//   `<stage>.late` side output untouched, and no window changes.
// - At the end of a bounded input (replay, test) every open window fires.
//
// State lives in the keyed store (namespace `window:<stage>`), so it is checkpointed with
// everything else and restored after a crash.
import type { JsonValue } from '../../../../shared/events.js';
import { durationMs, type AggregateSpec, type StageSpec } from '../../../../shared/pipeline-spec.js';
import type { Envelope, Operator, OperatorContext, OperatorResult, StageError, StateView } from '../model.js';
import { keyText, readPath } from '../paths.js';

type WindowStage = Extract<StageSpec, { kind: 'window' }>;

interface Accumulator {
  count: number;
  /** Per output field: running value (sum, min, max, first/last with its time, avg as [sum, n]). */
  fields: Record<string, JsonValue>;
}

interface OpenWindow {
  start: number;
  end: number;
  acc: Accumulator;
  fired: boolean;
  emissions: number;
}

interface KeyWindows {
  key: JsonValue;
  windows: OpenWindow[];
}

const WINDOW_NAMESPACE = (stage: string): string => `window:${stage}`;
const META_NAMESPACE = (stage: string): string => `stage:${stage}`;

export class WindowOperator implements Operator {
  readonly kind = 'window';
  private readonly size: number;
  private readonly advance: number;
  private readonly gap: number;
  private readonly lateness: number;
  private readonly delay: number;
  /** When each key next needs attention (a window to fire or purge): a min-heap with lazy deletes. */
  private schedule: Map<string, number> | undefined;
  private readonly heap: [number, string][] = [];

  constructor(
    private readonly spec: WindowStage,
    private readonly pipeline: string,
  ) {
    const window = spec.window;
    this.size = window.type === 'session' ? 0 : durationMs(window.size);
    this.advance = window.type === 'hopping' ? durationMs(window.advance) : this.size;
    this.gap = window.type === 'session' ? durationMs(window.gap) : 0;
    this.lateness = durationMs(spec.allowedLateness);
    this.delay = durationMs(spec.watermark.maxOutOfOrder);
    if (window.type !== 'session' && (this.size <= 0 || this.advance <= 0)) throw new Error(`Window stage "${spec.id}": size and advance must be positive.`);
    if (window.type === 'session' && this.gap <= 0) throw new Error(`Window stage "${spec.id}": the session gap must be positive.`);
  }

  get id(): string {
    return this.spec.id;
  }

  watermark(context: OperatorContext): number | null {
    const maxSeen = this.maxSeen(context.state);
    return maxSeen === undefined ? null : maxSeen - this.delay;
  }

  async process(inputs: Envelope[], context: OperatorContext): Promise<OperatorResult> {
    const result: OperatorResult = { outputs: [], late: [], deadLetters: [] };
    const touched = new Map<string, KeyWindows>();
    const load = (text: string): KeyWindows | undefined => {
      let entry = touched.get(text);
      if (entry) return entry;
      const stored = context.state.get(WINDOW_NAMESPACE(this.id), text);
      if (stored === undefined) return undefined;
      entry = JSON.parse(JSON.stringify(stored)) as unknown as KeyWindows;
      touched.set(text, entry);
      return entry;
    };
    let maxSeen = this.maxSeen(context.state);
    for (const envelope of inputs) {
      const event = envelope.event;
      const watermark = maxSeen === undefined ? -Infinity : maxSeen - this.delay;
      const groupKey = readPath(event, this.spec.key) ?? null;
      const text = keyText(groupKey);
      let values: Record<string, JsonValue>;
      try {
        values = this.extract(envelope);
      } catch (error) {
        result.deadLetters.push({ envelope, error: error as StageError, attempts: 1 });
        continue;
      }
      const time = event.eventTime;
      const changed: OpenWindow[] = [];
      let entry = load(text);
      if (this.spec.window.type === 'session') {
        if (watermark >= time + this.gap + this.lateness) {
          result.late!.push(envelope);
          continue;
        }
        if (!entry) touched.set(text, (entry = { key: groupKey, windows: [] }));
        changed.push(this.addToSession(entry, time, values));
      } else {
        const starts = this.windowStarts(time).filter((start) => watermark < start + this.size + this.lateness);
        if (starts.length === 0) {
          result.late!.push(envelope);
          continue;
        }
        if (!entry) touched.set(text, (entry = { key: groupKey, windows: [] }));
        for (const start of starts) {
          let window = entry.windows.find((candidate) => candidate.start === start);
          if (!window) {
            window = { start, end: start + this.size, acc: { count: 0, fields: {} }, fired: false, emissions: 0 };
            entry.windows.push(window);
            entry.windows.sort((a, b) => a.start - b.start);
          }
          this.accumulate(window.acc, time, values);
          changed.push(window);
        }
      }
      // Late but allowed: a window the watermark already passed emits at once (an update when it
      // had fired before, its first result when this is its first event).
      for (const window of changed) {
        if (window.fired) result.outputs.push(this.emit(entry, window, envelope, context, false));
        else if (watermark >= window.end) {
          window.fired = true;
          result.outputs.push(this.emit(entry, window, envelope, context, true));
        }
      }
      this.ensureSchedule(context.state);
      this.reschedule(text, entry);
      if (maxSeen === undefined || time > maxSeen) {
        maxSeen = time;
        this.fire(maxSeen - this.delay, envelope, context, touched, load, result);
      }
    }
    if (maxSeen !== undefined) context.state.put(META_NAMESPACE(this.id), 'watermark', { maxSeen });
    for (const [text, entry] of touched) {
      if (entry.windows.length === 0) context.state.delete(WINDOW_NAMESPACE(this.id), text);
      else context.state.put(WINDOW_NAMESPACE(this.id), text, entry as unknown as JsonValue);
    }
    if (context.trace && maxSeen !== undefined) context.trace({ stage: this.id, kind: 'watermark', detail: { watermark: maxSeen - this.delay } });
    return result;
  }

  async finish(context: OperatorContext): Promise<OperatorResult> {
    const result: OperatorResult = { outputs: [], late: [], deadLetters: [] };
    const touched = new Map<string, KeyWindows>();
    const load = (text: string): KeyWindows | undefined => {
      let entry = touched.get(text);
      if (entry) return entry;
      const stored = context.state.get(WINDOW_NAMESPACE(this.id), text);
      if (stored === undefined) return undefined;
      entry = JSON.parse(JSON.stringify(stored)) as unknown as KeyWindows;
      touched.set(text, entry);
      return entry;
    };
    const origin = { source: this.id, stream: `${this.pipeline}:${this.id}`, position: `${this.id}:end-of-input` };
    const trigger: Envelope = {
      event: { stream: origin.stream, position: origin.position, key: null, value: null, headers: [], eventTime: Number.MAX_SAFE_INTEGER, ingestTime: context.now() },
      origin,
      order: Number.MAX_SAFE_INTEGER,
      lineage: 'end',
    };
    this.fire(Infinity, trigger, context, touched, load, result, true);
    for (const [text, entry] of touched) {
      if (entry.windows.length === 0) context.state.delete(WINDOW_NAMESPACE(this.id), text);
      else context.state.put(WINDOW_NAMESPACE(this.id), text, entry as unknown as JsonValue);
    }
    return result;
  }

  /** Fires every window whose end the watermark passed, oldest end first, and purges expired ones. */
  private fire(
    watermark: number,
    trigger: Envelope,
    context: OperatorContext,
    touched: Map<string, KeyWindows>,
    load: (text: string) => KeyWindows | undefined,
    result: OperatorResult,
    endOfInput = false,
  ): void {
    const due: { text: string; entry: KeyWindows; window: OpenWindow }[] = [];
    this.ensureSchedule(context.state);
    if (endOfInput) {
      for (const text of context.state.keys(WINDOW_NAMESPACE(this.id))) load(text);
    } else {
      while (this.heap.length > 0 && this.heap[0]![0] <= watermark) {
        const [time, text] = this.pop();
        if (this.schedule!.get(text) !== time) continue;
        this.schedule!.delete(text);
        load(text);
      }
    }
    for (const [text, entry] of touched) {
      for (const window of entry.windows) if (!window.fired && watermark >= window.end) due.push({ text, entry, window });
    }
    due.sort((a, b) => a.window.end - b.window.end || a.window.start - b.window.start || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    for (const { entry, window } of due) {
      window.fired = true;
      result.outputs.push(this.emit(entry, window, trigger, context, true));
    }
    for (const [text, entry] of touched) {
      entry.windows = entry.windows.filter((window) => !(window.fired && (endOfInput || watermark >= window.end + this.lateness)));
      this.reschedule(text, entry);
    }
  }

  private ensureSchedule(state: StateView): void {
    if (this.schedule) return;
    this.schedule = new Map();
    for (const text of state.keys(WINDOW_NAMESPACE(this.id))) {
      const entry = state.get(WINDOW_NAMESPACE(this.id), text) as unknown as KeyWindows | undefined;
      if (entry) this.reschedule(text, entry);
    }
  }

  private reschedule(text: string, entry: KeyWindows): void {
    if (!this.schedule) return;
    let next = Infinity;
    for (const window of entry.windows) next = Math.min(next, window.fired ? window.end + this.lateness : window.end);
    if (next === Infinity) {
      this.schedule.delete(text);
      return;
    }
    if (this.schedule.get(text) === next) return;
    this.schedule.set(text, next);
    this.push([next, text]);
  }

  private push(item: [number, string]): void {
    const heap = this.heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]![0] <= item[0]) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = item;
  }

  private pop(): [number, string] {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]![0] < heap[left]![0] ? right : left;
        if (heap[child]![0] >= last[0]) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }

  private emit(entry: KeyWindows, window: OpenWindow, trigger: Envelope, context: OperatorContext, final: boolean): Envelope {
    const emission = window.emissions++;
    const value: Record<string, JsonValue> = {
      key: entry.key,
      windowStart: window.start,
      windowEnd: window.end,
      ...this.results(window.acc),
      final,
      updates: emission,
    };
    return {
      event: {
        stream: `${this.pipeline}:${this.id}`,
        position: `${this.id}:${keyText(entry.key)}:${window.start}`,
        key: entry.key,
        value,
        headers: [],
        eventTime: window.end - 1,
        ingestTime: context.now(),
      },
      origin: trigger.origin,
      order: trigger.order,
      lineage: `${trigger.lineage}/${this.id}@${keyText(entry.key)}:${window.start}#${emission}`,
    };
  }

  private windowStarts(time: number): number[] {
    const last = Math.floor(time / this.advance) * this.advance;
    const starts: number[] = [];
    for (let start = last; start > time - this.size; start -= this.advance) starts.unshift(start);
    return starts;
  }

  private addToSession(entry: KeyWindows, time: number, values: Record<string, JsonValue>): OpenWindow {
    let start = time;
    let end = time + this.gap;
    const acc: Accumulator = { count: 0, fields: {} };
    this.accumulate(acc, time, values);
    let fired = false;
    let emissions = 0;
    const keep: OpenWindow[] = [];
    for (const session of entry.windows) {
      if (session.start < end && start < session.end) {
        start = Math.min(start, session.start);
        end = Math.max(end, session.end);
        this.merge(acc, session.acc);
        fired ||= session.fired;
        emissions = Math.max(emissions, session.emissions);
      } else {
        keep.push(session);
      }
    }
    const merged: OpenWindow = { start, end, acc, fired, emissions };
    keep.push(merged);
    keep.sort((a, b) => a.start - b.start);
    entry.windows = keep;
    return merged;
  }

  private extract(envelope: Envelope): Record<string, JsonValue> {
    const values: Record<string, JsonValue> = {};
    for (const [name, aggregate] of Object.entries(this.spec.aggregate)) {
      if (aggregate.fn === 'count') continue;
      const raw = readPath(envelope.event, aggregate.field);
      if (raw === undefined || raw === null) continue;
      if (aggregate.fn === 'first' || aggregate.fn === 'last') {
        values[name] = raw;
        continue;
      }
      const number = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(number)) {
        throw { name: 'WindowAggregateError', message: `${aggregate.fn}(${aggregate.field}): ${JSON.stringify(raw)} is not a number.` } satisfies StageError;
      }
      values[name] = number;
    }
    return values;
  }

  private accumulate(acc: Accumulator, time: number, values: Record<string, JsonValue>): void {
    acc.count++;
    for (const [name, aggregate] of Object.entries(this.spec.aggregate)) {
      if (aggregate.fn === 'count') continue;
      const value = values[name];
      if (value === undefined) continue;
      acc.fields[name] = combine(aggregate, acc.fields[name], aggregate.fn === 'first' || aggregate.fn === 'last' ? [time, value] : value);
    }
  }

  private merge(into: Accumulator, from: Accumulator): void {
    into.count += from.count;
    for (const [name, aggregate] of Object.entries(this.spec.aggregate)) {
      if (aggregate.fn === 'count' || from.fields[name] === undefined) continue;
      if (aggregate.fn === 'avg') {
        const [sum, n] = from.fields[name] as [number, number];
        const current = (into.fields[name] as [number, number] | undefined) ?? [0, 0];
        into.fields[name] = [current[0] + sum, current[1] + n];
      } else {
        into.fields[name] = combine(aggregate, into.fields[name], from.fields[name]!);
      }
    }
  }

  private results(acc: Accumulator): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    for (const [name, aggregate] of Object.entries(this.spec.aggregate)) {
      const value = acc.fields[name];
      switch (aggregate.fn) {
        case 'count':
          out[name] = acc.count;
          break;
        case 'avg': {
          const pair = value as [number, number] | undefined;
          out[name] = pair && pair[1] > 0 ? pair[0] / pair[1] : null;
          break;
        }
        case 'first':
        case 'last':
          out[name] = value === undefined ? null : (value as [number, JsonValue])[1];
          break;
        default:
          out[name] = value === undefined ? null : value;
      }
    }
    return out;
  }

  private maxSeen(state: StateView): number | undefined {
    const meta = state.get(META_NAMESPACE(this.id), 'watermark') as { maxSeen: number } | undefined;
    return meta?.maxSeen;
  }
}

function combine(aggregate: Exclude<AggregateSpec, { fn: 'count' }>, current: JsonValue | undefined, next: JsonValue): JsonValue {
  switch (aggregate.fn) {
    case 'sum':
      return ((current as number | undefined) ?? 0) + (next as number);
    case 'min':
      return current === undefined ? next : Math.min(current as number, next as number);
    case 'max':
      return current === undefined ? next : Math.max(current as number, next as number);
    case 'avg': {
      const pair = (current as [number, number] | undefined) ?? [0, 0];
      return [pair[0] + (next as number), pair[1] + 1];
    }
    case 'first': {
      // [time, value]: the earliest event time wins; on a tie the first to arrive.
      if (current === undefined) return next;
      return (next as [number, JsonValue])[0] < (current as [number, JsonValue])[0] ? next : current;
    }
    case 'last': {
      if (current === undefined) return next;
      return (next as [number, JsonValue])[0] >= (current as [number, JsonValue])[0] ? next : current;
    }
  }
}
