// Consumer groups: state, members and total lag; for one group, its members and assignments, the
// per-partition committed offset, log end, lag and time lag, and lag over time sampled by the
// engine while this view is open (the view renews its lease; closing it stops the sampling).
import { useEffect, useMemo, useState, type JSX } from 'react';
import type { KafkaConnection, KafkaGroupDetail, KafkaLagSample } from '../../../shared/contracts/kafka';
import { useAction } from '../../app/use-engine';
import { engine } from '../../client/engine-client';
import { connectionKey, formatCount, formatDuration, formatTime, localInputToMs, messageOf, positionFrom, useEngineLoad } from './kafka-hooks';
import { LagChart } from './lag-chart';

const SAMPLE_MS = 5000;
const RENEW_MS = 20_000;
const DETAIL_REFRESH_MS = 10_000;

export function GroupsView({ connection }: { connection: KafkaConnection }): JSX.Element {
  const [selected, setSelected] = useState<string | undefined>();
  const [hideCaptures, setHideCaptures] = useState(true);
  const groups = useEngineLoad(() => engine.listKafkaGroups({ connection }), connectionKey(connection));
  const list = useMemo(() => (groups.data?.groups ?? []).filter((group) => !hideCaptures || !group.groupId.startsWith('eddy-capture-')), [groups.data, hideCaptures]);
  // Lag is live: the list refreshes as often as the open group's detail, so the two agree.
  const { reload } = groups;
  useEffect(() => {
    const timer = setInterval(reload, DETAIL_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <div className="kafka-split">
      <section className="kafka-list" aria-label="Consumer groups">
        <div className="kafka-toolbar">
          <label className="kafka-check" title="Eddy's own throwaway capture groups">
            <input type="checkbox" checked={hideCaptures} onChange={(event) => setHideCaptures(event.target.checked)} /> hide Eddy captures
          </label>
          <span className="spacer" />
          <button onClick={groups.reload} disabled={groups.loading} title="Reload groups">
            ↻
          </button>
        </div>
        {groups.error ? (
          <div className="kafka-error" role="alert">
            <p>{groups.error.message}</p>
            <button onClick={groups.reload}>Try again</button>
          </div>
        ) : null}
        {groups.data ? <p className="hint kafka-cluster-line">{groups.data.groups.length} group(s) · lag as of {formatTime(groups.data.at)}</p> : null}
        <table className="kafka-table" data-testid="kafka-groups">
          <thead>
            <tr>
              <th>Group</th>
              <th>State</th>
              <th className="num">Members</th>
              <th className="num">Lag</th>
            </tr>
          </thead>
          <tbody>
            {list.map((group) => (
              <tr key={group.groupId} className={group.groupId === selected ? 'selected' : ''} onClick={() => setSelected(group.groupId)} data-group={group.groupId}>
                <td className="kafka-name">{group.groupId}</td>
                <td>
                  <span className={`kafka-state ${group.state.toLowerCase()}`}>{group.state}</span>
                </td>
                <td className="num">{group.members}</td>
                <td className="num">{formatCount(group.totalLag)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {groups.data && list.length === 0 ? <p className="hint kafka-pad">No consumer groups.</p> : groups.loading && !groups.data ? <p className="hint kafka-pad">Loading groups…</p> : null}
      </section>
      <section className="kafka-detail" aria-label="Group detail">
        {selected ? (
          <GroupDetail
            key={selected}
            connection={connection}
            groupId={selected}
            onChanged={groups.reload}
            onDeleted={() => {
              setSelected(undefined);
              groups.reload();
            }}
          />
        ) : (
          <div className="empty-state">Pick a group to see its lag per partition and over time.</div>
        )}
      </section>
    </div>
  );
}

/** Lag samples from the engine while mounted: history first, then live points; the lease is renewed and released. */
function useLagSamples(connection: KafkaConnection, groupId: string): { samples: KafkaLagSample[]; error: string | undefined } {
  const [samples, setSamples] = useState<KafkaLagSample[]>([]);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let samplerId: string | undefined;
    let closed = false;
    const stopListening = engine.onKafkaLagSample((payload) => {
      if (payload.samplerId !== samplerId) return;
      setSamples((current) => [...current, payload.sample].slice(-720));
    });
    const start = (): void => {
      engine.startKafkaLagSampling({ connection, groupId, intervalMs: SAMPLE_MS }).then(
        (started) => {
          if (closed) {
            void engine.stopKafkaLagSampling({ samplerId: started.samplerId }).catch(() => undefined);
            return;
          }
          samplerId = started.samplerId;
          setSamples(started.history);
          setError(undefined);
        },
        (failure: unknown) => setError(messageOf(failure)),
      );
    };
    start();
    const renew = setInterval(() => {
      if (!samplerId) return start();
      engine.renewKafkaLagSampling({ samplerId }).then(
        (result) => {
          // The lease lapsed (the engine restarted, or the tab slept): start again.
          if (!result.renewed) start();
        },
        () => undefined,
      );
    }, RENEW_MS);
    return () => {
      closed = true;
      stopListening();
      clearInterval(renew);
      if (samplerId) void engine.stopKafkaLagSampling({ samplerId }).catch(() => undefined);
    };
  }, [connectionKey(connection), groupId]);
  return { samples, error };
}

type ResetTo = 'earliest' | 'latest' | 'offset' | 'timestamp';

/** Moves an empty group's committed offsets on one topic (Kafka refuses it while members are active). */
function ResetOffsetsForm({ connection, groupId, topics, onDone, onCancel }: { connection: KafkaConnection; groupId: string; topics: string[]; onDone: (summary: string) => void; onCancel: () => void }): JSX.Element {
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState<ResetTo>('earliest');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const { busy, error, run } = useAction();
  const valueValid = to === 'offset' ? /^\d+$/.test(offset.trim()) : to === 'timestamp' ? localInputToMs(time) !== undefined : true;
  const reset = (): Promise<void> =>
    run(async () => {
      const result = await engine.resetKafkaGroupOffsets({ connection, groupId, topic, to: positionFrom<'earliest' | 'latest'>(to, offset, time) });
      onDone(`Offsets of ${result.topic} reset: ${result.partitions.map((entry) => `${entry.partition}: ${entry.from ?? 'none'} → ${entry.to}`).join(', ')}.`);
    });
  return (
    <form
      className="kafka-card kafka-pad-card"
      aria-label="Reset offsets"
      onSubmit={(event) => {
        event.preventDefault();
        if (valueValid && topic && !busy) void reset();
      }}
    >
      <div className="kafka-row">
        <label className="kafka-field">
          <span>Topic</span>
          <select aria-label="Reset topic" value={topic} onChange={(event) => setTopic(event.target.value)}>
            {topics.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="kafka-field">
          <span>To</span>
          <select aria-label="Reset to" value={to} onChange={(event) => setTo(event.target.value as ResetTo)}>
            <option value="earliest">earliest (read everything again)</option>
            <option value="latest">latest (skip what is waiting)</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        </label>
        {to === 'offset' ? (
          <label className="kafka-field">
            <span>Offset</span>
            <input aria-label="Reset offset" className={valueValid ? '' : 'invalid'} value={offset} onChange={(event) => setOffset(event.target.value)} size={10} />
          </label>
        ) : null}
        {to === 'timestamp' ? (
          <label className="kafka-field">
            <span>Time</span>
            <input aria-label="Reset time" type="datetime-local" step="1" className={valueValid ? '' : 'invalid'} value={time} onChange={(event) => setTime(event.target.value)} />
          </label>
        ) : null}
      </div>
      <p className="hint">Every partition of the topic moves; the group&apos;s consumers read from there when they start again.</p>
      {error ? (
        <p className="kafka-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="kafka-row">
        <button type="submit" className="primary" disabled={busy !== undefined || !valueValid || !topic}>
          {busy ? 'Resetting…' : 'Reset offsets'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function GroupDetail({ connection, groupId, onChanged, onDeleted }: { connection: KafkaConnection; groupId: string; onChanged: () => void; onDeleted: () => void }): JSX.Element {
  const [resetting, setResetting] = useState(false);
  const [actionText, setActionText] = useState<{ ok: boolean; text: string } | undefined>();
  const detail = useEngineLoad<KafkaGroupDetail>(() => engine.describeKafkaGroup({ connection, groupId }), `${connectionKey(connection)}:${groupId}`);
  const { samples, error } = useLagSamples(connection, groupId);
  useEffect(() => {
    const timer = setInterval(detail.reload, DETAIL_REFRESH_MS);
    return () => clearInterval(timer);
  }, [detail.reload]);
  const last = samples.at(-1);
  if (detail.error && !detail.data) {
    return (
      <div className="kafka-error" role="alert">
        <p>{detail.error.message}</p>
        <button onClick={detail.reload}>Try again</button>
      </div>
    );
  }
  const data = detail.data;
  return (
    <div className="kafka-group" data-testid="kafka-group-detail">
      <div className="kafka-toolbar">
        <h2>{groupId}</h2>
        {data ? <span className={`kafka-state ${data.state.toLowerCase()}`}>{data.state}</span> : null}
        {data ? (
          <span className="dim">
            lag {formatCount(data.totalLag)} · time lag {formatDuration(data.maxTimeLagMs)} · {data.members.length} member(s) · {formatTime(data.at)}
          </span>
        ) : (
          <span className="dim">Loading…</span>
        )}
        <span className="spacer" />
        {data ? (
          <>
            <button onClick={() => setResetting(!resetting)} disabled={data.members.length > 0} title={data.members.length > 0 ? 'Kafka resets only an empty group: stop its consumers first' : 'Move the committed offsets'} aria-expanded={resetting}>
              Reset offsets…
            </button>
            <button
              disabled={data.members.length > 0 || resetting}
              title={data.members.length > 0 ? 'Kafka deletes only an empty group: stop its consumers first' : resetting ? 'Finish or cancel the offset reset first' : 'Delete the group and its committed offsets'}
              onClick={() => {
                if (!window.confirm(`Delete consumer group "${groupId}"? Its committed offsets are lost: its consumers would start again from their auto.offset.reset position.`)) return;
                engine.deleteKafkaGroup({ connection, groupId }).then(onDeleted, (failure: unknown) => setActionText({ ok: false, text: messageOf(failure) }));
              }}
            >
              Delete group…
            </button>
          </>
        ) : null}
        <button onClick={detail.reload} disabled={detail.loading} title="Reload">
          ↻
        </button>
      </div>
      {resetting && data ? (
        <ResetOffsetsForm
          connection={connection}
          groupId={groupId}
          topics={[...new Set(data.partitions.map((row) => row.topic))]}
          onCancel={() => setResetting(false)}
          onDone={(summary) => {
            setResetting(false);
            setActionText({ ok: true, text: summary });
            detail.reload();
            onChanged();
          }}
        />
      ) : null}
      {actionText ? (
        <p className={actionText.ok ? 'kafka-ok kafka-pad' : 'kafka-error'} role="status" data-testid="kafka-group-action">
          {actionText.text}
        </p>
      ) : null}
      <LagChart samples={samples} />
      <p className="hint kafka-pad">
        Sampled by the engine every {SAMPLE_MS / 1000} s while this view is open{last?.error ? ` — last sample failed: ${last.error}` : ''}
        {error ? ` — ${error}` : ''}. Time lag: age of the oldest record the group has not consumed (record timestamp).
      </p>
      {data?.note ? <p className="hint kafka-pad">{data.note}</p> : null}
      {data ? (
        <>
          <table className="kafka-table" data-testid="kafka-lag-table">
            <thead>
              <tr>
                <th>Topic</th>
                <th className="num">Partition</th>
                <th className="num">Committed</th>
                <th className="num">Log end</th>
                <th className="num">Lag</th>
                <th className="num">Time lag</th>
                <th>Member</th>
              </tr>
            </thead>
            <tbody>
              {data.partitions.map((row) => (
                <tr key={`${row.topic}/${row.partition}`} data-partition={`${row.topic}/${row.partition}`}>
                  <td className="kafka-name">{row.topic}</td>
                  <td className="num">{row.partition}</td>
                  <td className="num">{row.committedOffset === null ? <span className="dim">none</span> : formatCount(row.committedOffset)}</td>
                  <td className="num">{formatCount(row.logEndOffset)}</td>
                  <td className={`num${row.lag ? ' kafka-lagging' : ''}`}>{formatCount(row.lag)}</td>
                  <td className="num" title={row.nextRecordTime ? `next record written ${formatTime(row.nextRecordTime)}` : undefined}>
                    {formatDuration(row.timeLagMs)}
                  </td>
                  <td className="mono kafka-member">{row.memberId ? (data.members.find((member) => member.memberId === row.memberId)?.clientId ?? row.memberId) : <span className="dim">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.members.length > 0 ? (
            <>
              <h3 className="kafka-pad">Members</h3>
              <table className="kafka-table">
                <tbody>
                  {data.members.map((member) => (
                    <tr key={member.memberId}>
                      <td className="mono">{member.clientId}</td>
                      <td className="mono">{member.clientHost}</td>
                      <td className="hint">{member.assignments.map((assignment) => `${assignment.topic} [${assignment.partitions.join(', ')}]`).join('; ') || 'no partitions'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
