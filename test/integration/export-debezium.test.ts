// Issue 8 item 4: the Debezium connector configs and the Kafka Connect worker file that `eddy
// export` writes are loaded into the real classes (Debezium 2.7 connectors, Kafka Connect 3.9
// runtime; jars fetched from Maven Central by test/services/debezium.sh into
// ${EDDY_CACHE:-~/.cache/eddy}/debezium-<version>) through a small Java program compiled with javac
// (test/fixtures/connect/ValidateConnectorConfig.java). No Kafka Connect worker and no database
// are needed. Without mvn/java the suite skips with a reason; under CI it fails instead.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  debeziumFiles,
  generateDebeziumConfigs,
} from "../../main/engine/export/debezium.js";
import {
  CONNECT_COMMON_PROPERTIES,
  POSTGRES_PROPERTIES,
  SQLSERVER_DRIVER_PROPERTIES,
  SQLSERVER_PROPERTIES,
  DEBEZIUM_VERSION,
} from "../../main/engine/export/debezium-properties.js";
import { exportProfiles, exportSpec } from "../unit/export/fixtures.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VALIDATOR = path.join(
  ROOT,
  "test/fixtures/connect/ValidateConnectorConfig.java",
);

function isCi(): boolean {
  const value = process.env.CI?.trim().toLowerCase();
  return (
    value !== undefined && value !== "" && value !== "0" && value !== "false"
  );
}

async function onPath(command: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** The jar folder, or undefined (with a printed reason) when this machine cannot fetch it. */
async function connectorLibs(): Promise<string | undefined> {
  const missing = [];
  for (const tool of ["mvn", "java", "javac"])
    if (!(await onPath(tool))) missing.push(tool);
  let reason: string | undefined;
  let libs: string | undefined;
  if (missing.length > 0) reason = `${missing.join(", ")} not found`;
  else {
    try {
      const { stdout } = await run(
        "bash",
        [path.join(ROOT, "test/services/debezium.sh"), "libs"],
        { timeout: 600_000, env: { ...process.env, DEBEZIUM_VERSION } },
      );
      libs = stdout.trim().split("\n").at(-1);
    } catch (error) {
      reason = `fetching the Debezium jars failed: ${(error as { stderr?: string }).stderr?.trim().split("\n").slice(-3).join(" ") ?? String(error)}`;
    }
  }
  if (libs) return libs;
  if (isCi())
    throw new Error(
      `export-debezium: ${reason} (CI must not skip: install Maven and a JDK, and let it reach Maven Central)`,
    );
  process.stderr.write(
    `[skip] export-debezium: ${reason}; run test/services/debezium.sh fetch to enable\n`,
  );
  return undefined;
}

interface ValidatorOutput {
  worker: {
    ok: boolean;
    error?: string;
    unknown: string[];
    bootstrapServers?: string;
  };
  connectors: {
    file: string;
    name: string;
    version: string;
    unknown: string[];
    passThrough: string[];
    errors: Record<string, string[]>;
    resolvedFromEnv: string[];
    unresolved: string[];
  }[];
}

const libs = await connectorLibs();

describe.runIf(libs)(
  "generated Debezium configs load in the real connectors",
  () => {
    let dir: string;
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function validate(
      files: Map<string, string>,
      connectorFiles: string[],
      extra: string[] = [],
    ): Promise<ValidatorOutput> {
      dir ??= await mkdtemp(path.join(os.tmpdir(), "eddy-connect-"));
      const out = path.join(dir, "connect");
      await mkdir(out, { recursive: true });
      for (const [name, text] of files)
        await writeFile(path.join(out, name), text);
      const classes = path.join(libs!, "..", "validator-classes");
      await mkdir(classes, { recursive: true });
      await run(
        "javac",
        ["-nowarn", "-d", classes, "-cp", `${libs}/*`, VALIDATOR],
        { timeout: 120_000 },
      );
      const { stdout } = await run(
        "java",
        [
          "-Xmx256m",
          "-Dlog4j.configuration=file:/dev/null",
          "-cp",
          `${libs}/*:${classes}`,
          "ValidateConnectorConfig",
          path.join(out, "worker.properties"),
          ...connectorFiles.map((file) => path.join(out, file)),
          ...extra,
        ],
        {
          timeout: 120_000,
          maxBuffer: 8 * 1024 * 1024,
          // Placeholder values: what matters is that Kafka's EnvVarConfigProvider resolves the references.
          env: {
            ...process.env,
            KAFKA_BOOTSTRAP_SERVERS: "127.0.0.1:9092",
            SHOP_PG_PASSWORD: "placeholder",
            EDDY_SECRET_CRM_PASSWORD: "placeholder",
          },
        },
      );
      return JSON.parse(stdout.trim().split("\n").at(-1)!) as ValidatorOutput;
    }

    it("has no unknown names, no errors on required fields, and resolves every ${env:} reference", async () => {
      const exported = generateDebeziumConfigs({
        spec: exportSpec(),
        connections: exportProfiles(),
      });
      const files = debeziumFiles(exported);
      const connectorFiles = [...files.keys()].filter(
        (name) => name.startsWith("eddy-") && name.endsWith(".json"),
      );
      // A deliberately wrong config proves the checks bite: a misspelt name, a missing required field.
      const broken = JSON.parse(files.get(connectorFiles[0]!)!) as {
        name: string;
        config: Record<string, string>;
      };
      delete broken.config["topic.prefix"];
      broken.config["slot.nmae"] = "typo";
      files.set("broken.json", JSON.stringify(broken));
      const result = await validate(files, [...connectorFiles, "broken.json"]);

      expect(result.worker).toMatchObject({
        ok: true,
        unknown: [],
        bootstrapServers: "127.0.0.1:9092",
      });
      const [first, second, wrong] = result.connectors;
      for (const connector of [first!, second!]) {
        expect(connector.version, connector.file).toMatch(/^2\.7\./);
        expect(connector.unknown, connector.file).toEqual([]);
        expect(connector.errors, connector.file).toEqual({});
        expect(connector.unresolved, connector.file).toEqual([]);
      }
      expect(first!.passThrough).toEqual(["database.encrypt"]);
      expect(second!.passThrough).toEqual([]);
      expect(first!.resolvedFromEnv.sort()).toEqual([
        "database.password",
        "schema.history.internal.kafka.bootstrap.servers",
      ]);
      expect(second!.resolvedFromEnv).toEqual(["database.password"]);
      expect(wrong!.unknown).toEqual(["slot.nmae"]);
      expect(Object.keys(wrong!.errors)).toContain("topic.prefix");
    });

    it("every allow-listed property name exists in the connectors or in Kafka Connect", async () => {
      // One config per connector that sets every allow-listed name: unknown ones come back as `unknown`.
      const everything = (
        className: string,
        names: readonly string[],
      ): string =>
        JSON.stringify({
          name: "all",
          config: Object.fromEntries(
            [...CONNECT_COMMON_PROPERTIES, ...names].map((name) => [
              name,
              name === "connector.class" ? className : "x",
            ]),
          ),
        });
      const exported = generateDebeziumConfigs({
        spec: exportSpec(),
        connections: exportProfiles(),
      });
      const files = debeziumFiles(exported);
      files.set(
        "all-postgres.json",
        everything(
          "io.debezium.connector.postgresql.PostgresConnector",
          POSTGRES_PROPERTIES,
        ),
      );
      files.set(
        "all-sqlserver.json",
        everything(
          "io.debezium.connector.sqlserver.SqlServerConnector",
          SQLSERVER_PROPERTIES,
        ),
      );
      const result = await validate(files, [
        "all-postgres.json",
        "all-sqlserver.json",
      ]);
      expect(result.connectors[0]!.unknown).toEqual([]);
      expect(result.connectors[1]!.unknown).toEqual([]);
      expect(result.connectors[1]!.passThrough.sort()).toEqual(
        [...SQLSERVER_DRIVER_PROPERTIES].sort(),
      );
    });
  },
);
