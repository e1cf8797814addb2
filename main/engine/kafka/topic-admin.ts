// Changing a topic from the Kafka view: its configs (set or back to the default), its partition
// count (only up: Kafka cannot remove partitions), or the topic itself (deleted with its messages).
//
// Configs. kafkajs speaks only the older AlterConfigs request, which replaces every topic-level
// override of the topic with the set it is given (it has no IncrementalAlterConfigs). So a change
// reads the topic's overrides, applies the edit to them, and sends the whole set: overrides the
// edit does not name are sent back unchanged. A sensitive override cannot be read back, so it
// would be lost: a topic that has one is refused. Between the read and the write another client
// could change an override; the detail returned after the write shows what the broker holds.
import type { Admin } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import { describeTopic, isInternalTopic, TOPIC_RESOURCE } from './explore.js';
import type { KafkaTopicDetail } from '../../../shared/contracts/kafka.js';

/** DescribeConfigs' config source for an override set on the topic itself. */
const DYNAMIC_TOPIC_CONFIG = 1;
/** Waiting for new partitions' leaders: 40 looks, 250 ms apart. */
const LEADER_WAIT_ATTEMPTS = 40;

function refuseInternal(topic: string, what: string): void {
  if (isInternalTopic(topic)) throw new EddyError('FORBIDDEN', `"${topic}" is one of Kafka's internal topics; Eddy does not ${what} it.`);
}

/** Sets configs to values and returns others (`reset`) to their defaults; everything else is kept. */
export async function alterTopicConfigs(admin: Admin, topic: string, set: Record<string, string>, reset: string[]): Promise<KafkaTopicDetail> {
  refuseInternal(topic, 'change the configs of');
  const both = Object.keys(set).filter((name) => reset.includes(name));
  if (both.length > 0) throw new EddyError('VALIDATION', `${both.join(', ')}: set and reset at once; choose one.`);
  const described = await admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic }], includeSynonyms: false });
  const entries = described.resources.flatMap((resource) => resource.configEntries);
  const known = new Map(entries.map((entry) => [entry.configName, entry]));
  for (const name of [...Object.keys(set), ...reset]) {
    const entry = known.get(name);
    if (!entry) throw new EddyError('VALIDATION', `"${name}" is not a topic config this broker knows.`);
    if (entry.readOnly) throw new EddyError('VALIDATION', `"${name}" is read-only: the broker does not let it be changed on a topic.`);
  }
  const overrides = entries.filter((entry) => (entry.configSource as unknown as number) === DYNAMIC_TOPIC_CONFIG);
  const hidden = overrides.filter((entry) => entry.isSensitive && !(entry.configName in set) && !reset.includes(entry.configName));
  if (hidden.length > 0) {
    throw new EddyError(
      'CONFLICT',
      `The topic has sensitive overrides (${hidden.map((entry) => entry.configName).join(', ')}) whose values the broker does not show; changing any config would drop them. Use kafka-configs --alter for this topic.`,
    );
  }
  const next = new Map(overrides.map((entry) => [entry.configName, entry.configValue ?? '']));
  for (const name of reset) next.delete(name);
  for (const [name, value] of Object.entries(set)) next.set(name, value);
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configEntries: [...next].map(([name, value]) => ({ name, value })) }],
    });
  } catch (error) {
    // kafkajs drops the broker's explanation ("Configuration is invalid"): name what was sent.
    if ((error as { type?: unknown }).type === 'INVALID_CONFIG') {
      const sent = Object.entries(set).map(([name, value]) => `${name} = ${JSON.stringify(value)}`);
      const names = Object.keys(set);
      const units = names.some((name) => name.endsWith('.ms')) ? ' (durations are in milliseconds)' : names.some((name) => name.endsWith('.bytes')) ? ' (sizes are in bytes)' : '';
      throw new EddyError('VALIDATION', `The broker refused ${sent.length > 0 ? sent.join(', ') : 'the change'}: not a valid value for that config${units}. Nothing was changed.`);
    }
    throw error;
  }
  return describeTopic(admin, topic);
}

/** Raises the topic's partition count to `partitions` (keys then map to other partitions). */
export async function addPartitions(admin: Admin, topic: string, partitions: number): Promise<KafkaTopicDetail> {
  refuseInternal(topic, 'add partitions to');
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const current = metadata.topics[0]?.partitions.length ?? 0;
  if (partitions <= current) {
    throw new EddyError('VALIDATION', `"${topic}" has ${current} partition(s): give a larger number. Kafka cannot remove partitions.`);
  }
  await admin.createPartitions({ validateOnly: false, timeout: 30_000, topicPartitions: [{ topic, count: partitions }] });
  // The new partitions have no leader for a moment, and their offsets cannot be read until then.
  for (let attempt = 0; ; attempt++) {
    try {
      const detail = await describeTopic(admin, topic);
      if (detail.partitions.length >= partitions && detail.partitions.every((entry) => entry.leader >= 0)) return detail;
      if (attempt >= LEADER_WAIT_ATTEMPTS) return detail;
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (attempt >= LEADER_WAIT_ATTEMPTS || (type !== 'NOT_LEADER_FOR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE' && type !== 'UNKNOWN_TOPIC_OR_PARTITION')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Deletes the topic and every message in it. */
export async function deleteTopic(admin: Admin, topic: string): Promise<{ deleted: boolean }> {
  refuseInternal(topic, 'delete');
  await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
  return { deleted: true };
}
