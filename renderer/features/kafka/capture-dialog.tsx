// The capture dialog: where to start (oldest, newest, an offset, a time, the last N) and when to
// stop (the end offsets at start, a number of messages or bytes, a time, or never: a live tail).
// The capture runs in the engine as a job; its progress shows in the jobs list below the view.
import { useState, type JSX } from 'react';
import type { KafkaConnection, KafkaStart, KafkaStop } from '../../../shared/contracts/kafka';
import { engine } from '../../client/engine-client';
import type { CaptureTarget } from './kafka-panel';
import { localInputToMs, messageOf } from './kafka-hooks';

type StartKind = KafkaStart['kind'];

export function CaptureDialog({ connection, target, onClose }: { connection: KafkaConnection; target: CaptureTarget; onClose: () => void }): JSX.Element {
  const [startKind, setStartKind] = useState<StartKind>('oldest');
  const [offset, setOffset] = useState('0');
  const [lastCount, setLastCount] = useState('100');
  const [startTime, setStartTime] = useState('');
  const [follow, setFollow] = useState(false);
  const [maxMessages, setMaxMessages] = useState('1000');
  const [maxMegabytes, setMaxMegabytes] = useState('');
  const [untilTime, setUntilTime] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const whole = (text: string): number | undefined => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined);

  const build = (): { start: KafkaStart; stop: KafkaStop } | string => {
    let start: KafkaStart;
    switch (startKind) {
      case 'offset': {
        const value = whole(offset);
        if (value === undefined) return 'The offset must be a whole number.';
        start = { kind: 'offset', offset: value };
        break;
      }
      case 'last': {
        const value = whole(lastCount);
        if (!value) return 'The number of last records must be at least 1.';
        start = { kind: 'last', count: value };
        break;
      }
      case 'timestamp': {
        const ms = localInputToMs(startTime);
        if (ms === undefined) return 'Pick the time to start from.';
        start = { kind: 'timestamp', timestamp: ms };
        break;
      }
      default:
        start = { kind: startKind };
    }
    const stop: KafkaStop = { follow };
    if (maxMessages.trim()) {
      const value = whole(maxMessages);
      if (!value) return 'The message limit must be a whole number of at least 1 (or empty).';
      stop.maxMessages = value;
    }
    if (maxMegabytes.trim()) {
      const value = Number(maxMegabytes);
      if (!Number.isFinite(value) || value <= 0) return 'The size limit is in MB and must be above 0 (or empty).';
      stop.maxBytes = Math.round(value * 1024 * 1024);
    }
    if (untilTime) {
      const ms = localInputToMs(untilTime);
      if (ms === undefined) return 'The end time is not a valid time.';
      stop.untilTime = ms;
    }
    if (startKind === 'newest' && !follow && stop.untilTime === undefined) return 'Starting at the newest record only makes sense with "keep following": nothing is there yet.';
    return { start, stop };
  };

  const submit = async (): Promise<void> => {
    const built = build();
    if (typeof built === 'string') {
      setError(built);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await engine.startKafkaCapture({ connection, topics: [{ topic: target.topic, ...(target.partitions.length > 0 ? { partitions: target.partitions } : {}) }], start: built.start, stop: built.stop });
      onClose();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="kafka-modal-backdrop" role="presentation" onClick={onClose}>
      <form
        className="kafka-modal"
        role="dialog"
        aria-modal="true"
        aria-label={`Capture ${target.topic}`}
        onClick={(event) => event.stopPropagation()}
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape') onClose();
        }}
      >
        <h2>Capture {target.topic}</h2>
        <p className="hint">
          {target.partitions.length > 0 ? `Partitions ${target.partitions.join(', ')}` : 'All partitions'} into the event log as stream <code>kafka:{target.topic}</code>. Capturing a record twice stores it once.
        </p>
        <fieldset>
          <legend>Start</legend>
          {(
            [
              ['oldest', 'Oldest record'],
              ['newest', 'Newest (only new records)'],
              ['last', 'Last N records of each partition'],
              ['offset', 'Offset'],
              ['timestamp', 'Time'],
            ] as const
          ).map(([kind, label]) => (
            <label key={kind} className="kafka-radio">
              <input type="radio" name="start" checked={startKind === kind} onChange={() => setStartKind(kind)} /> {label}
              {kind === 'offset' && startKind === 'offset' ? <input aria-label="Start offset" value={offset} onChange={(event) => setOffset(event.target.value)} size={10} /> : null}
              {kind === 'last' && startKind === 'last' ? <input aria-label="Last N" value={lastCount} onChange={(event) => setLastCount(event.target.value)} size={8} /> : null}
              {kind === 'timestamp' && startKind === 'timestamp' ? <input aria-label="Start time" type="datetime-local" step="1" value={startTime} onChange={(event) => setStartTime(event.target.value)} /> : null}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Stop</legend>
          <label className="kafka-radio">
            <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} /> Keep following new records (live tail)
          </label>
          <p className="hint kafka-tight">{follow ? 'Runs until a limit below is reached, or until you cancel it.' : 'Stops at the end the topic has now, or earlier at a limit below.'}</p>
          <label className="kafka-inline">
            after <input aria-label="Max messages" value={maxMessages} onChange={(event) => setMaxMessages(event.target.value)} size={10} placeholder="no limit" /> messages
          </label>
          <label className="kafka-inline">
            after <input aria-label="Max megabytes" value={maxMegabytes} onChange={(event) => setMaxMegabytes(event.target.value)} size={6} placeholder="no limit" /> MB
          </label>
          <label className="kafka-inline">
            before <input aria-label="Until time" type="datetime-local" step="1" value={untilTime} onChange={(event) => setUntilTime(event.target.value)} /> (record time)
          </label>
          {follow && !maxMessages.trim() && !maxMegabytes.trim() && !untilTime ? <p className="hint kafka-tight">No limit: the capture runs until you cancel it.</p> : null}
        </fieldset>
        {error ? (
          <p className="kafka-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="kafka-modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Starting…' : 'Start capture'}
          </button>
        </div>
      </form>
    </div>
  );
}
