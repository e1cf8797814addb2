// A Kafka record as a pipeline event in the runner, decoded exactly as the app's capture decodes
// it (decodeRecord), for the input topics and for the topics lookup tables are read from.
import type { JsonValue } from '../shared/events.js';
import { sourceStream, type SourceSpec } from '../shared/pipeline-spec.js';
import { decodeRecord, type KafkaRecordLike } from '../main/engine/kafka/decode.js';
import type { PipelineEvent } from '../main/engine/pipelines/model.js';

/**
 * Debezium writes a change's primary key as a JSON object (JsonConverter, schemas disabled); the
 * app's own capture stores it parsed, so paths such as `key.CustomerID` work in both.
 */
export function debeziumKey(key: JsonValue | null): JsonValue | null {
  if (typeof key !== 'string' || !key.startsWith('{')) return key;
  try {
    return JSON.parse(key) as JsonValue;
  } catch {
    return key;
  }
}

/** The event of `source` for one record of its topic (CDC sources: Debezium keys parsed). */
export function sourceEvent(source: SourceSpec, topic: string, partition: number, record: KafkaRecordLike, maxEventBytes: number): PipelineEvent {
  const { event } = decodeRecord(topic, partition, record, { stream: sourceStream(source), ingestTime: Date.now(), maxEventBytes });
  const decoded = { ...event, headers: event.headers ?? [] } as PipelineEvent;
  if (source.kind === 'cdc') decoded.key = debeziumKey(decoded.key);
  return decoded;
}
