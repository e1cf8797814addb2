// Throwaway topics for suites against the shared test broker: created up front, and removed
// afterwards with the suite's consumer groups (every name carries the suite's unique marker).
import type { Kafka } from 'kafkajs';

export async function createTopics(kafka: Kafka, topics: { topic: string; numPartitions?: number }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Best effort: deletes every topic whose name contains `marker`, and the given groups. */
export async function removeTestTopics(kafka: Kafka, marker: string, groups: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin
    .connect()
    .then(async () => {
      const topics = (await admin.listTopics()).filter((topic) => topic.includes(marker));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    })
    .catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}
