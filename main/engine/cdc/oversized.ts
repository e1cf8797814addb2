// A change whose event would be over the log's size limit (a 20 MB text column) is stored without
// its row values, in its place in the stream: key, operation, source position and commit time,
// with a note saying why. Refusing it instead would leave a hole the source has already moved
// past (a slot confirmed beyond it), and nothing in the stream would say a change happened there.
import type { JsonValue, NewEvent } from '../../../shared/events.js';
import { prepareEvent } from '../log/event-codec.js';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `event` when it fits in `maxEventBytes` (or fails for another reason, which the log reports); else its stub. */
export function fitEvent(event: NewEvent, maxEventBytes: number): NewEvent {
  const prepared = prepareEvent(event, maxEventBytes);
  if (prepared.ok || prepared.size <= maxEventBytes) return event;
  const value = event.value;
  let stub: JsonValue = null;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // A Debezium envelope keeps everything but the row images.
    stub = Object.fromEntries(Object.entries(value).map(([field, entry]) => [field, field === 'before' || field === 'after' ? null : entry])) as JsonValue;
  }
  const { valueBytes: _dropped, ...rest } = event;
  return { ...rest, value: stub, decodeError: `over the event size limit (${formatBytes(prepared.size)}; the limit is ${formatBytes(maxEventBytes)}): the row values were not stored` };
}
