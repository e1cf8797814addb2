// A pipeline with one PostgreSQL and two SQL Server cdc sources, and the profiles they read:
// shared by the export unit tests.
import {
  ConnectionProfileSchema,
  type ConnectionProfile,
} from "../../../shared/contracts/connections.js";
import {
  parsePipelineSpec,
  type PipelineSpec,
} from "../../../shared/pipeline-spec.js";

export function exportSpec(): PipelineSpec {
  return parsePipelineSpec({
    version: 1,
    name: "orders-enriched",
    sources: [
      {
        id: "pg-orders",
        kind: "cdc",
        connection: "shop-pg",
        table: "public.orders",
        stream: "pg:shop.public.orders",
      },
      {
        id: "customers",
        kind: "cdc",
        connection: "crm-mssql",
        table: "dbo.Customers",
        stream: "sqlserver:crm.dbo.Customers",
      },
      {
        id: "orders",
        kind: "cdc",
        connection: "crm-mssql",
        table: "dbo.Orders",
        stream: "sqlserver:crm.dbo.Orders",
      },
    ],
    tables: [{ id: "customer", source: "customers" }],
    stages: [
      {
        id: "joined",
        kind: "lookup",
        inputs: ["orders"],
        table: "customer",
        key: "value.after.CustomerID",
        as: "customer",
      },
    ],
    sinks: [
      {
        id: "out",
        kind: "kafka",
        inputs: ["joined", "pg-orders"],
        connection: "cluster",
        topic: "orders.enriched",
      },
      {
        id: "table",
        kind: "postgres",
        inputs: ["joined"],
        connection: "shop-pg",
        table: "public.orders_enriched",
        key: ["OrderID"],
      },
    ],
  });
}

export function exportProfiles(): Map<string, ConnectionProfile> {
  const profiles = [
    {
      id: "shop-pg",
      name: "Shop",
      kind: "postgres",
      host: "pg.internal",
      database: "shop",
      user: "debezium",
      password: "${env:SHOP_PG_PASSWORD}",
      ssl: "require",
    },
    {
      id: "crm-mssql",
      name: "CRM",
      kind: "sqlserver",
      host: "mssql.internal",
      database: "crm",
      user: "cdc_reader",
      password: "${secret:crm.password}",
      trustServerCertificate: true,
    },
    {
      id: "cluster",
      name: "Cluster",
      kind: "kafka",
      brokers: ["kafka-1:9092"],
      sasl: {
        mechanism: "scram-sha-512",
        username: "eddy",
        password: "${env:KAFKA_PASSWORD}",
      },
    },
  ].map((profile) => ConnectionProfileSchema.parse(profile));
  return new Map(profiles.map((profile) => [profile.id, profile]));
}
