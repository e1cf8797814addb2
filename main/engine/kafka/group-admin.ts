// Consumer group administration, as Kafka GUIs offer it: move a group's committed offsets on a
// topic (to the earliest or latest offset, an offset, or the first record at a time) and delete a
// group. Kafka accepts both only while the group has no active member; Eddy checks first and says
// so in words instead of passing on the broker's error code.
import type { Admin } from 'kafkajs';
import { EddyError } from '../../../shared/contract-kit.js';
import type { KafkaResetOffsetsRequestSchema, KafkaResetOffsetsResultSchema } from '../../../shared/contracts/kafka.js';
import type { z } from 'zod';
import { startPositions } from './positions.js';

type ResetRequest = Omit<z.infer<typeof KafkaResetOffsetsRequestSchema>, 'connection'>;
type ResetResult = z.infer<typeof KafkaResetOffsetsResultSchema>;

/** The group's state, refusing a group that does not exist or still has members. */
async function requireEmptyGroup(admin: Admin, groupId: string, action: string): Promise<void> {
  const { groups } = await admin.listGroups();
  if (!groups.some((group) => group.groupId === groupId)) throw new EddyError('NOT_FOUND', `No consumer group "${groupId}".`);
  const [described] = (await admin.describeGroups([groupId])).groups;
  const members = described?.members.length ?? 0;
  if (members > 0) {
    throw new EddyError(
      'CONFLICT',
      `Group "${groupId}" has ${members} active member(s) (${described?.state ?? 'unknown state'}): Kafka lets only an empty group ${action}. Stop its consumers first.`,
      { groupId, members },
    );
  }
}

export async function resetGroupOffsets(admin: Admin, request: ResetRequest): Promise<ResetResult> {
  const { groupId, topic, to } = request;
  await requireEmptyGroup(admin, groupId, 'have its offsets reset');
  if (!(await admin.listTopics()).includes(topic)) throw new EddyError('NOT_FOUND', `No topic named "${topic}".`);
  // Earliest and latest are where a reader starting from the oldest or the newest record stands.
  const start = to.kind === 'earliest' ? { kind: 'oldest' as const } : to.kind === 'latest' ? { kind: 'newest' as const } : to;
  const positions = await startPositions(admin, topic, request.partitions, start, 'NOT_FOUND');
  const committed = new Map<number, number | null>();
  for (const entry of (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []) {
    const offset = Number(entry.offset);
    committed.set(entry.partition, offset >= 0 ? offset : null);
  }
  const partitions = positions.map(({ partition, offset }) => ({ partition, from: committed.get(partition) ?? null, to: offset }));
  await admin.setOffsets({ groupId, topic, partitions: partitions.map((entry) => ({ partition: entry.partition, offset: String(entry.to) })) });
  return { groupId, topic, partitions };
}

export async function deleteGroup(admin: Admin, groupId: string): Promise<{ deleted: boolean }> {
  await requireEmptyGroup(admin, groupId, 'be deleted');
  await admin.deleteGroups([groupId]);
  return { deleted: true };
}
