// Producing to Kafka from the workbench: one message typed by the user (JSON validated, with the
// line and column of a mistake), a replay of log events to a topic (keys, headers and the original
// bytes of non-JSON values preserved), and bulk produce from JSONL. Replay and bulk produce run as
// jobs with progress, batched, honouring cancel between batches.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { Admin, Producer } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import type { Header, JsonValue, StoredEvent } from '../../../shared/events.js';
import type { EventLog } from '../log/index.js';
import type { JobHandle } from '../jobs.js';
import { jsonErrorLocation, parseKafkaPosition } from './decode.js';
import { chunkMessages, eventsToSinkMessages, type SinkMessage } from './sink.js';

export interface ProduceOneRequest {
  topic: string;
  partition?: number | undefined;
  key: string | null;
  value: string | null;
  format: 'json' | 'text';
  headers: Header[];
}

function headersObject(headers: Header[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const { key, value } of headers) {
    const existing = out[key];
    out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

/** The value to send, validated: JSON is checked and sent compact. */
export function produceValue(value: string | null, format: 'json' | 'text'): string | null {
  if (value === null || format === 'text') return value;
  try {
    return JSON.stringify(JSON.parse(value));
  } catch (error) {
    throw new EddyError('VALIDATION', `The value is not valid JSON: ${jsonErrorLocation(value, error)}. Choose "text" to send it as is.`);
  }
}

/** Refuses a partition the topic does not have: the producer would drop the message and report offset -1. */
export async function requirePartition(admin: Admin, topic: string, partition: number | undefined): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const count = metadata.topics[0]?.partitions.length ?? 0;
  if (partition !== undefined && partition >= count) {
    throw new EddyError('VALIDATION', `Topic "${topic}" has partitions 0 to ${count - 1}; there is no partition ${partition}.`);
  }
  return count;
}

export async function produceOne(producer: Producer, request: ProduceOneRequest): Promise<{ topic: string; partition: number; offset: number }> {
  const value = produceValue(request.value, request.format);
  const [metadata] = await producer.send({
    topic: request.topic,
    acks: -1,
    messages: [{ key: request.key, value, headers: headersObject(request.headers), ...(request.partition !== undefined ? { partition: request.partition } : {}) }],
  });
  return { topic: request.topic, partition: metadata?.partition ?? request.partition ?? 0, offset: Number(metadata?.baseOffset ?? metadata?.offset ?? -1) };
}

async function sendAll(producer: Producer, topic: string, messages: SinkMessage[], signal: AbortSignal): Promise<void> {
  for (const chunk of chunkMessages(messages, topic, 500, 900 * 1024)) {
    if (signal.aborted) return;
    await producer.sendBatch({ topicMessages: chunk, acks: -1 });
  }
}

export interface ReplayOptions {
  log: EventLog;
  producer: Producer;
  admin: Admin;
  stream: string;
  topic: string;
  positions?: string[] | undefined;
  eventTime?: { from?: number | undefined; to?: number | undefined } | undefined;
  maxEvents?: number | undefined;
  keepPartitions: boolean;
  keepTimestamps: boolean;
}

const PAGE = 1000;

/** Replays events of a log stream to a topic, oldest first; returns the job's closing message. */
export async function replayToTopic(options: ReplayOptions, handle: JobHandle): Promise<string> {
  const { log, producer, stream, topic } = options;
  const stats = (await log.streams()).find((entry) => entry.stream === stream);
  if (!stats) throw new EddyError('NOT_FOUND', `The event log has no stream "${stream}".`);
  let partitionCount: number | undefined;
  if (options.keepPartitions) {
    const topics = await options.admin.listTopics();
    if (!topics.includes(topic)) throw new EddyError('NOT_FOUND', `Topic "${topic}" does not exist: create it with enough partitions before replaying with "keep partitions".`);
    const metadata = await options.admin.fetchTopicMetadata({ topics: [topic] });
    partitionCount = metadata.topics[0]?.partitions.length ?? 0;
  }
  const wanted = options.positions ? new Set(options.positions) : undefined;
  const limit = Math.min(options.maxEvents ?? Number.POSITIVE_INFINITY, wanted?.size ?? Number.POSITIVE_INFINITY);
  const total = Number.isFinite(limit) ? Math.min(limit, stats.count) : options.eventTime ? null : stats.count;
  handle.progress(0, { total, message: `Replaying ${stream} to ${topic}…` });

  let sent = 0;
  let skipped = 0;
  const skipReasons = new Map<string, number>();
  let seen = 0;
  const send = async (events: StoredEvent[]): Promise<boolean> => {
    const batch = events.slice(0, Math.max(0, limit - seen));
    const { messages, skipped: unsendable } = eventsToSinkMessages(batch);
    for (const entry of unsendable) skipReasons.set(entry.reason, (skipReasons.get(entry.reason) ?? 0) + 1);
    skipped += unsendable.length;
    const sendable = batch.filter((_, index) => !unsendable.some((entry) => entry.position === batch[index]!.position));
    sendable.forEach((event, index) => {
      const message = messages[index]!;
      if (options.keepTimestamps) message.timestamp = String(event.eventTime);
      if (partitionCount !== undefined) {
        const original = parseKafkaPosition(event.position)?.partition;
        if (original === undefined) throw new EddyError('VALIDATION', `Event ${event.position} has no Kafka partition to keep; replay without "keep partitions".`);
        if (original >= partitionCount) throw new EddyError('VALIDATION', `Event ${event.position} came from partition ${original}, but "${topic}" has ${partitionCount} partition(s).`);
        message.partition = original;
      }
    });
    await sendAll(producer, topic, messages, handle.signal);
    sent += messages.length;
    seen += batch.length;
    handle.progress(seen, { total });
    return seen < limit && !handle.signal.aborted;
  };

  if (wanted) {
    // A selection: find where each selected event sits, then read that span in log order.
    const seqs: number[] = [];
    for (const position of wanted) {
      const seq = await log.findPosition(stream, position);
      if (seq !== null) seqs.push(seq);
    }
    if (seqs.length === 0) throw new EddyError('NOT_FOUND', `None of the ${wanted.size} selected positions is in "${stream}".`);
    seqs.sort((a, b) => a - b);
    for await (const batch of log.replay({ streams: [stream], from: { seq: seqs[0]! }, toSeq: seqs[seqs.length - 1]!, batchSize: PAGE, signal: handle.signal })) {
      const selected = batch.filter((event) => wanted.has(event.position));
      if (selected.length > 0 && !(await send(selected))) break;
    }
  } else {
    let cursor: string | undefined;
    for (;;) {
      const page = await log.read({ stream, direction: 'oldest', limit: PAGE, cursor, eventTime: options.eventTime });
      if (page.events.length > 0 && !(await send(page.events))) break;
      if (!page.nextCursor || page.events.length === 0) break;
      cursor = page.nextCursor;
    }
  }
  const parts = [`Replayed ${sent.toLocaleString('en')} event(s) from ${stream} to ${topic}.`];
  if (skipped > 0) parts.push(`Skipped ${skipped.toLocaleString('en')}: ${[...skipReasons].map(([reason, count]) => `${count} because ${reason}`).join('; ')}.`);
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------
// JSONL

function asBytes(value: JsonValue | undefined, what: string): Buffer | string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && !Array.isArray(value) && typeof value.base64 === 'string' && Object.keys(value).length === 1) {
    return Buffer.from(value.base64, 'base64');
  }
  if (what === 'key' && typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

function parseHeaders(value: JsonValue | undefined): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const add = (key: string, raw: JsonValue): void => {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    const existing = headers[key];
    headers[key] = existing === undefined ? text : Array.isArray(existing) ? [...existing, text] : [existing, text];
  };
  if (value === undefined || value === null) return headers;
  if (Array.isArray(value)) {
    if (value.every((entry) => typeof entry === 'object' && entry !== null && !Array.isArray(entry) && typeof entry.key === 'string')) {
      for (const entry of value as Record<string, JsonValue>[]) add(entry.key as string, entry.value ?? '');
    } else if (value.every((entry) => typeof entry === 'string')) {
      // kcat -J: ["k1", "v1", "k2", "v2"].
      for (let index = 0; index + 1 < value.length; index += 2) add(value[index] as string, value[index + 1]!);
    } else {
      throw new Error('headers must be an object, a list of {key, value}, or a flat list of names and values');
    }
    return headers;
  }
  if (typeof value === 'object') {
    for (const [key, entry] of Object.entries(value)) {
      if (Array.isArray(entry)) for (const item of entry) add(key, item);
      else add(key, entry);
    }
    return headers;
  }
  throw new Error('headers must be an object or a list');
}

/**
 * One JSONL line as a message. `records`: an object with `value` (or kcat's `payload`) and optional
 * `key`, `headers`, `partition`, `timestamp`; string values are sent as text, others as JSON, and
 * `{"base64": "..."}` as raw bytes. `values`: the whole line is the value.
 */
export function parseJsonlLine(line: string, lines: 'records' | 'values'): SinkMessage {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(line) as JsonValue;
  } catch (error) {
    throw new Error(`not valid JSON (${jsonErrorLocation(line, error)})`);
  }
  if (lines === 'values') return { key: null, value: JSON.stringify(parsed) };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected an object with "value" (and "key", "headers"...)');
  const hasValue = 'value' in parsed || 'payload' in parsed;
  if (!hasValue) throw new Error('the object has no "value" (or "payload")');
  const message: SinkMessage = {
    key: asBytes(parsed.key, 'key'),
    value: asBytes('value' in parsed ? parsed.value : parsed.payload, 'value'),
    headers: parseHeaders(parsed.headers),
  };
  if (parsed.partition !== undefined && parsed.partition !== null) {
    if (typeof parsed.partition !== 'number' || !Number.isInteger(parsed.partition) || parsed.partition < 0) throw new Error('"partition" must be a whole number >= 0');
    message.partition = parsed.partition;
  }
  const timestamp = parsed.timestamp ?? parsed.ts;
  if (timestamp !== undefined && timestamp !== null) {
    const ms = typeof timestamp === 'number' ? timestamp : typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
    if (!Number.isFinite(ms)) throw new Error('"timestamp" must be milliseconds or an ISO date');
    message.timestamp = String(ms);
  }
  return message;
}

export interface ProduceFileOptions {
  producer: Producer;
  topic: string;
  /** Absolute, or relative to `baseDir` (the workspace). */
  path?: string | undefined;
  text?: string | undefined;
  baseDir: string;
  lines: 'records' | 'values';
  onBadLine: 'skip' | 'fail';
  /** The topic's partition count: a line naming another partition is a bad line (Kafka would drop it silently). */
  partitions?: number | undefined;
}

export async function produceFile(options: ProduceFileOptions, handle: JobHandle): Promise<string> {
  let input: AsyncIterable<string> | Iterable<string>;
  let total: number | null = null;
  let source: string;
  if (options.path !== undefined) {
    const file = path.resolve(options.baseDir, options.path);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      throw new EddyError('NOT_FOUND', `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
    }
    source = path.basename(file);
    input = readline.createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
    handle.progress(0, { total: size > 0 ? null : 0, message: `Producing ${source} to ${options.topic}…` });
  } else {
    const lines = (options.text ?? '').split(/\r?\n/);
    total = lines.filter((line) => line.trim() !== '').length;
    input = lines;
    source = 'the pasted lines';
    handle.progress(0, { total, message: `Producing ${total} line(s) to ${options.topic}…` });
  }
  let lineNumber = 0;
  let sent = 0;
  const bad: { line: number; reason: string }[] = [];
  let pending: SinkMessage[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    for (const chunk of chunkMessages(batch, options.topic, 500, 900 * 1024)) await options.producer.sendBatch({ topicMessages: chunk, acks: -1 });
    sent += batch.length;
    handle.progress(sent, { total });
  };
  for await (const line of input) {
    lineNumber++;
    if (handle.signal.aborted) break;
    if (line.trim() === '') continue;
    try {
      const message = parseJsonlLine(line, options.lines);
      if (message.partition !== undefined && options.partitions !== undefined && message.partition >= options.partitions) {
        throw new Error(`"partition" ${message.partition} does not exist: "${options.topic}" has partitions 0 to ${options.partitions - 1}`);
      }
      pending.push(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (options.onBadLine === 'fail') {
        throw new EddyError('VALIDATION', `Line ${lineNumber} of ${source}: ${reason}. ${sent.toLocaleString('en')} message(s) were sent before it.`, { line: lineNumber, sent });
      }
      bad.push({ line: lineNumber, reason });
    }
    if (pending.length >= 1000) await flush();
  }
  if (!handle.signal.aborted) await flush();
  const parts = [`Produced ${sent.toLocaleString('en')} message(s) from ${source} to ${options.topic}.`];
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map((entry) => `line ${entry.line}: ${entry.reason}`);
    parts.push(`Skipped ${bad.length} bad line(s) (${shown.join('; ')}${bad.length > 5 ? '; …' : ''}).`);
  }
  return parts.join(' ');
}
