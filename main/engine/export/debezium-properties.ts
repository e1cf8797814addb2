// The documented configuration property names of the two Debezium connectors Eddy exports configs
// for, and of the Kafka Connect worker, as allow-lists: a generated config may only use these
// names (test/unit/export/debezium.test.ts), and the integration test checks every name below
// against the ConfigDef of the real connector jars (test/integration/export-debezium.test.ts).
//
// Sources (Debezium 2.7):
//   https://debezium.io/documentation/reference/2.7/connectors/postgresql.html#postgresql-connector-properties
//   https://debezium.io/documentation/reference/2.7/connectors/sqlserver.html#sqlserver-connector-properties
// Kafka Connect (3.9): https://kafka.apache.org/39/documentation.html#connectconfigs (connector
// configs common to every connector, and the standalone worker configs), and
// https://kafka.apache.org/39/documentation.html#config_providers (EnvVarConfigProvider, KIP-887).
// Only the subset Eddy writes or an operator is told to tune is listed; add names from those pages
// (the integration test fails on a name the 2.7 jars do not know). `database.encrypt` is the one
// documented SQL Server name that Debezium hands through to the JDBC driver.

export const POSTGRES_CONNECTOR_CLASS =
  "io.debezium.connector.postgresql.PostgresConnector";
export const SQLSERVER_CONNECTOR_CLASS =
  "io.debezium.connector.sqlserver.SqlServerConnector";
export const DEBEZIUM_VERSION = "2.7.3.Final";
export const KAFKA_CONNECT_VERSION = "3.9.2";

/** Kafka Connect's own connector-level configs (ConnectorConfig / SourceConnectorConfig). */
export const CONNECT_COMMON_PROPERTIES: readonly string[] = [
  "name",
  "connector.class",
  "tasks.max",
  "key.converter",
  "value.converter",
  "header.converter",
  "config.action.reload",
  "transforms",
  "predicates",
  "errors.retry.timeout",
  "errors.retry.delay.max.ms",
  "errors.tolerance",
  "errors.log.enable",
  "errors.log.include.messages",
  "topic.creation.groups",
];

/**
 * Properties a converter or topic-creation group takes under its own prefix; Connect passes them
 * through (`key.converter.schemas.enable`, `topic.creation.default.partitions`, ...).
 */
export const CONNECT_PASS_THROUGH_PREFIXES: readonly string[] = [
  "key.converter.",
  "value.converter.",
  "header.converter.",
  "topic.creation.default.",
];

/** Properties shared by the relational Debezium connectors (documented on both pages). */
const DEBEZIUM_COMMON: readonly string[] = [
  "database.hostname",
  "database.port",
  "database.user",
  "database.password",
  "topic.prefix",
  "schema.include.list",
  "schema.exclude.list",
  "table.include.list",
  "table.exclude.list",
  "column.include.list",
  "column.exclude.list",
  "skip.messages.without.change",
  "time.precision.mode",
  "decimal.handling.mode",
  "binary.handling.mode",
  "tombstones.on.delete",
  "message.key.columns",
  "snapshot.mode",
  "snapshot.fetch.size",
  "snapshot.max.threads",
  "snapshot.delay.ms",
  "snapshot.include.collection.list",
  "snapshot.select.statement.overrides",
  "provide.transaction.metadata",
  "max.batch.size",
  "max.queue.size",
  "max.queue.size.in.bytes",
  "poll.interval.ms",
  "heartbeat.interval.ms",
  "heartbeat.action.query",
  "skipped.operations",
  "signal.data.collection",
  "signal.enabled.channels",
  "incremental.snapshot.chunk.size",
  "topic.naming.strategy",
  "topic.delimiter",
  "topic.heartbeat.prefix",
  "topic.transaction",
  "errors.max.retries",
  "event.processing.failure.handling.mode",
  "schema.name.adjustment.mode",
  "field.name.adjustment.mode",
  "include.schema.comments",
  "custom.metric.tags",
  "notification.enabled.channels",
];

export const POSTGRES_PROPERTIES: readonly string[] = [
  ...DEBEZIUM_COMMON,
  "database.dbname",
  "database.sslmode",
  "database.sslcert",
  "database.sslkey",
  "database.sslpassword",
  "database.sslrootcert",
  "database.tcpKeepAlive",
  "database.initial.statements",
  "plugin.name",
  "slot.name",
  "slot.drop.on.stop",
  "slot.stream.params",
  "slot.max.retries",
  "slot.retry.delay.ms",
  "publication.name",
  "publication.autocreate.mode",
  "replica.identity.autoset.values",
  "include.unknown.datatypes",
  "hstore.handling.mode",
  "interval.handling.mode",
  "status.update.interval.ms",
  "flush.lsn.source",
  "xmin.fetch.interval.ms",
  "snapshot.lock.timeout.ms",
  "unavailable.value.placeholder",
];

export const SQLSERVER_PROPERTIES: readonly string[] = [
  ...DEBEZIUM_COMMON,
  "database.instance",
  "database.names",
  "database.encrypt",
  "database.ssl.truststore",
  "database.ssl.truststore.password",
  "schema.history.internal.kafka.bootstrap.servers",
  "schema.history.internal.kafka.topic",
  "schema.history.internal.kafka.recovery.poll.interval.ms",
  "schema.history.internal.kafka.recovery.attempts",
  "schema.history.internal.kafka.query.timeout.ms",
  "schema.history.internal.kafka.create.timeout.ms",
  "schema.history.internal.store.only.captured.tables.ddl",
  "schema.history.internal.skip.unparseable.ddl",
  "include.schema.changes",
  "snapshot.isolation.mode",
  "snapshot.lock.timeout.ms",
  "data.query.mode",
  "max.iteration.transactions",
  "incremental.snapshot.option.recompile",
  "database.query.timeout.ms",
];

/**
 * Prefixes Debezium passes through: `driver.*` to the JDBC driver (SQL Server page, "Pass-through
 * database driver properties"), `schema.history.internal.producer.*` / `.consumer.*` to the
 * schema-history Kafka clients (SASL/TLS settings).
 */
export const SQLSERVER_PASS_THROUGH_PREFIXES: readonly string[] = [
  "driver.",
  "schema.history.internal.producer.",
  "schema.history.internal.consumer.",
];
export const POSTGRES_PASS_THROUGH_PREFIXES: readonly string[] = [];

/**
 * Documented SQL Server names that Debezium does not define itself but hands to the JDBC driver
 * (the jar check reports them as pass-through rather than as known fields).
 */
export const SQLSERVER_DRIVER_PROPERTIES: readonly string[] = [
  "database.encrypt",
  "database.ssl.truststore",
  "database.ssl.truststore.password",
];

/** No default in the docs: a config without them does not start. */
export const POSTGRES_REQUIRED: readonly string[] = [
  "name",
  "connector.class",
  "database.hostname",
  "database.user",
  "database.dbname",
  "topic.prefix",
];
export const SQLSERVER_REQUIRED: readonly string[] = [
  "name",
  "connector.class",
  "database.hostname",
  "database.user",
  "database.names",
  "topic.prefix",
  "schema.history.internal.kafka.bootstrap.servers",
  "schema.history.internal.kafka.topic",
];

/** Properties whose value is a secret: they must be `${env:NAME}` references in an export. */
export const SECRET_PROPERTIES: readonly string[] = [
  "database.password",
  "database.sslpassword",
  "database.ssl.truststore.password",
];

/** Values documented for the enumerated properties Eddy sets. */
export const POSTGRES_SNAPSHOT_MODES = [
  "always",
  "initial",
  "initial_only",
  "no_data",
  "never",
  "when_needed",
  "configuration_based",
  "custom",
] as const;
export const SQLSERVER_SNAPSHOT_MODES = [
  "always",
  "initial",
  "initial_only",
  "no_data",
  "recovery",
  "when_needed",
  "configuration_based",
  "custom",
] as const;
export const PUBLICATION_AUTOCREATE_MODES = [
  "all_tables",
  "disabled",
  "filtered",
  "no_tables",
] as const;

/**
 * Kafka Connect standalone worker properties (StandaloneConfig / WorkerConfig). The worker file
 * Eddy writes may only use these.
 */
export const WORKER_PROPERTIES: readonly string[] = [
  "bootstrap.servers",
  "key.converter",
  "value.converter",
  "offset.storage.file.filename",
  "offset.flush.interval.ms",
  "plugin.path",
  "plugin.discovery",
  "listeners",
  "config.providers",
  "config.providers.env.class",
  "task.shutdown.graceful.timeout.ms",
  "security.protocol",
  "sasl.mechanism",
  "sasl.jaas.config",
  "producer.security.protocol",
  "producer.sasl.mechanism",
  "producer.sasl.jaas.config",
];
export const WORKER_PASS_THROUGH_PREFIXES: readonly string[] = [
  "key.converter.",
  "value.converter.",
  "config.providers.env.param.",
];

export type ConnectorKind = "postgres" | "sqlserver";

export function allowedProperties(kind: ConnectorKind): {
  names: ReadonlySet<string>;
  prefixes: readonly string[];
} {
  const own = kind === "postgres" ? POSTGRES_PROPERTIES : SQLSERVER_PROPERTIES;
  const prefixes =
    kind === "postgres"
      ? POSTGRES_PASS_THROUGH_PREFIXES
      : SQLSERVER_PASS_THROUGH_PREFIXES;
  return {
    names: new Set([...CONNECT_COMMON_PROPERTIES, ...own]),
    prefixes: [...CONNECT_PASS_THROUGH_PREFIXES, ...prefixes],
  };
}

/** Names of `config` that are neither documented nor under a documented pass-through prefix. */
export function undocumentedProperties(
  kind: ConnectorKind | "worker",
  config: Record<string, string>,
): string[] {
  const allowed =
    kind === "worker"
      ? {
          names: new Set(WORKER_PROPERTIES),
          prefixes: WORKER_PASS_THROUGH_PREFIXES,
        }
      : allowedProperties(kind);
  return Object.keys(config).filter(
    (name) =>
      !allowed.names.has(name) &&
      !allowed.prefixes.some((prefix) => name.startsWith(prefix)),
  );
}
