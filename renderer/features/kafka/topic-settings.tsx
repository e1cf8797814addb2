// Changing a topic from its detail: configs edited in place (set, or back to the default), more
// partitions, and deleting the topic after typing its name. The engine keeps every override the
// edit does not name (main/engine/kafka/topic-admin.ts says why that needs care).
import { useState, type JSX } from 'react';
import type { KafkaConnection, KafkaTopicDetail } from '../../../shared/contracts/kafka';
import { useAction } from '../../app/use-engine';
import { engine } from '../../client/engine-client';
import { configInWords } from './config-values';

type ConfigEntry = KafkaTopicDetail['configs'][number];

function ErrorLine({ error }: { error: string | undefined }): JSX.Element | null {
  return error ? (
    <p className="kafka-error" role="alert">
      {error}
    </p>
  ) : null;
}

function ConfigWords({ name, value }: { name: string; value: string | null | undefined }): JSX.Element | null {
  const words = configInWords(name, value);
  return words ? <span className="dim"> ({words})</span> : null;
}

/** The topic's configs; overrides first (defaults on request), each editable unless the broker says read-only. */
export function TopicConfigs({ connection, detail, onChanged }: { connection: KafkaConnection; detail: KafkaTopicDetail; onChanged: (detail: KafkaTopicDetail) => void }): JSX.Element {
  const [showDefaults, setShowDefaults] = useState(false);
  const [editing, setEditing] = useState<string>();
  const [draft, setDraft] = useState('');
  const [adding, setAdding] = useState(false);
  const [newName, setNewName] = useState('');
  const [newValue, setNewValue] = useState('');
  const { busy, error, run, clearError } = useAction();
  const configs = detail.configs.filter((entry) => showDefaults || !entry.isDefault);
  const editable = (entry: ConfigEntry): boolean => !entry.readOnly && !entry.isSensitive;
  const apply = (change: { set?: Record<string, string>; reset?: string[] }): Promise<void> =>
    run(async () => {
      onChanged(await engine.alterKafkaTopicConfigs({ connection, topic: detail.name, set: change.set ?? {}, reset: change.reset ?? [] }));
      setEditing(undefined);
      setAdding(false);
      setNewName('');
      setNewValue('');
    });
  /** Closes the edit or the new-config row, and what it said. */
  const close = (): void => {
    clearError();
    setEditing(undefined);
    setAdding(false);
  };
  const choices = detail.configs.filter((entry) => entry.isDefault && editable(entry)).map((entry) => entry.name);
  const newEntry = detail.configs.find((entry) => entry.name === newName);
  return (
    <>
      <div className="kafka-toolbar">
        <h3>Configs</h3>
        <label className="kafka-check">
          <input type="checkbox" checked={showDefaults} onChange={(event) => setShowDefaults(event.target.checked)} /> show defaults
        </label>
        <span className="spacer" />
        <button
          onClick={() => {
            clearError();
            setAdding(!adding);
          }}
          aria-expanded={adding} disabled={detail.internal} title={detail.internal ? "Kafka's internal topics are not changed from Eddy" : 'Override a config on this topic'}>
          Set a config…
        </button>
      </div>
      {adding ? (
        <form
          className="kafka-row kafka-pad kafka-config-add"
          aria-label="Set a config"
          onSubmit={(event) => {
            event.preventDefault();
            if (newName && newValue.trim()) void apply({ set: { [newName]: newValue.trim() } });
          }}
        >
          <label className="kafka-field kafka-grow">
            <span>Config</span>
            <input aria-label="Config name" list="kafka-config-names" value={newName} onChange={(event) => setNewName(event.target.value.trim())} placeholder="retention.ms" spellCheck={false} autoFocus />
            <datalist id="kafka-config-names">
              {choices.map((name) => (
                <option key={name} value={name} />
              ))}
            </datalist>
          </label>
          <label className="kafka-field kafka-grow">
            <span>Value{newEntry?.value ? ` (now ${newEntry.value})` : ''}</span>
            <input aria-label="Config value" value={newValue} onChange={(event) => setNewValue(event.target.value)} spellCheck={false} />
          </label>
          <button type="submit" className="primary" disabled={!newName || !newValue.trim() || busy !== undefined}>
            {busy ? 'Saving…' : 'Set'}
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </form>
      ) : null}
      <ErrorLine error={error} />
      <table className="kafka-table kafka-configs" data-testid="kafka-configs">
        <tbody>
          {configs.map((entry) => (
            <tr key={entry.name} className={entry.isDefault ? 'dim' : ''} data-config={entry.name}>
              <td className="mono">{entry.name}</td>
              <td className="mono">
                {editing === entry.name ? (
                  <form
                    className="kafka-config-edit"
                    onSubmit={(event) => {
                      event.preventDefault();
                      if (draft.trim()) void apply({ set: { [entry.name]: draft.trim() } });
                    }}
                  >
                    <input aria-label={`Value of ${entry.name}`} value={draft} onChange={(event) => setDraft(event.target.value)} spellCheck={false} autoFocus />
                    <button type="submit" className="primary" disabled={!draft.trim() || busy !== undefined}>
                      Save
                    </button>
                    <button type="button" onClick={close}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <>
                    {entry.isSensitive ? '••••••' : (entry.value ?? '—')}
                    {entry.isSensitive ? null : <ConfigWords name={entry.name} value={entry.value} />}
                  </>
                )}
              </td>
              <td className="hint">{entry.source}</td>
              <td className="kafka-config-actions">
                {editable(entry) && !detail.internal && editing !== entry.name ? (
                  <>
                    <button
                      className="link-button"
                      aria-label={`Edit ${entry.name}`}
                      onClick={() => {
                        clearError();
                        setEditing(entry.name);
                        setDraft(entry.value ?? '');
                      }}
                    >
                      Edit
                    </button>
                    {entry.source === 'topic' ? (
                      <button className="link-button" aria-label={`Reset ${entry.name}`} title="Remove the override: the broker's default applies again" onClick={() => void apply({ reset: [entry.name] })} disabled={busy !== undefined}>
                        Reset
                      </button>
                    ) : null}
                  </>
                ) : null}
              </td>
            </tr>
          ))}
          {configs.length === 0 ? (
            <tr>
              <td className="hint">Every config has its default value.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </>
  );
}

/** Raises the partition count; says what that does to keyed records. */
export function AddPartitionsForm({ connection, detail, onChanged, onCancel }: { connection: KafkaConnection; detail: KafkaTopicDetail; onChanged: (detail: KafkaTopicDetail) => void; onCancel: () => void }): JSX.Element {
  const current = detail.partitions.length;
  const [count, setCount] = useState(String(current + 1));
  const { busy, error, run } = useAction();
  const valid = /^\d{1,5}$/.test(count) && Number(count) > current && Number(count) <= 10_000;
  return (
    <form
      className="kafka-card kafka-pad-card"
      aria-label="Add partitions"
      onSubmit={(event) => {
        event.preventDefault();
        if (valid) void run(async () => onChanged(await engine.addKafkaPartitions({ connection, topic: detail.name, partitions: Number(count) })));
      }}
    >
      <div className="kafka-row">
        <label className="kafka-field">
          <span>Partitions (now {current})</span>
          <input aria-label="New partition count" className={valid ? '' : 'invalid'} value={count} onChange={(event) => setCount(event.target.value.trim())} size={6} autoFocus />
        </label>
        <button type="submit" className="primary" disabled={!valid || busy !== undefined}>
          {busy ? 'Adding…' : 'Add partitions'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p className="hint">Kafka cannot remove partitions again. Records with a key may go to a different partition from now on, so per-key order is only kept for records produced after the change.</p>
      <ErrorLine error={error} />
    </form>
  );
}

/** Deletes the topic once its name is typed again. */
export function DeleteTopicCard({ connection, topic, onDeleted, onCancel }: { connection: KafkaConnection; topic: string; onDeleted: () => void; onCancel: () => void }): JSX.Element {
  const [typed, setTyped] = useState('');
  const { busy, error, run } = useAction();
  return (
    <form
      className="kafka-card kafka-pad-card kafka-delete-topic"
      aria-label="Delete topic"
      onSubmit={(event) => {
        event.preventDefault();
        if (typed === topic)
          void run(async () => {
            await engine.deleteKafkaTopic({ connection, topic });
            onDeleted();
          });
      }}
    >
      <p className="kafka-confirm">
        Deleting <strong className="mono">{topic}</strong> removes it and every message in it from the cluster. Consumers of it stop receiving anything; captures already in Eddy&apos;s log are kept.
      </p>
      <div className="kafka-row">
        <label className="kafka-field kafka-grow">
          <span>Type the topic name to confirm</span>
          <input aria-label="Topic name to confirm" value={typed} onChange={(event) => setTyped(event.target.value)} spellCheck={false} autoComplete="off" autoFocus />
        </label>
        <button type="submit" className="danger-fill" disabled={typed !== topic || busy !== undefined}>
          {busy ? 'Deleting…' : 'Delete topic'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}
