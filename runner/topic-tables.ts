// Lookup tables in the production runner: each table's change events come from its source's
// Kafka topic (a Debezium topic for a CDC source), read to the end by every runner process (a
// global table: a lookup may ask for any key, whatever partition the looked-up event came from).
// The app reads the same change events from its event log (LogTableFeed); both feed the same
// MaterializedTables, so `ctx.lookup` answers as of the event's time in both.
import type { SourceSpec } from '../shared/pipeline-spec.js';
import type { RawCluster } from '../main/engine/kafka/cluster-access.js';
import type { PipelineEvent } from '../main/engine/pipelines/model.js';
import type { TableFeed } from '../main/engine/pipelines/tables.js';
import { sourceEvent } from './decode.js';

export class TopicTableFeed implements TableFeed {
  private next = new Map<number, number>();
  private ends = new Map<number, number>();

  constructor(
    private readonly raw: RawCluster,
    private readonly topic: string,
    private readonly source: SourceSpec,
    private readonly maxEventBytes: number,
  ) {}

  /** Change events up to the topic's last stable offsets as of this call's first read. */
  async read(max: number): Promise<PipelineEvent[]> {
    if ([...this.ends].every(([partition, end]) => (this.next.get(partition) ?? 0) >= end)) {
      // Caught up with the last known ends: ask for new ends (one ListOffsets for the topic).
      const offsets = (await this.raw.offsets([this.topic])).get(this.topic) ?? new Map<number, { low: number; high: number }>();
      let behind = false;
      for (const [partition, { low, high }] of offsets) {
        this.ends.set(partition, high);
        if ((this.next.get(partition) ?? 0) < low) this.next.set(partition, low);
        if ((this.next.get(partition) ?? 0) < high) behind = true;
      }
      if (!behind) return [];
    }
    const events: PipelineEvent[] = [];
    for (const [partition, end] of this.ends) {
      let offset = this.next.get(partition) ?? 0;
      while (offset < end && events.length < max) {
        const fetched = await this.raw.fetchCommitted(this.topic, partition, offset);
        if (fetched.next === offset) break;
        for (const record of fetched.records) {
          // A Debezium tombstone (null value) follows the delete event, which already said it.
          if (record.value === null) continue;
          events.push(sourceEvent(this.source, this.topic, partition, record, this.maxEventBytes));
        }
        offset = fetched.next;
      }
      this.next.set(partition, offset);
      if (events.length >= max) break;
    }
    return events;
  }
}
