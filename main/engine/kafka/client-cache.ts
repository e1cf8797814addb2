// One kafkajs client per connection profile, shared by the explore views, lag samplers and
// producers of the engine: connected lazily, dropped after a connection failure (the next call
// reconnects) and closed when idle or when the engine closes. Also turns kafkajs' errors into the
// contract's typed errors with plain-words messages.
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import type { KafkaConnection } from '../../../shared/contracts/kafka.js';
import { diagnoseConnectionError, errorChain } from '../connections/diagnose.js';
import type { SecretResolver } from '../secrets.js';
import { kafkaClientFor, profileKey, resolveKafkaProfile, type KafkaClientProfile } from './client.js';
import { rawClusterOf, type RawCluster } from './cluster-access.js';

export interface KafkaHandle {
  readonly key: string;
  readonly profile: KafkaClientProfile;
  readonly kafka: Kafka;
  /** "host:port, host:port", for messages. */
  readonly target: string;
  admin(): Promise<Admin>;
  raw(): RawCluster | undefined;
  /** An idempotent producer (acks=all, Kafka's default partitioner). */
  producer(): Promise<Producer>;
}

interface Entry extends KafkaHandle {
  lastUsed: number;
  busy: number;
  /** Replaced in the cache: closed once its last user is done. */
  retired: boolean;
  close(): Promise<void>;
}

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSSASLAuthenticationError',
  'KafkaJSLockTimeout',
]);

function isConnectionError(error: unknown): boolean {
  return errorChain(error).some((current) => {
    const { name, code } = current as { name?: unknown; code?: unknown };
    return (typeof name === 'string' && CONNECTION_ERRORS.has(name)) || (typeof code === 'string' && /^(E[A-Z]+|ERR_TLS.*|ERR_SSL.*)$/.test(code));
  });
}

function kafkaType(error: unknown): string | undefined {
  for (const current of errorChain(error)) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/** A kafkajs failure as an EddyError a user can act on. */
export function toKafkaError(error: unknown, target: string, what: string): EddyError {
  if (error instanceof EddyError) return error;
  const type = kafkaType(error);
  const message = error instanceof Error ? error.message : String(error);
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return new EddyError('NOT_FOUND', `${what}: the topic or partition does not exist on ${target}.`);
  if (type === 'GROUP_ID_NOT_FOUND') return new EddyError('NOT_FOUND', `${what}: no such consumer group on ${target}.`);
  if (type === 'TOPIC_ALREADY_EXISTS') return new EddyError('CONFLICT', `${what}: the topic already exists.`);
  if (type?.endsWith('_AUTHORIZATION_FAILED')) return new EddyError('FORBIDDEN', `${what}: ${target} refused it (${type}): the connection's user lacks the permission.`);
  if (type === 'INVALID_REPLICATION_FACTOR' || type === 'INVALID_PARTITIONS' || type === 'INVALID_CONFIG' || type === 'INVALID_TOPIC_EXCEPTION') {
    return new EddyError('VALIDATION', `${what}: ${message}`);
  }
  if (isConnectionError(error)) {
    const diagnosis = diagnoseConnectionError(error, target);
    return new EddyError(diagnosis.stage === 'auth' || diagnosis.stage === 'permission' ? 'FORBIDDEN' : 'UNAVAILABLE', `${what}: ${diagnosis.message}`, { stage: diagnosis.stage });
  }
  return new EddyError('UNAVAILABLE', `${what}: ${message}`);
}

export class KafkaClientCache {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly resolveSecret: SecretResolver,
    private readonly loadProfile: (id: string) => Promise<{ kind: string }>,
    private readonly idleMs = 120_000,
  ) {
    this.timer = setInterval(() => void this.closeIdle(), Math.min(30_000, idleMs));
    this.timer.unref?.();
  }

  /**
   * Runs `work` with the connection's client; a connection failure drops the client and is reported
   * in plain words.
   *
   * "Unknown topic" is tried once more on fresh clients: kafkajs' clients remember every topic they
   * fetched metadata for and ask for all of them on each refresh, so once one of those topics is
   * deleted (by anyone), every later call that looks up another topic fails with that error,
   * naming no topic. A fresh client knows only the topics of the call at hand, so the retry fails
   * again only if one of those is really missing. Every call that can meet this error fails
   * before it changes anything (the metadata lookup comes first), so trying again is safe.
   */
  async use<T>(connection: KafkaConnection, what: string, work: (handle: KafkaHandle) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.entry(connection);
      entry.busy++;
      entry.lastUsed = Date.now();
      try {
        return await work(entry);
      } catch (error) {
        if (isConnectionError(error)) await this.drop(entry.key);
        else if (attempt === 0 && kafkaType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
          this.retire(entry);
          continue;
        }
        throw toKafkaError(error, entry.target, what);
      } finally {
        entry.busy--;
        entry.lastUsed = Date.now();
        if (entry.retired && entry.busy === 0) void entry.close();
      }
    }
  }

  /** Takes the entry out of the cache without cutting off calls still using it (closed after the last). */
  private retire(entry: Entry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    entry.retired = true;
  }

  async profile(connection: KafkaConnection): Promise<KafkaClientProfile> {
    return resolveKafkaProfile(connection, this.loadProfile);
  }

  private async entry(connection: KafkaConnection): Promise<Entry> {
    const profile = await this.profile(connection);
    const key = profileKey(profile);
    const existing = this.entries.get(key);
    if (existing) return existing;
    const kafka = await kafkaClientFor(profile, this.resolveSecret, { retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 2 } });
    let admin: Promise<Admin> | undefined;
    let producer: Promise<Producer> | undefined;
    let raw: RawCluster | undefined | null = null;
    const entry: Entry = {
      key,
      profile,
      kafka,
      target: profile.brokers.join(', '),
      lastUsed: Date.now(),
      busy: 0,
      retired: false,
      admin() {
        if (!admin) {
          const created = kafka.admin();
          admin = created.connect().then(() => created);
          admin.catch(() => (admin = undefined));
        }
        return admin;
      },
      raw() {
        if (raw === null) raw = rawClusterOf(kafka);
        return raw;
      },
      producer() {
        if (!producer) {
          const created = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
          producer = created.connect().then(() => created);
          producer.catch(() => (producer = undefined));
        }
        return producer;
      },
      async close() {
        const closing: Promise<unknown>[] = [];
        if (admin) closing.push(admin.then((client) => client.disconnect()).catch(() => undefined));
        if (producer) closing.push(producer.then((client) => client.disconnect()).catch(() => undefined));
        if (raw) closing.push(raw.disconnect());
        admin = undefined;
        producer = undefined;
        raw = null;
        await Promise.all(closing);
      },
    };
    this.entries.set(key, entry);
    return entry;
  }

  private async drop(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    await entry.close();
  }

  private async closeIdle(): Promise<void> {
    const now = Date.now();
    for (const entry of [...this.entries.values()]) {
      if (entry.busy === 0 && now - entry.lastUsed > this.idleMs) await this.drop(entry.key);
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.entries.keys()].map((key) => this.drop(key)));
  }
}
