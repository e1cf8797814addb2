// The operators' README of an exported bundle: deploy, scale, monitor, roll back, and how a
// pipeline is promoted from the workbench to production. Generated from the bundle's manifest so
// names (consumer group, topics, connectors, environment variables) are the real ones.
import type { PipelineSpec } from "../../../shared/pipeline-spec.js";
import type { CdcTopicMapping } from "./debezium.js";

export interface ReadmeManifest {
  pipeline: string;
  consumerGroup: string;
  inputTopics: { source: string; topic: string }[];
  changelogTopics: { stage: string; topic: string }[];
  deadLetterTopic: string;
  connectors: {
    name: string;
    kind: string;
    connection: string;
    file: string;
  }[];
  environment: { name: string; purposes: string[] }[];
  versions: { debezium: string; kafkaConnect: string };
}

const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");

export function operatorReadme(input: {
  spec: PipelineSpec;
  manifest: ReadmeManifest;
  topics: CdcTopicMapping[];
}): string {
  const { spec, manifest } = input;
  const env =
    manifest.environment.length > 0
      ? table(
          ["variable", "used for"],
          manifest.environment.map((entry) => [
            `\`${entry.name}\``,
            entry.purposes.join("; "),
          ]),
        )
      : "None.";
  const connectors =
    manifest.connectors.length > 0
      ? table(
          ["connector", "kind", "connection", "config"],
          manifest.connectors.map((entry) => [
            `\`${entry.name}\``,
            entry.kind,
            entry.connection,
            `\`${entry.file}\``,
          ]),
        )
      : "This pipeline has no CDC source; no Kafka Connect connector is needed.";
  const topics = table(
    ["source", "Eddy stream (workbench)", "Kafka topic (production)"],
    manifest.inputTopics.map((entry) => [
      entry.source,
      `\`${input.topics.find((topic) => topic.source === entry.source)?.stream ?? "-"}\``,
      `\`${entry.topic}\``,
    ]),
  );
  const changelogs =
    manifest.changelogTopics.length > 0
      ? table(
          ["stage", "changelog topic (cleanup.policy=compact)"],
          manifest.changelogTopics.map((entry) => [
            entry.stage,
            `\`${entry.topic}\``,
          ]),
        )
      : "No stateful stage: no changelog topic.";
  return `# ${spec.name}: production bundle

${spec.description ?? ""}

Written by \`eddy export\`. Everything here is plain files: review it, commit it, deploy it. No secret
is in this folder: secrets are \`\${env:NAME}\` references, resolved from the environment of Kafka
Connect (its EnvVarConfigProvider) and of the runner.

## What is in here

- \`pipeline.json\`: the pipeline spec; \`compiled/\`: its scripts compiled to JavaScript; the sources,
  \`tests/\` and pipeline tests as in the workspace. \`eddy test .\` runs the tests from this folder.
- \`connect/\`: one Debezium ${manifest.versions.debezium} connector config per database connection
  (\`*.json\` for the Kafka Connect REST API, \`*.properties\` for standalone mode), \`worker.properties\`
  for a Kafka Connect ${manifest.versions.kafkaConnect} standalone worker, and \`topics.json\`.
- \`runner.js\` (one bundled ES module) and \`transform-worker.mjs\` (the QuickJS sandbox's worker), \`package.json\` + \`package-lock.json\` (exact versions), \`Dockerfile\`.
- \`bundle.json\`: names, topics, environment variables and the SHA-256 of every file.

## Environment

${env}

## Deploy

1. **CDC (Kafka Connect + Debezium).** Install the Debezium ${manifest.versions.debezium} PostgreSQL / SQL Server
   connector plugins on your Kafka Connect workers and enable the env config provider in the
   worker config (see \`connect/worker.properties\`:
   \`config.providers=env\`, \`config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\`).
   Then, for each connector:

   \`\`\`sh
   curl -X POST -H 'Content-Type: application/json' --data @connect/<connector>.json http://<connect-host>:8083/connectors
   \`\`\`

   or, on a single machine, \`connect-standalone.sh connect/worker.properties connect/<connector>.properties\`.

${connectors}

   PostgreSQL: the connector creates its replication slot and a \`filtered\` publication named in
   its config (the user needs REPLICATION and ownership of the tables, \`wal_level=logical\`).
   SQL Server: CDC must be enabled on the database and tables (\`sys.sp_cdc_enable_table\`), and
   the SQL Server Agent must run. Eddy tests its SQL Server code against result pages shaped like
   SQL Server's CDC functions, and against a real server only when one is available.

2. **The runner.** \`docker build -t ${spec.name.toLowerCase()}-runner .\` and run it with the variables
   above, or \`npm ci --omit=dev && node runner.js\` on a host with Node.js 20.

## Topics

${topics}

Dead letters go to \`${manifest.deadLetterTopic}\`.

## Scale

Run N copies of the runner: they join the consumer group **\`${manifest.consumerGroup}\`** and Kafka
spreads the input partitions across them (at most one runner per partition does work; more copies
than partitions stand by). Keyed state lives in compacted changelog topics, so an instance that
takes over a partition restores that partition's state before processing it:

${changelogs}

The runner creates missing changelog topics (\`cleanup.policy=compact\`, as many partitions as the
inputs) and the dead-letter topic at start; create them yourself where topic creation is restricted.

## Monitor

- Debezium: \`GET /connectors/<connector>/status\` on Kafka Connect; its JMX metrics (lag behind the
  source: \`MilliSecondsBehindSource\`).
- The runner: \`GET /health\` (200 when consuming) and \`GET /metrics\` (Prometheus text format:
  records in/out per sink, dead letters, transactions, failed batches, state restores,
  rebalances, time of the last commit) on its HTTP port.
- Consumer lag of the group \`${manifest.consumerGroup}\` (\`kafka-consumer-groups.sh --describe --group ${manifest.consumerGroup}\`).
- The dead-letter topic \`${manifest.deadLetterTopic}\`: every record there failed a stage ${spec.retries.maxAttempts} times.

## Roll back

Every bundle is immutable: keep the previous one (git tag or the .tgz). To roll back, stop the
runners, deploy the previous bundle's image or folder with the same consumer group, and start them;
they resume from the group's committed offsets and the changelog state. If the previous bundle's
connector configs differ, \`PUT /connectors/<connector>/config\` with the previous \`connect/*.json\`
(Debezium keeps its offsets under the connector name). Stateful stages whose state shape changed
between the two versions need their changelog topics reset: say so in the release note.

## Promotion from the workbench

1. In Eddy, capture samples, write the transforms, and make their tests pass (\`eddy test\`).
2. Run the pipeline locally against the captured streams; check the sinks and dead letters.
3. \`eddy export pipelines/${spec.name}.pipeline.json --out <dir> --tgz\`, commit or archive the bundle.
4. CI: \`eddy test <dir>\`, then \`docker build\`; deploy connectors first, then the runners.

## How the runner keeps its promises

- **Exactly once for read_committed readers.** Each fetched batch of a partition is processed and
  then committed in one Kafka transaction holding the sink records, the dead letters, the state
  changes (changelog records) and the group's offsets. A runner that dies mid-batch leaves nothing
  of that batch visible; whoever takes the partition over reads it again from the committed offset.
  Downstream consumers must read with \`isolation.level=read_committed\`.
- **Fencing.** The producer of partition p has the transactional id \`${manifest.consumerGroup}.task-<p>\`: the
  new owner registers it before restoring state, which aborts the old owner's open transaction
  and makes any later commit of a paused ("zombie") old owner fail.
- **PostgreSQL and SQL Server sinks** are keyed upserts (\`INSERT ... ON CONFLICT\`, \`MERGE\`) written
  before the transaction commits: a batch read again writes the same rows again.
- **Lookup tables** (as-of joins) are read whole from their topics by every runner (global tables),
  with every version of each row, and catch up before each batch: a lookup answers with the row as
  it was at the event's time, as in the app.
- **Not supported by the runner** (it refuses to start and says so): sinks into the app's event log
  or local warehouse, and sources that are only event-log streams; inputs must be Kafka or Debezium
  topics, co-partitioned when a pipeline reads several.

Runner settings (environment): \`EDDY_RUNNER_PORT\` (default 8080) and \`EDDY_RUNNER_HOST\` (default
0.0.0.0) for \`/health\` and \`/metrics\`; \`EDDY_RUNNER_SESSION_TIMEOUT_MS\` (default 30000: how long a
dead runner keeps its partitions); \`EDDY_RUNNER_TRANSACTION_TIMEOUT_MS\` (default 60000);
\`EDDY_RUNNER_WORKERS\` (sandbox threads, default 1). It exits 0 after SIGTERM (the batch in hand is
finished and committed, the group is left), 1 on failure and 78 on missing configuration.
`;
}
