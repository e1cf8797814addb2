// Exploring a real cluster: topics with partitions, watermarks, message counts and configs;
// consumer-group lag and time lag checked against what kcat reports; lag sampling over time;
// "test connection" in plain words for a refused port and a bad host name.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, Message } from 'kafkajs';
import { testKafkaConnection } from '../../main/engine/kafka/client.js';
import { findKafka } from '../support/services.js';
import { createTopic, deleteTopics, produceAll, sleep, startTestEngine, testKafka, uniqueTopic, type TestEngine } from './kafka-helpers.js';

const run = promisify(execFile);
const brokers = await findKafka();
const noSecrets = async (): Promise<string> => {
  throw new Error('no secrets in this test');
};

async function kcatAvailable(): Promise<boolean> {
  try {
    await run('kcat', ['-V']);
    return true;
  } catch {
    return false;
  }
}

// kcat is the reference for lag (Debian package `kcat`): CI must have it; a laptop may skip.
const hasKcat = await kcatAvailable();
if (!hasKcat) {
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') throw new Error('kcat is required when CI is set (apt-get install kcat).');
  process.stderr.write('[skip] kcat not found: the lag comparison is skipped; apt-get install kcat\n');
}

describe.runIf(brokers)('kafka explore', () => {
  const kafka = testKafka(brokers ?? []);
  const connection = { brokers: brokers ?? [] };
  const topic = uniqueTopic('explore');
  const groupId = `eddy-test-group-${topic}`;
  const counts = [100, 150, 200];
  const committed = [40, 150, 10];
  const now = Date.now();
  let engine: TestEngine;
  let member: Consumer | undefined;

  beforeAll(async () => {
    engine = await startTestEngine();
    await createTopic(kafka, topic, 3, [{ name: 'retention.ms', value: '86400000' }]);
    const messages: Message[] = [];
    counts.forEach((count, partition) => {
      // Timestamps one second apart, the last one 10 s ago.
      for (let index = 0; index < count; index++) messages.push({ partition, key: `p${partition}-${index}`, value: JSON.stringify({ index }), timestamp: String(now - 10_000 - (count - 1 - index) * 1000) });
    });
    await produceAll(kafka, topic, messages);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: committed.map((offset, partition) => ({ partition, offset: String(offset) })) });
    await admin.disconnect();
  });

  afterAll(async () => {
    await member?.disconnect().catch(() => undefined);
    await engine?.close();
    await deleteTopics(kafka, [topic]);
  });

  it('lists topics with partitions and message counts, and describes one with watermarks and configs', async () => {
    const cluster = await engine.call('listKafkaTopics', { connection });
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    const summary = cluster.topics.find((entry) => entry.name === topic);
    expect(summary).toMatchObject({ partitions: 3, replicationFactor: 1, internal: false, underReplicated: 0, messages: 450 });
    expect(cluster.topics.some((entry) => entry.name === '__consumer_offsets')).toBe(false);
    expect((await engine.call('listKafkaTopics', { connection, includeInternal: true })).topics.some((entry) => entry.name === '__consumer_offsets')).toBe(true);

    const detail = await engine.call('describeKafkaTopic', { connection, topic });
    expect(detail.messages).toBe(450);
    expect(detail.partitions.map((entry) => [entry.partition, entry.low, entry.high, entry.messages, entry.leader])).toEqual([
      [0, 0, 100, 100, cluster.brokers[0]!.nodeId],
      [1, 0, 150, 150, cluster.brokers[0]!.nodeId],
      [2, 0, 200, 200, cluster.brokers[0]!.nodeId],
    ]);
    expect(detail.configs.find((entry) => entry.name === 'retention.ms')).toMatchObject({ value: '86400000', isDefault: false, source: 'topic' });
    expect(detail.configs.find((entry) => entry.name === 'cleanup.policy')).toMatchObject({ value: 'delete' });

    await expect(engine.call('describeKafkaTopic', { connection, topic: 'eddy-test-missing-topic' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.runIf(hasKcat)('reports per-partition lag and time lag that match kcat', async () => {
    // An active member that reads nothing: the group is Stable with an assignment, offsets unchanged.
    member = kafka.consumer({ groupId });
    await member.connect();
    await member.subscribe({ topic });
    let joined = false;
    member.on(member.events.GROUP_JOIN, () => (joined = true));
    await member.run({ autoCommit: false, eachBatch: async ({ pause }) => void pause() });
    for (let waited = 0; !joined && waited < 30_000; waited += 100) await sleep(100);

    const detail = await engine.call('describeKafkaGroup', { connection, groupId });
    expect(detail.state).toBe('Stable');
    expect(detail.members).toHaveLength(1);
    expect(detail.members[0]!.assignments).toEqual([{ topic, partitions: [0, 1, 2] }]);

    const broker = (brokers ?? []).join(',');
    const { stdout: ends } = await run('kcat', ['-b', broker, '-Q', ...[0, 1, 2].flatMap((partition) => ['-t', `${topic}:${partition}:-1`])]);
    const kcatEnd = new Map<number, number>();
    for (const match of ends.matchAll(/\[(\d+)\] offset (\d+)/g)) kcatEnd.set(Number(match[1]), Number(match[2]));
    expect(kcatEnd.size).toBe(3);

    for (const row of detail.partitions) {
      expect(row.topic).toBe(topic);
      expect(row.memberId).toBe(detail.members[0]!.memberId);
      expect(row.committedOffset).toBe(committed[row.partition]);
      expect(row.logEndOffset).toBe(kcatEnd.get(row.partition));
      expect(row.lag).toBe(kcatEnd.get(row.partition)! - committed[row.partition]!);
      if (row.lag! > 0) {
        // The record the group reads next, as kcat sees it.
        const { stdout } = await run('kcat', ['-b', broker, '-C', '-t', topic, '-p', String(row.partition), '-o', String(row.committedOffset), '-c', '1', '-e', '-f', '%T\n']);
        const timestamp = Number(stdout.trim());
        expect(row.nextRecordTime).toBe(timestamp);
        expect(row.timeLagMs).toBe(detail.at - timestamp);
      } else {
        expect(row.timeLagMs).toBe(0);
      }
    }
    expect(detail.totalLag).toBe(60 + 0 + 190);
    expect(detail.maxTimeLagMs).toBe(Math.max(...detail.partitions.map((row) => row.timeLagMs ?? 0)));
    // Partition 2 is 190 records behind: its next record was written 199 s before the last one.
    expect(detail.maxTimeLagMs).toBeGreaterThanOrEqual(10_000 + 189_000);

    const groups = await engine.call('listKafkaGroups', { connection });
    expect(groups.groups.find((group) => group.groupId === groupId)).toMatchObject({ state: 'Stable', members: 1, totalLag: 250, protocolType: 'consumer' });
    await expect(engine.call('describeKafkaGroup', { connection, groupId: 'eddy-test-no-such-group' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('resets an empty group\'s offsets to earliest, an offset, a time and latest, deletes it, and refuses both while a group has members', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const own = `${groupId}-admin`;
    const committedNow = async (): Promise<number[]> =>
      ((await admin.fetchOffsets({ groupId: own, topics: [topic] }))[0]?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.offset));
    try {
      await admin.setOffsets({ groupId: own, topic, partitions: [10, 20, 30].map((offset, partition) => ({ partition, offset: String(offset) })) });
      const earliest = await engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, to: { kind: 'earliest' } });
      expect(earliest.partitions).toEqual([
        { partition: 0, from: 10, to: 0 },
        { partition: 1, from: 20, to: 0 },
        { partition: 2, from: 30, to: 0 },
      ]);
      expect(await committedNow()).toEqual([0, 0, 0]);
      const oneOffset = await engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, partitions: [1], to: { kind: 'offset', offset: 120 } });
      expect(oneOffset.partitions).toEqual([{ partition: 1, from: 0, to: 120 }]);
      // Past the end is the end.
      expect((await engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, partitions: [0], to: { kind: 'offset', offset: 1000 } })).partitions).toEqual([{ partition: 0, from: 0, to: 100 }]);
      // The first record at or after the time: partition 2's record 194 was written 15 s before `now`.
      expect((await engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, partitions: [2], to: { kind: 'timestamp', timestamp: now - 15_000 } })).partitions).toEqual([{ partition: 2, from: 0, to: 194 }]);
      expect(await committedNow()).toEqual([100, 120, 194]);
      await engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, to: { kind: 'latest' } });
      expect(await committedNow()).toEqual(counts);
      await expect(engine.call('resetKafkaGroupOffsets', { connection, groupId: own, topic, partitions: [9], to: { kind: 'latest' } })).rejects.toMatchObject({ code: 'NOT_FOUND' });

      expect(await engine.call('deleteKafkaGroup', { connection, groupId: own })).toEqual({ deleted: true });
      expect((await admin.listGroups()).groups.map((group) => group.groupId)).not.toContain(own);
      await expect(engine.call('deleteKafkaGroup', { connection, groupId: own })).rejects.toMatchObject({ code: 'NOT_FOUND' });

      // The lag test's group has an active member: Kafka would refuse, Eddy says why first.
      if (member) {
        const busy = { code: 'CONFLICT', message: expect.stringMatching(/1 active member.*Stop its consumers first/) };
        await expect(engine.call('resetKafkaGroupOffsets', { connection, groupId, topic, to: { kind: 'earliest' } })).rejects.toMatchObject(busy);
        await expect(engine.call('deleteKafkaGroup', { connection, groupId })).rejects.toMatchObject(busy);
      }
    } finally {
      await admin.deleteGroups([own]).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('peeks at messages without a group and without storing them: newest first, or forward from the oldest, an offset or a time', async () => {
    const keys = (messages: { key: unknown }[]): unknown[] => messages.map((message) => message.key);
    const newest = await engine.call('peekKafkaTopic', { connection, topic, limit: 6 });
    expect(newest.messages).toHaveLength(6);
    expect(new Set(keys(newest.messages))).toEqual(new Set(['p0-98', 'p0-99', 'p1-148', 'p1-149', 'p2-198', 'p2-199']));
    const times = newest.messages.map((message) => message.timestamp);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(newest.messages.find((message) => message.key === 'p1-149')).toMatchObject({ partition: 1, offset: 149, value: { index: 149 }, timestamp: now - 10_000 });

    const oldest = await engine.call('peekKafkaTopic', { connection, topic, partitions: [1], start: { kind: 'oldest' }, limit: 3 });
    expect(oldest.messages.map((message) => [message.partition, message.offset, message.key])).toEqual([
      [1, 0, 'p1-0'],
      [1, 1, 'p1-1'],
      [1, 2, 'p1-2'],
    ]);
    const fromOffset = await engine.call('peekKafkaTopic', { connection, topic, partitions: [1], start: { kind: 'offset', offset: 120 }, limit: 5 });
    expect(fromOffset.messages.map((message) => message.offset)).toEqual([120, 121, 122, 123, 124]);
    const fromTime = await engine.call('peekKafkaTopic', { connection, topic, partitions: [2], start: { kind: 'timestamp', timestamp: now - 15_000 }, limit: 3 });
    expect(keys(fromTime.messages)).toEqual(['p2-194', 'p2-195', 'p2-196']);
    await expect(engine.call('peekKafkaTopic', { connection, topic, partitions: [7] })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Decoded as a capture would store them: text and bytes with their notes, Debezium envelopes with their op.
    const mixed = uniqueTopic('peek-mixed');
    await createTopic(kafka, mixed, 1);
    try {
      await produceAll(kafka, mixed, [
        { key: 'bin', value: Buffer.from([0xff, 0x00, 0xfe]) },
        { key: 'text', value: 'plain words' },
        { key: 'cdc', value: JSON.stringify({ before: null, after: { id: 1 }, op: 'c', source: { connector: 'postgresql' } }) },
      ]);
      const peeked = await engine.call('peekKafkaTopic', { connection, topic: mixed, start: { kind: 'oldest' } });
      expect(peeked.messages.map((message) => message.key)).toEqual(['bin', 'text', 'cdc']);
      expect(peeked.messages[0]).toMatchObject({ value: null, valueBytes: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), decodeError: expect.stringMatching(/bytes/) });
      expect(peeked.messages[1]).toMatchObject({ value: 'plain words', decodeError: expect.stringMatching(/text/i) });
      expect(peeked.messages[2]).toMatchObject({ op: 'c', value: { after: { id: 1 } } });
      // Nothing was stored and no group was left behind.
      expect((await engine.call('listStreams', {})).some((stream) => stream.stream === `kafka:${mixed}`)).toBe(false);
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect((await admin.listGroups()).groups.filter((group) => group.groupId.includes(mixed))).toEqual([]);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await deleteTopics(kafka, [mixed]);
    }
  });

  it('changes a topic: sets and resets configs keeping the other overrides, adds partitions, deletes it; refuses internal topics', async () => {
    const target = uniqueTopic('change');
    await createTopic(kafka, target, 1, [
      { name: 'retention.ms', value: '3600000' },
      { name: 'max.message.bytes', value: '2000000' },
    ]);
    const overrides = (detail: { configs: { name: string; value: string | null; source: string }[] }): Record<string, string | null> =>
      Object.fromEntries(detail.configs.filter((entry) => entry.source === 'topic').map((entry) => [entry.name, entry.value]));
    try {
      // Set one, leave the other: AlterConfigs replaces all overrides, so the untouched one must be sent back.
      let detail = await engine.call('alterKafkaTopicConfigs', { connection, topic: target, set: { 'cleanup.policy': 'compact' } });
      expect(overrides(detail)).toEqual({ 'retention.ms': '3600000', 'max.message.bytes': '2000000', 'cleanup.policy': 'compact' });
      detail = await engine.call('alterKafkaTopicConfigs', { connection, topic: target, set: { 'retention.ms': '7200000' }, reset: ['max.message.bytes'] });
      expect(overrides(detail)).toEqual({ 'retention.ms': '7200000', 'cleanup.policy': 'compact' });
      // What another client reads from the broker agrees.
      const admin = kafka.admin();
      await admin.connect();
      try {
        const described = await admin.describeConfigs({ resources: [{ type: 2, name: target }], includeSynonyms: false });
        const entries = described.resources[0]!.configEntries;
        expect(entries.find((entry) => entry.configName === 'retention.ms')?.configValue).toBe('7200000');
        expect(entries.find((entry) => entry.configName === 'max.message.bytes')?.isDefault).toBe(true);
      } finally {
        await admin.disconnect();
      }
      await expect(engine.call('alterKafkaTopicConfigs', { connection, topic: target, set: { 'retention.ms': 'soon' } })).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/refused retention\.ms = "soon"/) });
      await expect(engine.call('alterKafkaTopicConfigs', { connection, topic: target, set: { 'no.such.config': '1' } })).rejects.toThrow(/not a topic config/);
      expect(overrides(await engine.call('describeKafkaTopic', { connection, topic: target }))).toEqual({ 'retention.ms': '7200000', 'cleanup.policy': 'compact' });

      expect((await engine.call('addKafkaPartitions', { connection, topic: target, partitions: 3 })).partitions.map((entry) => entry.partition)).toEqual([0, 1, 2]);
      await expect(engine.call('addKafkaPartitions', { connection, topic: target, partitions: 2 })).rejects.toThrow(/has 3 partition\(s\)/);

      await expect(engine.call('deleteKafkaTopic', { connection, topic: '__consumer_offsets' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await engine.call('deleteKafkaTopic', { connection, topic: target })).toEqual({ deleted: true });
      const admin2 = kafka.admin();
      await admin2.connect();
      try {
        expect(await admin2.listTopics()).not.toContain(target);
      } finally {
        await admin2.disconnect();
      }
      await expect(engine.call('deleteKafkaTopic', { connection, topic: target })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await deleteTopics(kafka, [target]).catch(() => undefined);
    }
  });

  it('keeps working after a topic it has seen is deleted behind its back', async () => {
    // The engine's cached clients remember every topic they fetched metadata for; kafkajs asks for
    // all of them on each refresh, and one deleted elsewhere made every later call fail.
    const gone = uniqueTopic('gone');
    const other = uniqueTopic('other');
    await createTopic(kafka, gone, 1);
    await createTopic(kafka, other, 1);
    try {
      await engine.call('describeKafkaTopic', { connection, topic: gone });
      await engine.call('produceKafkaMessage', { connection, topic: gone, value: '{"a":1}' });
      await deleteTopics(kafka, [gone]);
      const detail = await engine.call('describeKafkaTopic', { connection, topic: other });
      expect(detail.partitions).toHaveLength(1);
      await engine.call('produceKafkaMessage', { connection, topic: other, value: '{"b":2}' });
      expect((await engine.call('describeKafkaTopic', { connection, topic: other })).messages).toBe(1);
      const lag = await engine.call('describeKafkaGroup', { connection, groupId });
      expect(lag.partitions.length).toBeGreaterThan(0);
      await expect(engine.call('describeKafkaTopic', { connection, topic: gone })).rejects.toThrow(/does not exist|No topic/);
    } finally {
      await deleteTopics(kafka, [other]);
    }
  });

  it('samples lag over time while leased, and stops when asked', async () => {
    const samples: { samplerId: string; sample: { totalLag: number | null; at: number } }[] = [];
    const stopListening = engine.on('onKafkaLagSample', (payload) => samples.push(payload));
    const { samplerId, history } = await engine.call('startKafkaLagSampling', { connection, groupId, intervalMs: 1000 });
    expect(Array.isArray(history)).toBe(true);
    for (let waited = 0; samples.length < 2 && waited < 20_000; waited += 100) await sleep(100);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.every((entry) => entry.samplerId === samplerId && entry.sample.totalLag === 250)).toBe(true);

    // More records arrive: the next samples show the lag growing.
    await produceAll(
      kafka,
      topic,
      Array.from({ length: 30 }, (_, index) => ({ partition: 0, value: String(index) })),
    );
    for (let waited = 0; samples.at(-1)!.sample.totalLag !== 280 && waited < 20_000; waited += 100) await sleep(100);
    expect(samples.at(-1)!.sample.totalLag).toBe(280);

    // A second view of the same group shares the sampler and gets the history so far.
    const second = await engine.call('startKafkaLagSampling', { connection, groupId, intervalMs: 1000 });
    expect(second.history.length).toBeGreaterThanOrEqual(3);
    expect(await engine.call('renewKafkaLagSampling', { samplerId })).toEqual({ renewed: true });
    expect(await engine.call('stopKafkaLagSampling', { samplerId })).toEqual({ stopped: true });
    expect(await engine.call('stopKafkaLagSampling', { samplerId: second.samplerId })).toEqual({ stopped: true });
    await sleep(1500);
    const count = samples.length;
    await sleep(2500);
    expect(samples.length).toBe(count);
    expect(await engine.call('renewKafkaLagSampling', { samplerId })).toEqual({ renewed: false });
    stopListening();
  });
});

describe('kafka test connection', () => {
  it('says a refused port is refused', async () => {
    const result = await testKafkaConnection({ brokers: ['127.0.0.1:1'] }, noSecrets, 5000);
    expect(result).toMatchObject({ ok: false, stage: 'connect' });
    expect(result.message).toMatch(/refused/i);
  });

  it('says a host name that does not resolve is a DNS problem', async () => {
    const result = await testKafkaConnection({ brokers: ['no-such-host.invalid:9092'] }, noSecrets, 5000);
    expect(result).toMatchObject({ ok: false, stage: 'dns' });
    expect(result.message).toMatch(/could not be resolved/);
  });

  it('says which secret is missing before connecting', async () => {
    const result = await testKafkaConnection({ brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'plain', username: 'u', password: '${env:EDDY_TEST_UNSET_SECRET}' } }, noSecrets, 5000);
    expect(result).toMatchObject({ ok: false, stage: 'secret' });
    expect(result.message).toContain('${env:EDDY_TEST_UNSET_SECRET}');
  });

  it('says a missing CA file is a configuration problem', async () => {
    const result = await testKafkaConnection({ brokers: ['127.0.0.1:9092'], tls: { enabled: true, caFile: '/nonexistent/ca.pem', rejectUnauthorized: true } }, noSecrets, 5000);
    expect(result).toMatchObject({ ok: false, stage: 'config' });
    expect(result.message).toMatch(/CA certificate file \/nonexistent\/ca.pem cannot be read/);
  });

  it.runIf(brokers)('connects to the test broker, and explains TLS against a plaintext listener', async () => {
    const ok = await testKafkaConnection({ brokers: brokers ?? [] }, noSecrets, 10_000);
    expect(ok).toMatchObject({ ok: true, stage: 'ok' });
    expect(ok.message).toMatch(/Connected to/);
    const tls = await testKafkaConnection({ brokers: brokers ?? [], tls: { enabled: true, rejectUnauthorized: true } }, noSecrets, 4000);
    expect(tls.ok).toBe(false);
    expect(tls.message).toMatch(/TLS/);
  });
});
