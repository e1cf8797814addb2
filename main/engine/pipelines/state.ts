// Keyed state held by a running pipeline: the committed map (restored from the last checkpoint)
// and one overlay per epoch. Operators read their own writes through the overlay; the overlay's
// writes become the checkpoint's state delta and are merged only once the checkpoint is durable,
// so a failed epoch leaves the committed state untouched.
import type { JsonValue } from '../../../shared/events.js';
import type { StateView, StateWrite } from './model.js';

const DELETED = Symbol('deleted');
type Slot = JsonValue | typeof DELETED;

export class CommittedState {
  constructor(private readonly namespaces: Map<string, Map<string, JsonValue>> = new Map()) {}

  get(namespace: string, key: string): JsonValue | undefined {
    return this.namespaces.get(namespace)?.get(key);
  }

  keys(namespace: string): string[] {
    return [...(this.namespaces.get(namespace)?.keys() ?? [])];
  }

  apply(writes: readonly StateWrite[]): void {
    for (const write of writes) {
      let space = this.namespaces.get(write.namespace);
      if (write.value === null) {
        space?.delete(write.key);
        if (space && space.size === 0) this.namespaces.delete(write.namespace);
        continue;
      }
      if (!space) this.namespaces.set(write.namespace, (space = new Map()));
      space.set(write.key, write.value);
    }
  }

  entries(): StateWrite[] {
    const writes: StateWrite[] = [];
    for (const [namespace, space] of this.namespaces) for (const [key, value] of space) writes.push({ namespace, key, value });
    return writes;
  }

  size(): number {
    let total = 0;
    for (const space of this.namespaces.values()) total += space.size;
    return total;
  }

  /** A plain snapshot for the UI and for pipeline tests. */
  toJson(): Record<string, Record<string, JsonValue>> {
    const out: Record<string, Record<string, JsonValue>> = {};
    for (const [namespace, space] of this.namespaces) out[namespace] = Object.fromEntries(space);
    return out;
  }
}

export class StateOverlay implements StateView {
  private readonly changes = new Map<string, Map<string, Slot>>();

  constructor(private readonly base: CommittedState) {}

  get(namespace: string, key: string): JsonValue | undefined {
    const slot = this.changes.get(namespace)?.get(key);
    if (slot === DELETED) return undefined;
    if (slot !== undefined) return slot;
    return this.base.get(namespace, key);
  }

  put(namespace: string, key: string, value: JsonValue): void {
    let space = this.changes.get(namespace);
    if (!space) this.changes.set(namespace, (space = new Map()));
    space.set(key, value);
  }

  delete(namespace: string, key: string): void {
    let space = this.changes.get(namespace);
    if (!space) this.changes.set(namespace, (space = new Map()));
    space.set(key, DELETED);
  }

  keys(namespace: string): string[] {
    const keys = new Set(this.base.keys(namespace));
    for (const [key, slot] of this.changes.get(namespace) ?? []) {
      if (slot === DELETED) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }

  writes(): StateWrite[] {
    const writes: StateWrite[] = [];
    for (const [namespace, space] of this.changes) {
      for (const [key, slot] of space) writes.push({ namespace, key, value: slot === DELETED ? null : slot });
    }
    return writes;
  }

  get dirty(): boolean {
    return this.changes.size > 0;
  }
}
