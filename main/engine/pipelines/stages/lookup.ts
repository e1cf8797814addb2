// Lookup join of a stream against a table materialized from a CDC stream, as of each event's own
// time: the joined row is the version that was valid when the event happened (DESIGN.md 1,
// "temporal inaccuracy"), added to the event's value under `as`.
import type { JsonValue } from '../../../../shared/events.js';
import type { StageSpec } from '../../../../shared/pipeline-spec.js';
import type { Envelope, Operator, OperatorContext, OperatorResult } from '../model.js';
import { readPath } from '../paths.js';

type LookupStage = Extract<StageSpec, { kind: 'lookup' }>;

export class LookupOperator implements Operator {
  readonly kind = 'lookup';

  constructor(private readonly spec: LookupStage) {}

  get id(): string {
    return this.spec.id;
  }

  async process(inputs: Envelope[], context: OperatorContext): Promise<OperatorResult> {
    const result: OperatorResult = { outputs: [], deadLetters: [] };
    for (const envelope of inputs) {
      const event = envelope.event;
      const key = readPath(event, this.spec.key);
      const time = this.timeOf(envelope);
      if (time === undefined) {
        result.deadLetters.push({ envelope, error: { name: 'LookupTime', message: `${this.spec.at} is not a time (ms or ISO text).` }, attempts: 1 });
        continue;
      }
      const row = key === undefined || key === null ? null : context.tables.asOf(this.spec.table, key, time);
      if (row === undefined) throw new Error(`Lookup stage "${this.id}": no table "${this.spec.table}".`);
      context.trace?.({ stage: this.id, kind: 'lookup', detail: { table: this.spec.table, key: key ?? null, asOf: time, row } });
      if (row === null && this.spec.onMissing === 'drop') continue;
      if (row === null && this.spec.onMissing === 'dead-letter') {
        result.deadLetters.push({
          envelope,
          error: { name: 'LookupMissing', message: `No row in table "${this.spec.table}" for key ${JSON.stringify(key ?? null)} as of ${new Date(time).toISOString()}.` },
          attempts: 1,
        });
        continue;
      }
      const value = event.value;
      const joined: Record<string, JsonValue> =
        value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value, [this.spec.as]: row } : { value, [this.spec.as]: row };
      result.outputs.push({ ...envelope, event: { ...event, value: joined }, lineage: `${envelope.lineage}/${this.id}` });
    }
    return result;
  }

  private timeOf(envelope: Envelope): number | undefined {
    if (!this.spec.at) return envelope.event.eventTime;
    const value = readPath(envelope.event, this.spec.at);
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string') {
      const parsed = Date.parse(value);
      return Number.isNaN(parsed) ? undefined : parsed;
    }
    return undefined;
  }
}
