import { describe, expect, it } from "vitest";
import {
  debeziumFiles,
  debeziumTopic,
  generateDebeziumConfigs,
  parseCdcStream,
  toPropertiesText,
} from "../../../main/engine/export/debezium.js";
import {
  POSTGRES_REQUIRED,
  SECRET_PROPERTIES,
  SQLSERVER_REQUIRED,
  undocumentedProperties,
} from "../../../main/engine/export/debezium-properties.js";
import { exportEnvName } from "../../../main/engine/export/secret-refs.js";
import { exportProfiles, exportSpec } from "./fixtures.js";

describe("Debezium config generation", () => {
  const exported = generateDebeziumConfigs({
    spec: exportSpec(),
    connections: exportProfiles(),
  });
  const postgres = exported.connectors.find(
    (entry) => entry.kind === "postgres",
  )!;
  const sqlserver = exported.connectors.find(
    (entry) => entry.kind === "sqlserver",
  )!;

  it("writes one connector per connection with the required properties", () => {
    expect(
      exported.connectors.map((entry) => entry.connector.name).sort(),
    ).toEqual([
      "eddy-orders-enriched-crm-mssql",
      "eddy-orders-enriched-shop-pg",
    ]);
    for (const name of POSTGRES_REQUIRED)
      expect(postgres.connector.config[name], name).toBeTruthy();
    for (const name of SQLSERVER_REQUIRED)
      expect(sqlserver.connector.config[name], name).toBeTruthy();
    expect(postgres.connector.config).toMatchObject({
      "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
      "database.hostname": "pg.internal",
      "database.port": "5432",
      "database.dbname": "shop",
      "plugin.name": "pgoutput",
      "slot.name": "eddy_orders_enriched_shop_pg",
      "publication.name": "eddy_orders_enriched_shop_pg",
      "publication.autocreate.mode": "filtered",
      "snapshot.mode": "initial",
      "table.include.list": "public\\.orders",
    });
    expect(sqlserver.connector.config).toMatchObject({
      "connector.class": "io.debezium.connector.sqlserver.SqlServerConnector",
      "database.port": "1433",
      "database.names": "crm",
      "database.encrypt": "true",
      "table.include.list": "dbo\\.Customers,dbo\\.Orders",
      "schema.history.internal.kafka.bootstrap.servers":
        "${env:KAFKA_BOOTSTRAP_SERVERS}",
      "schema.history.internal.kafka.topic":
        "orders-enriched.crm-mssql.schema-history",
      "driver.trustServerCertificate": "true",
    });
    expect(postgres.connector.config.name).toBe(postgres.connector.name);
  });

  it("uses only documented property names", () => {
    expect(
      undocumentedProperties("postgres", postgres.connector.config),
    ).toEqual([]);
    expect(
      undocumentedProperties("sqlserver", sqlserver.connector.config),
    ).toEqual([]);
    expect(undocumentedProperties("worker", exported.worker)).toEqual([]);
    expect(
      undocumentedProperties("postgres", {
        "database.server.name": "x",
        "slot.nam": "y",
      }),
    ).toEqual(["database.server.name", "slot.nam"]);
  });

  it("carries secrets as ${env:NAME} references only", () => {
    expect(postgres.connector.config["database.password"]).toBe(
      "${env:SHOP_PG_PASSWORD}",
    );
    expect(sqlserver.connector.config["database.password"]).toBe(
      "${env:EDDY_SECRET_CRM_PASSWORD}",
    );
    for (const { connector } of exported.connectors) {
      for (const name of SECRET_PROPERTIES) {
        const value = connector.config[name];
        if (value !== undefined)
          expect(value).toMatch(/^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/);
      }
    }
    expect(exported.environment.list().map((entry) => entry.name)).toEqual([
      "EDDY_SECRET_CRM_PASSWORD",
      "KAFKA_BOOTSTRAP_SERVERS",
      "SHOP_PG_PASSWORD",
    ]);
    expect(exported.worker).toMatchObject({
      "config.providers": "env",
      "config.providers.env.class":
        "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
      "bootstrap.servers": "${env:KAFKA_BOOTSTRAP_SERVERS}",
    });
    expect(() => exportEnvName("hunter2")).toThrow(/reference/);
  });

  it("maps Eddy streams to Debezium topics", () => {
    expect(exported.topics).toEqual([
      {
        source: "customers",
        stream: "sqlserver:crm.dbo.Customers",
        connection: "crm-mssql",
        connector: "eddy-orders-enriched-crm-mssql",
        topic: "orders-enriched.crm-mssql.crm.dbo.Customers",
      },
      {
        source: "orders",
        stream: "sqlserver:crm.dbo.Orders",
        connection: "crm-mssql",
        connector: "eddy-orders-enriched-crm-mssql",
        topic: "orders-enriched.crm-mssql.crm.dbo.Orders",
      },
      {
        source: "pg-orders",
        stream: "pg:shop.public.orders",
        connection: "shop-pg",
        connector: "eddy-orders-enriched-shop-pg",
        topic: "orders-enriched.shop-pg.public.orders",
      },
    ]);
    expect(debeziumTopic("p", parseCdcStream("pg:db.s.t")!)).toBe("p.s.t");
    expect(debeziumTopic("p", parseCdcStream("sqlserver:db.s.t")!)).toBe(
      "p.db.s.t",
    );
    expect(parseCdcStream("kafka:orders")).toBeUndefined();
  });

  it("refuses a PostgreSQL stream from another database, unknown connections and bad snapshot modes", () => {
    const spec = exportSpec();
    const wrongDb = {
      ...spec,
      sources: [
        {
          id: "x",
          kind: "cdc" as const,
          connection: "shop-pg",
          table: "public.t",
          stream: "pg:other.public.t",
        },
      ],
    };
    expect(() =>
      generateDebeziumConfigs({ spec: wrongDb, connections: exportProfiles() }),
    ).toThrow(/one database/);
    expect(() =>
      generateDebeziumConfigs({ spec, connections: new Map() }),
    ).toThrow(/not in this workspace/);
    expect(() =>
      generateDebeziumConfigs({
        spec,
        connections: exportProfiles(),
        snapshotMode: "sometimes",
      }),
    ).toThrow(/snapshot.mode/);
  });

  it("writes REST JSON, standalone properties and the worker file", () => {
    const files = debeziumFiles(exported);
    expect([...files.keys()].sort()).toEqual([
      "eddy-orders-enriched-crm-mssql.json",
      "eddy-orders-enriched-crm-mssql.properties",
      "eddy-orders-enriched-shop-pg.json",
      "eddy-orders-enriched-shop-pg.properties",
      "topics.json",
      "worker.properties",
    ]);
    const rest = JSON.parse(
      files.get("eddy-orders-enriched-shop-pg.json")!,
    ) as { name: string; config: Record<string, string> };
    expect(rest.name).toBe("eddy-orders-enriched-shop-pg");
    expect(files.get("eddy-orders-enriched-shop-pg.properties")).toContain(
      "table.include.list=public\\\\.orders\n",
    );
    expect(toPropertiesText({ "a b": " x=y" })).toBe("a\\ b=\\ x=y\n");
  });
});
