// A change whose event would be over the log's size limit (a 20 MB text column) is stored without
// its row values, in its place in the stream: key, operation, source position and commit time,
// with a note saying why. Refusing it instead would leave a hole the source has already moved
// past (a slot confirmed beyond it), and nothing in the stream would say a change happened there.
import type { JsonValue, NewEvent } from '../../../shared/events.js';
import { byteSize } from '../byte-size.js';
import { EncodedEvent, prepareEvent, type EventEncoder, type LogInput } from '../log/event-codec.js';

/** `event` when it fits in `maxEventBytes` (or fails for another reason, which the log reports); else its stub. */
export function fitEvent(event: NewEvent, maxEventBytes: number): NewEvent {
  if (maxEventBytes === Infinity) return event; // a sink without a limit (a benchmark's null sink)
  const prepared = prepareEvent(event, maxEventBytes);
  if (prepared.ok || prepared.size <= maxEventBytes) return event;
  const value = event.value;
  let stub: JsonValue = null;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // A Debezium envelope keeps everything but the row images.
    stub = Object.fromEntries(Object.entries(value).map(([field, entry]) => [field, field === 'before' || field === 'after' ? null : entry])) as JsonValue;
  }
  const { valueBytes: _dropped, ...rest } = event;
  return { ...rest, value: stub, decodeError: `over the event size limit (${byteSize(prepared.size)}; the limit is ${byteSize(maxEventBytes)}): the row values were not stored` };
}

/**
 * Fits a source's events to the log before they are appended: each is encoded for the log (when
 * an encoder is given: the log then does not serialize it again) and one over the limit is
 * replaced, in place, by its stub. `onOversized` gets the warning to show on the capture.
 */
export class SizeGuard {
  private count = 0;
  private first: string | undefined;

  constructor(
    private readonly maxEventBytes: number,
    private readonly encoder: EventEncoder | undefined,
    private readonly onOversized: (warning: string) => void,
  ) {}

  fit(events: readonly LogInput[]): LogInput[] {
    let fitted: LogInput[] | undefined;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      if (event instanceof EncodedEvent) continue;
      let next: LogInput = this.encoder ? this.encoder.encode(event) : event;
      if (!(next instanceof EncodedEvent)) {
        const stub = fitEvent(event, this.maxEventBytes);
        if (stub !== event) {
          this.count++;
          this.first ??= `${event.stream} at ${event.position}`;
          this.onOversized(
            `${this.count} change(s) over the event size limit (${byteSize(this.maxEventBytes)}) were kept without their row values (key, operation and position only): ${stub.decodeError}. The first was ${this.first}.`,
          );
          next = this.encoder ? this.encoder.encode(stub) : stub;
        }
      }
      if (next !== event) {
        fitted ??= events.slice();
        fitted[index] = next;
      }
    }
    return fitted ?? (events as LogInput[]);
  }
}
