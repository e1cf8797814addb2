// Issue 8 items 1 and 5: `eddy export` writes a complete bundle, and no secret reaches it. The
// workspace's connection profiles reference unique canary secrets: `${env:EDDY_CANARY_...}` (set
// in this process's environment) and `${secret:...}` (given to the session store). An engine
// session resolves them (connection tests against closed ports), appends to the event log, runs
// the export as a job and the CLI export; then every file of the bundle and the .tgz, the
// workspace's .eddy folder (event log, state), the emitted events, problems and the CLI's output
// are scanned as raw bytes for each canary in plain, base64, base64url, URL-encoded, hex and
// JSON-escaped forms.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../../main/engine/engine.js";
import {
  SessionSecrets,
  answerSecretsCall,
} from "../../main/host/host-secrets.js";
import { exportCommand } from "../../main/cli/commands/export.js";
import { testCommand } from "../../main/cli/commands/test.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// Printable but unusual: '+', '/', '=' and '%' make the encoded forms differ from the plain one.
const canary = (label: string): string =>
  `cnry-${label}-${randomBytes(12).toString("hex")}+/=%`;
const ENV_NAME = `EDDY_CANARY_${randomBytes(4).toString("hex").toUpperCase()}`;
const SECRET_NAME = `eddy_canary_${randomBytes(4).toString("hex")}`;
const KAFKA_SECRET_NAME = `${SECRET_NAME}_kafka`;
const canaries = {
  env: canary("env"),
  secret: canary("secret"),
  kafka: canary("kafka"),
};

function forms(value: string): Buffer[] {
  const bytes = Buffer.from(value, "utf8");
  const core = value.slice(0, value.indexOf("+"));
  return [
    bytes,
    Buffer.from(core),
    Buffer.from(bytes.toString("base64")),
    Buffer.from(bytes.toString("base64url")),
    Buffer.from(Buffer.from(core).toString("base64").replace(/=+$/, "")),
    Buffer.from(encodeURIComponent(value)),
    Buffer.from(encodeURIComponent(value).toLowerCase()),
    Buffer.from(bytes.toString("hex")),
    Buffer.from(bytes.toString("hex").toUpperCase()),
    Buffer.from(JSON.stringify(value).slice(1, -1)),
    Buffer.from(value, "utf16le"),
  ];
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function leaks(where: string, content: Buffer): string[] {
  const found: string[] = [];
  for (const [label, value] of Object.entries(canaries)) {
    forms(value).forEach((form, index) => {
      if (content.includes(form))
        found.push(`${where}: canary ${label} (form ${index})`);
    });
  }
  return found;
}

describe("eddy export: a complete bundle with no secret in it", () => {
  let workspace: string;
  let outDir: string;
  let engine: Engine;
  const emitted: string[] = [];
  const output: string[] = [];
  const previousEnv = process.env[ENV_NAME];

  beforeAll(async () => {
    process.env[ENV_NAME] = canaries.env;
    const base = await mkdtemp(path.join(os.tmpdir(), "eddy-export-"));
    workspace = path.join(base, "ws");
    outDir = path.join(base, "bundle");
    await cp(path.join(ROOT, "demo"), workspace, { recursive: true });
    await mkdir(path.join(workspace, "connections"), { recursive: true });
    const profiles = [
      {
        id: "shop",
        name: "Shop (SQL Server)",
        kind: "sqlserver",
        host: "127.0.0.1",
        port: 1,
        database: "shop",
        user: "cdc",
        password: `\${secret:${SECRET_NAME}}`,
        encrypt: false,
      },
      {
        id: "billing",
        name: "Billing (PostgreSQL)",
        kind: "postgres",
        host: "127.0.0.1",
        port: 1,
        database: "billing",
        user: "debezium",
        password: `\${env:${ENV_NAME}}`,
        ssl: "disable",
      },
      {
        id: "cluster",
        name: "Cluster",
        kind: "kafka",
        brokers: ["127.0.0.1:1"],
        sasl: {
          mechanism: "plain",
          username: "eddy",
          password: `\${secret:${KAFKA_SECRET_NAME}}`,
        },
      },
    ];
    for (const profile of profiles)
      await writeFile(
        path.join(workspace, "connections", `${profile.id}.json`),
        JSON.stringify(profile, null, 2),
      );
    await writeFile(
      path.join(workspace, "pipelines", "paid-orders.pipeline.json"),
      JSON.stringify(
        {
          version: 1,
          name: "paid-orders",
          sources: [
            {
              id: "orders",
              kind: "cdc",
              connection: "shop",
              table: "dbo.Orders",
              stream: "sqlserver:shop.dbo.Orders",
            },
            {
              id: "invoices",
              kind: "cdc",
              connection: "billing",
              table: "public.invoices",
              stream: "pg:billing.public.invoices",
            },
          ],
          stages: [
            {
              id: "paid",
              kind: "transform",
              inputs: ["orders"],
              script: "transforms/paid-orders.ts",
            },
          ],
          sinks: [
            {
              id: "out",
              kind: "kafka",
              inputs: ["paid"],
              connection: "cluster",
              topic: "orders.paid",
            },
            {
              id: "copy",
              kind: "postgres",
              inputs: ["invoices"],
              connection: "billing",
              table: "public.invoices_copy",
              key: ["id"],
            },
          ],
        },
        null,
        2,
      ),
    );
    const secrets = new SessionSecrets(process.env, "test host");
    engine = await createEngine(
      {
        host: "cli",
        version: "test",
        workspace,
        dataDir: path.join(base, "data"),
        resourcesDir: ROOT,
      },
      ((stream: string, payload: unknown) =>
        emitted.push(`${stream} ${JSON.stringify(payload)}`)) as never,
      (call) => answerSecretsCall(secrets, call),
    );
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    if (previousEnv === undefined) delete process.env[ENV_NAME];
    else process.env[ENV_NAME] = previousEnv;
    if (workspace)
      await rm(path.dirname(workspace), { recursive: true, force: true });
  });

  it("exports with the engine (job) and the CLI, and nothing anywhere contains a canary", async () => {
    await engine.handlers.setSecret({
      name: SECRET_NAME,
      value: canaries.secret,
      persist: false,
    });
    await engine.handlers.setSecret({
      name: KAFKA_SECRET_NAME,
      value: canaries.kafka,
      persist: false,
    });
    // The session uses the secrets: each connection test resolves its password, then fails to connect.
    for (const id of ["shop", "billing", "cluster"]) {
      const result = await engine.handlers.testConnection({ id });
      output.push(JSON.stringify(result));
      expect(result.stage, id).not.toBe("secret");
    }
    const job = await engine.handlers.exportPipeline({
      pipeline: "pipelines/paid-orders.pipeline.json",
      outDir,
      tgz: true,
    });
    const finished = await engine.context.jobs.wait(job.id);
    expect(finished.state, finished.message).toBe("succeeded");

    // The CLI, capturing what it prints.
    const cliOut = path.join(path.dirname(outDir), "cli-bundle");
    const writes: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) =>
      writes.push(String(chunk)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) =>
      writes.push(String(chunk)) > 0) as typeof process.stderr.write;
    let code: number;
    try {
      code = await exportCommand.run([
        path.join(workspace, "pipelines/customer-activity.pipeline.json"),
        "--out",
        cliOut,
      ]);
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    output.push(...writes);
    expect(code, writes.join("")).toBe(0);

    // The bundle's shape.
    const files = (await allFiles(outDir))
      .map((file) => path.relative(outDir, file).split(path.sep).join("/"))
      .sort();
    for (const expected of [
      "bundle.json",
      "pipeline.json",
      "README.md",
      "Dockerfile",
      "package.json",
      "package-lock.json",
      "runner.js",
      "eddy-workspace.json",
      "compiled/transforms/paid-orders.js",
      "transforms/paid-orders.ts",
      "tests/paid-orders.test.json",
      "connections/shop.json",
      "connect/worker.properties",
      "connect/eddy-paid-orders-shop.json",
      "connect/eddy-paid-orders-billing.json",
    ]) {
      expect(files).toContain(expected);
    }
    const manifest = JSON.parse(
      await readFile(path.join(outDir, "bundle.json"), "utf8"),
    ) as {
      consumerGroup: string;
      environment: { name: string }[];
      inputTopics: { topic: string }[];
    };
    expect(manifest.consumerGroup).toBe("eddy-paid-orders");
    expect(manifest.inputTopics.map((entry) => entry.topic).sort()).toEqual([
      "paid-orders.billing.public.invoices",
      "paid-orders.shop.shop.dbo.Orders",
    ]);
    expect(manifest.environment.map((entry) => entry.name).sort()).toEqual(
      [
        `EDDY_SECRET_${KAFKA_SECRET_NAME.toUpperCase()}`,
        `EDDY_SECRET_${SECRET_NAME.toUpperCase()}`,
        ENV_NAME,
        "KAFKA_BOOTSTRAP_SERVERS",
      ].sort(),
    );
    const pkg = JSON.parse(
      await readFile(path.join(outDir, "package.json"), "utf8"),
    ) as { dependencies: Record<string, string> };
    for (const version of Object.values(pkg.dependencies))
      expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const lock = JSON.parse(
      await readFile(path.join(outDir, "package-lock.json"), "utf8"),
    ) as { packages: Record<string, { version?: string }> };
    for (const [name, version] of Object.entries(pkg.dependencies))
      expect(lock.packages[`node_modules/${name}`]?.version).toBe(version);
    const readme = await readFile(path.join(outDir, "README.md"), "utf8");
    for (const phrase of [
      "## Deploy",
      "## Scale",
      "## Monitor",
      "## Roll back",
      "eddy-paid-orders",
      "/metrics",
      "/health",
    ])
      expect(readme).toContain(phrase);
    const exportedShop = JSON.parse(
      await readFile(path.join(outDir, "connections/shop.json"), "utf8"),
    ) as { password: string };
    expect(exportedShop.password).toBe(
      `\${env:EDDY_SECRET_${SECRET_NAME.toUpperCase()}}`,
    );
    expect(await readFile(path.join(outDir, "Dockerfile"), "utf8")).toMatch(
      /FROM node:20-slim[\s\S]*npm ci --omit=dev[\s\S]*"node", "runner.js"/,
    );
    // The bundled runner starts, checks its environment and says what is missing. Its packages
    // are what `npm ci` installs from the bundle's lockfile: Eddy's own, linked for the test.
    symlinkSync(
      path.join(ROOT, "node_modules"),
      path.join(outDir, "node_modules"),
      "dir",
    );
    let runnerError = "";
    try {
      execFileSync(process.execPath, [path.join(outDir, "runner.js")], {
        env: { PATH: process.env.PATH ?? "" },
        stdio: "pipe",
      });
    } catch (error) {
      runnerError = String((error as { stderr?: Buffer }).stderr);
    }
    expect(runnerError).toContain(ENV_NAME);
    await rm(path.join(outDir, "node_modules"));
    const cliFiles = (await allFiles(cliOut)).map((file) =>
      path.relative(cliOut, file).split(path.sep).join("/"),
    );
    expect(cliFiles).toContain(
      "pipelines/customer-activity.pipeline-test.json",
    );
    expect(
      JSON.parse(await readFile(path.join(cliOut, "bundle.json"), "utf8"))
        .changelogTopics,
    ).toEqual([
      {
        stage: "running-total",
        topic: "eddy-customer-activity.running-total.changelog",
      },
      {
        stage: "calls-per-customer",
        topic: "eddy-customer-activity.calls-per-customer.changelog",
      },
      {
        stage: "hourly-sales",
        topic: "eddy-customer-activity.hourly-sales.changelog",
      },
    ]);

    // `eddy test BUNDLE` passes.
    const testWrites: string[] = [];
    process.stdout.write = ((chunk: string) =>
      testWrites.push(String(chunk)) > 0) as typeof process.stdout.write;
    let testCode: number;
    try {
      testCode = await testCommand.run([outDir, "--no-color"]);
    } finally {
      process.stdout.write = stdout;
    }
    output.push(...testWrites);
    expect(testCode, testWrites.join("")).toBe(0);

    // The canary scan.
    await engine.close();
    const found: string[] = [];
    for (const dir of [
      outDir,
      cliOut,
      path.join(workspace, ".eddy"),
      path.join(workspace, "connections"),
    ]) {
      for (const file of await allFiles(dir))
        found.push(...leaks(file, await readFile(file)));
    }
    found.push(...leaks(`${outDir}.tgz`, await readFile(`${outDir}.tgz`)));
    const tgzList = execFileSync("tar", ["-xzOf", `${outDir}.tgz`], { maxBuffer: 512 * 1024 * 1024 });
    found.push(...leaks("tgz contents", tgzList));
    found.push(...leaks("emitted events", Buffer.from(emitted.join("\n"))));
    found.push(...leaks("output", Buffer.from(output.join("\n"))));
    expect(found).toEqual([]);
    // The scan can see a canary: it finds the one put in the process environment.
    expect(
      leaks(
        "self-check",
        Buffer.from(JSON.stringify({ value: process.env[ENV_NAME] })),
      ).length,
    ).toBeGreaterThan(0);
  });
});
