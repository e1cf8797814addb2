// JSONL lines as messages, produce requests chunked by count and size, JSON validation of typed
// values, the CLI's --from syntax, and lag sampling leases (with a fake group description).
import { describe, expect, it } from 'vitest';
import { parseJsonlLine, produceValue } from '../../../main/engine/kafka/produce.js';
import { chunkMessages, eventsToSinkMessages } from '../../../main/engine/kafka/sink.js';
import { LagSamplers } from '../../../main/engine/kafka/lag-sampler.js';
import type { KafkaClientCache } from '../../../main/engine/kafka/client-cache.js';
import { parseStart, UsageError } from '../../../main/cli/commands/capture-kafka.js';
import type { KafkaGroupDetail } from '../../../shared/contracts/kafka.js';

describe('parseJsonlLine', () => {
  it('reads records with key, value, headers, partition and timestamp', () => {
    expect(parseJsonlLine('{"key":"a","value":{"n":1},"headers":{"h":"x","m":["1","2"]},"partition":2,"timestamp":"2026-01-01T00:00:00Z"}', 'records')).toEqual({
      key: 'a',
      value: '{"n":1}',
      headers: { h: 'x', m: ['1', '2'] },
      partition: 2,
      timestamp: String(Date.UTC(2026, 0, 1)),
    });
  });

  it('reads kcat -J lines (payload, ts, flat headers) and base64 values', () => {
    expect(parseJsonlLine('{"topic":"t","partition":0,"offset":3,"ts":1700000000000,"key":null,"payload":"raw text","headers":["a","1","b","2"]}', 'records')).toEqual({
      key: null,
      value: 'raw text',
      headers: { a: '1', b: '2' },
      partition: 0,
      timestamp: '1700000000000',
    });
    const bytes = parseJsonlLine('{"value":{"base64":"AQID"}}', 'records').value as Buffer;
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it('takes a whole line as the value in values mode, and explains bad lines', () => {
    expect(parseJsonlLine('[1, 2]', 'values')).toEqual({ key: null, value: '[1,2]' });
    expect(() => parseJsonlLine('{"key": 1', 'records')).toThrow(/not valid JSON \(line 1, column 10/);
    expect(() => parseJsonlLine('[1]', 'records')).toThrow(/expected an object/);
    expect(() => parseJsonlLine('{"key": "a"}', 'records')).toThrow(/no "value"/);
    expect(() => parseJsonlLine('{"value": 1, "partition": -1}', 'records')).toThrow(/partition/);
  });
});

describe('produceValue', () => {
  it('sends JSON compact and explains where it breaks', () => {
    expect(produceValue('{\n  "a": [1, 2]\n}', 'json')).toBe('{"a":[1,2]}');
    expect(produceValue('anything', 'text')).toBe('anything');
    expect(produceValue(null, 'json')).toBeNull();
    expect(() => produceValue('{\n  "a": 1,\n}', 'json')).toThrow(/line 3, column 1/);
  });
});

describe('chunkMessages', () => {
  it('bounds produce requests by count and bytes, grouped by topic', () => {
    const messages = Array.from({ length: 25 }, (_, index) => ({ key: null, value: 'x'.repeat(100), ...(index % 5 === 0 ? { topic: 'other' } : {}) }));
    const chunks = chunkMessages(messages, 'main', 10, 1_000_000);
    expect(chunks).toHaveLength(3);
    expect(chunks.flat().reduce((sum, entry) => sum + entry.messages.length, 0)).toBe(25);
    expect(chunks[0]!.map((entry) => entry.topic).sort()).toEqual(['main', 'other']);
    const bySize = chunkMessages(messages, 'main', 1000, 500);
    expect(bySize.length).toBeGreaterThanOrEqual(8);
  });

  it('leaves out events whose value was not stored', () => {
    const { messages, skipped } = eventsToSinkMessages([
      { position: 'a', key: 'k', value: { n: 1 } },
      { position: 'b', key: 'k', value: null, decodeError: 'over the event size limit; value not stored (value 20 MB)' },
    ]);
    expect(messages).toHaveLength(1);
    expect(skipped).toEqual([{ position: 'b', reason: expect.stringMatching(/size limit/) }]);
  });
});

describe('eddy capture kafka --from', () => {
  it('parses every start', () => {
    expect(parseStart('oldest')).toEqual({ kind: 'oldest' });
    expect(parseStart('newest')).toEqual({ kind: 'newest' });
    expect(parseStart('offset:42')).toEqual({ kind: 'offset', offset: 42 });
    expect(parseStart('last:10')).toEqual({ kind: 'last', count: 10 });
    expect(parseStart('time:2026-03-02T08:00:00Z')).toEqual({ kind: 'timestamp', timestamp: Date.UTC(2026, 2, 2, 8) });
    expect(() => parseStart('offset:x')).toThrow(UsageError);
    expect(() => parseStart('time:yesterday')).toThrow(/not an ISO date-time/);
  });
});

describe('LagSamplers', () => {
  const detail = (lag: number): KafkaGroupDetail => ({
    groupId: 'g',
    protocolType: 'consumer',
    protocol: 'RoundRobinAssigner',
    state: 'Stable',
    members: [],
    partitions: [{ topic: 't', partition: 0, committedOffset: 0, logStartOffset: 0, logEndOffset: lag, lag, timeLagMs: lag * 10, nextRecordTime: 0, metadata: null, memberId: null }],
    totalLag: lag,
    maxTimeLagMs: lag * 10,
    at: Date.now(),
  });
  const clients = { profile: async (connection: unknown) => ({ brokers: (connection as { brokers: string[] }).brokers }) } as unknown as KafkaClientCache;

  it('shares one sampler per group, pushes samples to every lease, and stops with the last lease', async () => {
    let lag = 5;
    let calls = 0;
    const emitted: { samplerId: string; sample: { totalLag: number | null } }[] = [];
    const samplers = new LagSamplers(clients, ((_: string, payload: (typeof emitted)[number]) => emitted.push(payload)) as never, async () => {
      calls++;
      return detail(lag++);
    });
    const connection = { brokers: ['b:1'] };
    const first = await samplers.start(connection, 'g', 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await samplers.start(connection, 'g', 1000);
    expect(second.history.length).toBeGreaterThanOrEqual(1);
    expect(samplers.active()).toEqual([{ groupId: 'g', leases: 2, samples: expect.any(Number) }]);
    expect(samplers.renew(first.samplerId)).toBe(true);
    expect(samplers.stop(first.samplerId)).toBe(true);
    expect(samplers.stop(first.samplerId)).toBe(false);
    expect(samplers.active()).toHaveLength(1);
    expect(samplers.stop(second.samplerId)).toBe(true);
    expect(samplers.active()).toHaveLength(0);
    const callsAtStop = calls;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(calls).toBe(callsAtStop);
    expect(emitted[0]).toMatchObject({ samplerId: first.samplerId, sample: { totalLag: 5 } });
    samplers.close();
  });

  it('records a failed sample as a gap with the reason', async () => {
    const emitted: { sample: { totalLag: number | null; error?: string } }[] = [];
    const samplers = new LagSamplers(clients, ((_: string, payload: (typeof emitted)[number]) => emitted.push(payload)) as never, async () => {
      throw new Error('Connection refused by b:1');
    });
    await samplers.start({ brokers: ['b:1'] }, 'g', 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emitted[0]?.sample).toMatchObject({ totalLag: null, error: 'Connection refused by b:1' });
    samplers.close();
  });
});
