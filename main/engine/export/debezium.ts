// Kafka Connect configuration for the CDC side of an exported pipeline (DESIGN.md 6, issue 8): for
// each connection that a pipeline's `cdc` sources read, one Debezium connector config (JSON as
// POSTed to the Connect REST API, `{name, config}`), the mapping from Eddy's stream names to the
// Debezium topics the runner consumes, and a standalone worker properties file.
//
// Secrets: every secret value is a `${env:NAME}` reference, which Kafka Connect resolves itself
// with the EnvVarConfigProvider (`config.providers=env` in the worker file, KIP-887, Kafka 3.5+).
// Nothing here reads a secret value.
import { EddyError } from "../../../shared/contract.js";
import type {
  ConnectionProfile,
  PostgresProfile,
  SqlServerProfile,
} from "../../../shared/contracts/connections.js";
import type {
  PipelineSpec,
  SourceSpec,
} from "../../../shared/pipeline-spec.js";
import {
  DEBEZIUM_VERSION,
  KAFKA_CONNECT_VERSION,
  POSTGRES_CONNECTOR_CLASS,
  POSTGRES_SNAPSHOT_MODES,
  SQLSERVER_CONNECTOR_CLASS,
  SQLSERVER_SNAPSHOT_MODES,
  type ConnectorKind,
} from "./debezium-properties.js";
import { RequiredEnvironment } from "./secret-refs.js";

export const KAFKA_BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS";

export interface ConnectorConfig {
  name: string;
  config: Record<string, string>;
}

export interface ExportedConnector {
  kind: ConnectorKind;
  /** The connection profile the connector reads. */
  connection: string;
  connector: ConnectorConfig;
}

/** Where the runner finds a cdc source's events in production. */
export interface CdcTopicMapping {
  source: string;
  /** Eddy's stream, e.g. `pg:shop.public.orders`. */
  stream: string;
  connection: string;
  connector: string;
  /** The Debezium topic, e.g. `shop-pg.public.orders`. */
  topic: string;
}

export interface DebeziumExportOptions {
  spec: PipelineSpec;
  /** Profiles by id; every cdc source's connection must be here. */
  connections: ReadonlyMap<string, ConnectionProfile>;
  /**
   * Kafka brokers for the SQL Server schema history and the worker (`host:port,...`); default the
   * `${env:KAFKA_BOOTSTRAP_SERVERS}` reference, so one bundle serves every environment.
   */
  bootstrapServers?: string;
  /** Debezium `snapshot.mode` for every connector (default `initial`). */
  snapshotMode?: string;
  /** Collects the environment variables the configs reference. */
  environment?: RequiredEnvironment;
}

export interface DebeziumExport {
  connectors: ExportedConnector[];
  topics: CdcTopicMapping[];
  /** Kafka Connect standalone worker properties. */
  worker: Record<string, string>;
  environment: RequiredEnvironment;
}

interface StreamName {
  kind: ConnectorKind;
  database: string;
  schema: string;
  table: string;
}

/** `pg:<db>.<schema>.<table>` / `sqlserver:<db>.<schema>.<table>`, as Eddy's CDC captures name streams. */
export function parseCdcStream(stream: string): StreamName | undefined {
  const match = /^(pg|sqlserver):([^.]+)\.([^.]+)\.(.+)$/.exec(stream);
  if (!match) return undefined;
  return {
    kind: match[1] === "pg" ? "postgres" : "sqlserver",
    database: match[2]!,
    schema: match[3]!,
    table: match[4]!,
  };
}

/** Debezium's default topic naming: `<prefix>.<schema>.<table>` (PostgreSQL), `<prefix>.<db>.<schema>.<table>` (SQL Server 2.x). */
export function debeziumTopic(prefix: string, stream: StreamName): string {
  return stream.kind === "postgres"
    ? `${prefix}.${stream.schema}.${stream.table}`
    : `${prefix}.${stream.database}.${stream.schema}.${stream.table}`;
}

/** Kafka topic names and Debezium's `topic.prefix` allow letters, digits, `.`, `_` and `-`. */
function topicSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** PostgreSQL slot and publication names: lower-case letters, digits and `_`, at most 63. */
export function slotSafe(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 63);
}

/** Debezium include lists are anchored regular expressions: escape the identifier. */
function includePattern(schema: string, table: string): string {
  const escape = (part: string): string =>
    part.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
  return `${escape(schema)}\\.${escape(table)}`;
}

export function connectorName(pipeline: string, connection: string): string {
  return topicSafe(`eddy-${pipeline}-${connection}`);
}

/** One connector per (pipeline, connection): its own slot, publication and offsets. */
export function topicPrefix(pipeline: string, connection: string): string {
  return topicSafe(`${pipeline}.${connection}`);
}

const JSON_CONVERTERS: Record<string, string> = {
  // Plain JSON without the schema wrapper: the runner reads `{before, after, source, op, ts_ms}`,
  // the same envelope Eddy's own captures write into the event log.
  "key.converter": "org.apache.kafka.connect.json.JsonConverter",
  "key.converter.schemas.enable": "false",
  "value.converter": "org.apache.kafka.connect.json.JsonConverter",
  "value.converter.schemas.enable": "false",
};

function checkSnapshotMode(kind: ConnectorKind, mode: string): string {
  const allowed: readonly string[] =
    kind === "postgres" ? POSTGRES_SNAPSHOT_MODES : SQLSERVER_SNAPSHOT_MODES;
  if (!allowed.includes(mode))
    throw new EddyError(
      "VALIDATION",
      `snapshot.mode "${mode}" is not one of ${allowed.join(", ")}.`,
    );
  return mode;
}

function postgresConnector(
  spec: PipelineSpec,
  profile: PostgresProfile,
  streams: StreamName[],
  options: DebeziumExportOptions,
  environment: RequiredEnvironment,
): ConnectorConfig {
  const name = connectorName(spec.name, profile.id);
  const slot = slotSafe(`eddy_${spec.name}_${profile.id}`);
  const config: Record<string, string> = {
    "connector.class": POSTGRES_CONNECTOR_CLASS,
    "tasks.max": "1",
    "database.hostname": profile.host,
    "database.port": String(profile.port),
    "database.user": profile.user,
    "database.dbname": profile.database,
    "database.sslmode": profile.ssl,
    "topic.prefix": topicPrefix(spec.name, profile.id),
    "table.include.list": [
      ...new Set(
        streams.map((stream) => includePattern(stream.schema, stream.table)),
      ),
    ].join(","),
    "plugin.name": "pgoutput",
    "slot.name": slot,
    "publication.name": slot,
    // `filtered` creates the publication for the included tables only (no superuser needed for
    // FOR ALL TABLES); the slot and publication share the pipeline's name so they are easy to find.
    "publication.autocreate.mode": "filtered",
    "snapshot.mode": checkSnapshotMode(
      "postgres",
      options.snapshotMode ?? "initial",
    ),
    "tombstones.on.delete": "true",
    ...JSON_CONVERTERS,
  };
  if (profile.password)
    config["database.password"] = environment.reference(
      profile.password,
      `password of PostgreSQL connection "${profile.id}" (Kafka Connect and the runner)`,
    );
  return { name, config };
}

function sqlServerConnector(
  spec: PipelineSpec,
  profile: SqlServerProfile,
  streams: StreamName[],
  options: DebeziumExportOptions,
  bootstrap: string,
  environment: RequiredEnvironment,
): ConnectorConfig {
  const name = connectorName(spec.name, profile.id);
  const prefix = topicPrefix(spec.name, profile.id);
  const config: Record<string, string> = {
    "connector.class": SQLSERVER_CONNECTOR_CLASS,
    "tasks.max": "1",
    "database.hostname": profile.host,
    "database.port": String(profile.port),
    "database.user": profile.user,
    "database.names": [
      ...new Set(streams.map((stream) => stream.database)),
    ].join(","),
    "database.encrypt": String(profile.encrypt),
    "topic.prefix": prefix,
    "table.include.list": [
      ...new Set(
        streams.map((stream) => includePattern(stream.schema, stream.table)),
      ),
    ].join(","),
    "snapshot.mode": checkSnapshotMode(
      "sqlserver",
      options.snapshotMode ?? "initial",
    ),
    "schema.history.internal.kafka.bootstrap.servers": bootstrap,
    "schema.history.internal.kafka.topic": `${prefix}.schema-history`,
    "tombstones.on.delete": "true",
    ...JSON_CONVERTERS,
  };
  if (profile.trustServerCertificate)
    config["driver.trustServerCertificate"] = "true";
  if (profile.password)
    config["database.password"] = environment.reference(
      profile.password,
      `password of SQL Server connection "${profile.id}" (Kafka Connect and the runner)`,
    );
  return { name, config };
}

/** Kafka Connect standalone worker: JSON converters, file offsets, and the env config provider. */
export function workerProperties(bootstrap: string): Record<string, string> {
  return {
    "bootstrap.servers": bootstrap,
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "false",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
    // Keep on a persistent volume: losing it makes the connectors snapshot again.
    "offset.storage.file.filename": "/var/lib/kafka-connect/connect.offsets",
    "offset.flush.interval.ms": "10000",
    "plugin.path": "/opt/kafka/plugins",
    // Resolves `${env:NAME}` in connector configs (and in this file) from the worker's environment.
    "config.providers": "env",
    "config.providers.env.class":
      "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
  };
}

/** Java properties text; values are escaped per java.util.Properties.load. */
export function toPropertiesText(
  properties: Record<string, string>,
  header: string[] = [],
): string {
  const escape = (text: string, isKey: boolean): string =>
    text
      .replace(/\\/g, "\\\\")
      .replace(/\n/g, "\\n")
      .replace(/\r/g, "\\r")
      .replace(/\t/g, "\\t")
      .replace(isKey ? /([=: #!])/g : /^([ #!])/g, "\\$1");
  const lines = header.map((line) => `# ${line}`);
  for (const [key, value] of Object.entries(properties))
    lines.push(`${escape(key, true)}=${escape(value, false)}`);
  return lines.join("\n") + "\n";
}

export function cdcSources(
  spec: PipelineSpec,
): Extract<SourceSpec, { kind: "cdc" }>[] {
  return spec.sources.filter(
    (source): source is Extract<SourceSpec, { kind: "cdc" }> =>
      source.kind === "cdc",
  );
}

export function generateDebeziumConfigs(
  options: DebeziumExportOptions,
): DebeziumExport {
  const { spec } = options;
  const environment = options.environment ?? new RequiredEnvironment();
  const bootstrap =
    options.bootstrapServers ??
    `\${env:${environment.add(KAFKA_BOOTSTRAP_ENV, "Kafka brokers (host:port,...) for Kafka Connect and the runner")}}`;
  const byConnection = new Map<
    string,
    {
      profile: ConnectionProfile;
      sources: { id: string; stream: string; parsed: StreamName }[];
    }
  >();
  for (const source of cdcSources(spec)) {
    const profile = options.connections.get(source.connection);
    if (!profile)
      throw new EddyError(
        "NOT_FOUND",
        `Source "${source.id}" reads connection "${source.connection}", which is not in this workspace.`,
      );
    if (profile.kind === "kafka")
      throw new EddyError(
        "VALIDATION",
        `Source "${source.id}" is a cdc source but connection "${profile.id}" is a Kafka connection.`,
      );
    const parsed = parseCdcStream(source.stream);
    if (!parsed)
      throw new EddyError(
        "VALIDATION",
        `Source "${source.id}": stream "${source.stream}" is not a CDC stream name (pg:<db>.<schema>.<table> or sqlserver:<db>.<schema>.<table>).`,
      );
    if (parsed.kind !== profile.kind)
      throw new EddyError(
        "VALIDATION",
        `Source "${source.id}": stream "${source.stream}" is not from a ${profile.kind} connection ("${profile.id}").`,
      );
    if (parsed.kind === "postgres" && parsed.database !== profile.database) {
      throw new EddyError(
        "VALIDATION",
        `Source "${source.id}": stream "${source.stream}" is in database "${parsed.database}" but connection "${profile.id}" opens "${profile.database}"; a PostgreSQL connector reads one database.`,
      );
    }
    const entry = byConnection.get(profile.id) ?? { profile, sources: [] };
    entry.sources.push({ id: source.id, stream: source.stream, parsed });
    byConnection.set(profile.id, entry);
  }
  const connectors: ExportedConnector[] = [];
  const topics: CdcTopicMapping[] = [];
  for (const [connection, { profile, sources }] of [
    ...byConnection.entries(),
  ].sort(([a], [b]) => a.localeCompare(b))) {
    const streams = sources.map((source) => source.parsed);
    const connector =
      profile.kind === "postgres"
        ? postgresConnector(spec, profile, streams, options, environment)
        : sqlServerConnector(
            spec,
            profile as SqlServerProfile,
            streams,
            options,
            bootstrap,
            environment,
          );
    connectors.push({
      kind: profile.kind === "postgres" ? "postgres" : "sqlserver",
      connection,
      connector: {
        name: connector.name,
        config: { name: connector.name, ...connector.config },
      },
    });
    for (const source of sources) {
      topics.push({
        source: source.id,
        stream: source.stream,
        connection,
        connector: connector.name,
        topic: debeziumTopic(connector.config["topic.prefix"]!, source.parsed),
      });
    }
  }
  return {
    connectors,
    topics,
    worker: workerProperties(bootstrap),
    environment,
  };
}

/** The files of the bundle's `connect/` folder, by relative path. */
export function debeziumFiles(exported: DebeziumExport): Map<string, string> {
  const files = new Map<string, string>();
  for (const { connector } of exported.connectors) {
    files.set(
      `${connector.name}.json`,
      JSON.stringify(connector, null, 2) + "\n",
    );
    files.set(
      `${connector.name}.properties`,
      toPropertiesText(connector.config, [
        `Debezium ${DEBEZIUM_VERSION} connector for Kafka Connect standalone (generated by eddy export).`,
      ]),
    );
  }
  files.set(
    "worker.properties",
    toPropertiesText(exported.worker, [
      `Kafka Connect ${KAFKA_CONNECT_VERSION} standalone worker (generated by eddy export).`,
      "connect-standalone.sh worker.properties <connector>.properties ...",
      "Secrets are ${env:NAME} references resolved by the EnvVarConfigProvider from the worker environment.",
    ]),
  );
  files.set("topics.json", JSON.stringify(exported.topics, null, 2) + "\n");
  return files;
}
