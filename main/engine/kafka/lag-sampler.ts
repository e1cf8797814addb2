// Lag over time for the consumer-group chart, sampled by the engine while a view is open. Views
// hold leases: a sampler runs while at least one lease is alive (renewed every 20 s by its view;
// it lapses 60 s after the last renewal, so a closed or crashed window stops the sampling). Views of
// the same group on the same cluster share one sampler and one history (the last hour at 5 s).
import { randomUUID } from 'node:crypto';
import { EddyError } from '../../../shared/contract.js';
import type { KafkaConnection, KafkaGroupDetail, KafkaLagSample } from '../../../shared/contracts/kafka.js';
import type { Emit } from '../context.js';
import { profileKey } from './client.js';
import type { KafkaClientCache } from './client-cache.js';
import { describeGroup, lagSampleOf } from './explore.js';

export const LEASE_MS = 60_000;
const HISTORY = 720;

interface Sampler {
  key: string;
  connection: KafkaConnection;
  groupId: string;
  intervalMs: number;
  history: KafkaLagSample[];
  leases: Map<string, number>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class LagSamplers {
  private readonly samplers = new Map<string, Sampler>();
  /** History outlives a sampler (a reopened view shows the past), bounded per group. */
  private readonly histories = new Map<string, KafkaLagSample[]>();
  private readonly leaseOwner = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly clients: KafkaClientCache,
    private readonly emit: Emit,
    private readonly describe: (connection: KafkaConnection, groupId: string) => Promise<KafkaGroupDetail> = (connection, groupId) =>
      clients.use(connection, `Lag of group "${groupId}"`, async (handle) => describeGroup(await handle.admin(), handle.raw(), groupId)),
  ) {}

  async start(connection: KafkaConnection, groupId: string, intervalMs: number): Promise<{ samplerId: string; intervalMs: number; history: KafkaLagSample[] }> {
    if (this.closed) throw new EddyError('UNAVAILABLE', 'The engine is closing.');
    const key = `${profileKey(await this.clients.profile(connection))}\u0000${groupId}`;
    let sampler = this.samplers.get(key);
    if (!sampler) {
      const history = this.histories.get(key) ?? [];
      this.histories.set(key, history);
      sampler = { key, connection, groupId, intervalMs, history, leases: new Map(), timer: undefined };
      this.samplers.set(key, sampler);
      this.schedule(sampler, 0);
    } else if (intervalMs < sampler.intervalMs) {
      sampler.intervalMs = intervalMs;
    }
    const samplerId = `lag-${randomUUID()}`;
    sampler.leases.set(samplerId, Date.now() + LEASE_MS);
    this.leaseOwner.set(samplerId, key);
    return { samplerId, intervalMs: sampler.intervalMs, history: [...sampler.history] };
  }

  renew(samplerId: string): boolean {
    const sampler = this.samplers.get(this.leaseOwner.get(samplerId) ?? '');
    if (!sampler?.leases.has(samplerId)) return false;
    sampler.leases.set(samplerId, Date.now() + LEASE_MS);
    return true;
  }

  stop(samplerId: string): boolean {
    const key = this.leaseOwner.get(samplerId);
    this.leaseOwner.delete(samplerId);
    const sampler = key ? this.samplers.get(key) : undefined;
    if (!sampler?.leases.delete(samplerId)) return false;
    if (sampler.leases.size === 0) this.remove(sampler);
    return true;
  }

  private remove(sampler: Sampler): void {
    if (sampler.timer) clearTimeout(sampler.timer);
    sampler.timer = undefined;
    for (const id of sampler.leases.keys()) this.leaseOwner.delete(id);
    sampler.leases.clear();
    this.samplers.delete(sampler.key);
  }

  private schedule(sampler: Sampler, delay: number): void {
    sampler.timer = setTimeout(() => void this.tick(sampler), delay);
    sampler.timer.unref?.();
  }

  private async tick(sampler: Sampler): Promise<void> {
    sampler.timer = undefined;
    const now = Date.now();
    for (const [id, expires] of sampler.leases) {
      if (expires < now) {
        sampler.leases.delete(id);
        this.leaseOwner.delete(id);
      }
    }
    if (sampler.leases.size === 0 || this.closed) {
      this.remove(sampler);
      return;
    }
    const started = Date.now();
    let sample: KafkaLagSample;
    try {
      sample = lagSampleOf(await this.describe(sampler.connection, sampler.groupId));
    } catch (error) {
      sample = { at: Date.now(), totalLag: null, maxTimeLagMs: null, topics: [], error: error instanceof Error ? error.message : String(error) };
    }
    if (!this.samplers.has(sampler.key)) return;
    sampler.history.push(sample);
    if (sampler.history.length > HISTORY) sampler.history.splice(0, sampler.history.length - HISTORY);
    for (const samplerId of sampler.leases.keys()) this.emit('onKafkaLagSample', { samplerId, groupId: sampler.groupId, sample });
    this.schedule(sampler, Math.max(0, sampler.intervalMs - (Date.now() - started)));
  }

  /** Active samplers (for tests and diagnostics). */
  active(): { groupId: string; leases: number; samples: number }[] {
    return [...this.samplers.values()].map((sampler) => ({ groupId: sampler.groupId, leases: sampler.leases.size, samples: sampler.history.length }));
  }

  close(): void {
    this.closed = true;
    for (const sampler of [...this.samplers.values()]) this.remove(sampler);
  }
}
