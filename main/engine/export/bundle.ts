// `eddy export`: writes a pipeline's production bundle (issue 8 item 1). The bundle is itself an
// Eddy workspace (so `eddy test BUNDLE` runs its tests) plus what production needs:
//
//   bundle.json            what was exported: pipeline, consumer group, topics, env vars, file hashes
//   pipeline.json          the spec (also kept at its workspace path for the pipeline tests)
//   connections/           the profiles it uses, every secret as a ${env:NAME} reference
//   compiled/              each stage script compiled to JavaScript (the transforms' own compiler)
//   transforms/, pipelines/scripts/, tests/   sources and tests, as in the workspace
//   connect/               Debezium connector configs + Kafka Connect worker properties
//   runner.js, package.json, package-lock.json, Dockerfile, README.md
//
// No secret value is ever read here: profiles hold references only and are copied as references.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EddyError } from "../../../shared/contract.js";
import {
  ConnectionProfileSchema,
  type ConnectionProfile,
} from "../../../shared/contracts/connections.js";
import {
  deadLetterStream,
  parsePipelineSpec,
  type PipelineSpec,
} from "../../../shared/pipeline-spec.js";
import { compileTransform } from "../transforms/compile.js";
import { WORKER_BUNDLE_NAME } from "../transforms/sandbox/worker-file.js";
import { compileSandboxCode } from "../pipelines/sandbox-executor.js";
import {
  debeziumFiles,
  generateDebeziumConfigs,
  KAFKA_BOOTSTRAP_ENV,
  type CdcTopicMapping,
} from "./debezium.js";
import {
  DEBEZIUM_VERSION,
  KAFKA_CONNECT_VERSION,
} from "./debezium-properties.js";
import { runnerPackage } from "./lockfile.js";
import { operatorReadme } from "./readme.js";
import { RequiredEnvironment } from "./secret-refs.js";
import { unsupportedParts } from "./runner-support.js";

const run = promisify(execFile);

/** Packages runner.js leaves to node_modules: WebAssembly and native pieces do not bundle. */
export const RUNNER_EXTERNAL_PACKAGES = [
  "kafkajs",
  "mssql",
  "pg",
  "quickjs-emscripten",
] as const;
export const BUNDLE_FORMAT = 1;

export interface ExportPipelineOptions {
  /** The workspace root. */
  root: string;
  /** The pipeline spec file, workspace-relative or absolute. */
  pipeline: string;
  outDir: string;
  tgz?: boolean;
  /** Kafka brokers baked into the configs; default the `${env:KAFKA_BOOTSTRAP_SERVERS}` reference. */
  bootstrapServers?: string;
  snapshotMode?: string;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
  /** Overrides how runner.js is produced (tests); default: esbuild bundles `runner/main.ts`. */
  buildRunner?: (outfile: string) => Promise<void>;
}

export interface ExportResult {
  outDir: string;
  tgz?: string;
  pipeline: string;
  files: string[];
  environment: { name: string; purposes: string[] }[];
  connectors: string[];
  topics: CdcTopicMapping[];
  consumerGroup: string;
  /** Why the bundle's runner would refuse this pipeline (empty when it runs it). */
  runnerProblems: string[];
}

export interface StateTopic {
  stage: string;
  topic: string;
}

export function consumerGroupOf(spec: PipelineSpec): string {
  const kafkaGroup = spec.sources.find(
    (source) => source.kind === "kafka" && source.group !== undefined,
  );
  return kafkaGroup?.kind === "kafka" && kafkaGroup.group
    ? kafkaGroup.group
    : `eddy-${spec.name}`;
}

/** Compacted changelog topics, one per stateful stage: `<group>.<stage>.changelog`. */
export function changelogTopics(spec: PipelineSpec): StateTopic[] {
  const group = consumerGroupOf(spec);
  return spec.stages
    .filter((stage) => stage.kind === "keyed" || stage.kind === "window")
    .map((stage) => ({
      stage: stage.id,
      topic: `${group}.${stage.id}.changelog`,
    }));
}

export function deadLetterTopic(spec: PipelineSpec): string {
  return spec.deadLetter.topic ?? `${spec.name}.dead-letters`;
}

/** The project root (where package-lock.json and runner/ live), found upwards from this module. */
export function projectRoot(): string {
  for (
    let dir = path.dirname(fileURLToPath(import.meta.url));
    ;
    dir = path.dirname(dir)
  ) {
    if (
      existsSync(path.join(dir, "package-lock.json")) &&
      existsSync(path.join(dir, "runner", "main.ts"))
    )
      return dir;
    if (path.dirname(dir) === dir)
      throw new EddyError(
        "NOT_FOUND",
        "Cannot find the runner sources (runner/main.ts) next to this Eddy installation.",
      );
  }
}

/** The key of a precompiled script in the manifest's `sandboxScripts`. */
export function sandboxScriptId(script: string, exportName: string): string {
  return `${script}#${exportName}`;
}

/**
 * runner.js is an ES module (the bundle's package.json says "type": "module"), so the sandbox's
 * worker (transform-worker.mjs, built beside it) is found next to it as in the app.
 */
async function buildRunnerWithEsbuild(outfile: string): Promise<void> {
  const esbuild = await import("esbuild");
  const root = projectRoot();
  await esbuild.build({
    entryPoints: [path.join(root, "runner", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // isolated-vm is a native addon the bundle does not ship: the runner's sandbox pool finds it
    // missing and runs scripts in QuickJS, which needs no compiler where the runner is deployed.
    external: [...RUNNER_EXTERNAL_PACKAGES, "isolated-vm"],
    legalComments: "none",
    logLevel: "silent",
    banner: {
      js: "// Eddy pipeline runner, bundled by eddy export. Run: node runner.js",
    },
  });
  await esbuild.build({
    entryPoints: [
      path.join(root, "main", "engine", "transforms", "sandbox", "worker-entry.ts"),
    ],
    outfile: path.join(path.dirname(outfile), WORKER_BUNDLE_NAME),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    legalComments: "none",
    logLevel: "silent",
  });
}

function inside(root: string, relative: string): string {
  const absolute = path.resolve(root, relative);
  if (absolute !== root && !absolute.startsWith(root + path.sep))
    throw new EddyError("VALIDATION", `${relative} is outside the workspace.`);
  return absolute;
}

async function readProfiles(
  root: string,
  ids: Set<string>,
): Promise<Map<string, ConnectionProfile>> {
  const profiles = new Map<string, ConnectionProfile>();
  for (const id of [...ids].sort()) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id))
      throw new EddyError(
        "VALIDATION",
        `"${id}" is not a valid connection id.`,
      );
    let text: string;
    try {
      text = await readFile(
        path.join(root, "connections", `${id}.json`),
        "utf8",
      );
    } catch {
      throw new EddyError(
        "NOT_FOUND",
        `The pipeline uses connection "${id}", which is not in this workspace (connections/${id}.json).`,
      );
    }
    const parsed = ConnectionProfileSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new EddyError(
        "VALIDATION",
        `connections/${id}.json is not a valid connection profile: ${parsed.error.issues[0]?.message ?? "invalid"}`,
      );
    profiles.set(id, parsed.data);
  }
  return profiles;
}

/** The profile with every secret reference turned into the `${env:NAME}` the bundle resolves. */
function exportedProfile(
  profile: ConnectionProfile,
  environment: RequiredEnvironment,
): ConnectionProfile {
  const copy = structuredClone(profile);
  if (copy.kind === "kafka") {
    if (copy.sasl)
      copy.sasl.password = environment.reference(
        copy.sasl.password,
        `SASL password of Kafka connection "${copy.id}" (runner)`,
      );
    if (copy.tls?.keyPassphrase)
      copy.tls.keyPassphrase = environment.reference(
        copy.tls.keyPassphrase,
        `TLS key passphrase of Kafka connection "${copy.id}" (runner)`,
      );
  } else if (copy.password) {
    copy.password = environment.reference(
      copy.password,
      `password of connection "${copy.id}"`,
    );
  }
  return copy;
}

function connectionIds(spec: PipelineSpec): Set<string> {
  const ids = new Set<string>();
  for (const source of spec.sources)
    if (source.kind !== "log") ids.add(source.connection);
  for (const sink of spec.sinks)
    if ("connection" in sink) ids.add(sink.connection);
  return ids;
}

async function listJson(root: string, folder: string): Promise<string[]> {
  try {
    return (await readdir(path.join(root, folder), { withFileTypes: true }))
      .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
      .map((entry) => `${folder}/${entry.name}`);
  } catch {
    return [];
  }
}

export async function exportPipeline(
  options: ExportPipelineOptions,
): Promise<ExportResult> {
  const root = path.resolve(options.root);
  const specFile = path.isAbsolute(options.pipeline)
    ? options.pipeline
    : inside(root, options.pipeline);
  const specRelative = path.relative(root, specFile).split(path.sep).join("/");
  const outDir = path.resolve(options.outDir);
  if (outDir === root || root.startsWith(outDir + path.sep))
    throw new EddyError(
      "VALIDATION",
      "--out must not be the workspace or contain it.",
    );
  const total = 8;
  let done = 0;
  const step = (message: string): void => {
    options.signal?.throwIfAborted();
    options.progress?.(done++, total, message);
  };

  step("Reading the pipeline");
  let specText: string;
  try {
    specText = await readFile(specFile, "utf8");
  } catch {
    throw new EddyError(
      "NOT_FOUND",
      `There is no pipeline spec at ${options.pipeline}.`,
    );
  }
  let spec: PipelineSpec;
  try {
    spec = parsePipelineSpec(JSON.parse(specText));
  } catch (error) {
    throw new EddyError(
      "VALIDATION",
      `${options.pipeline} is not a valid pipeline spec: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  }
  const environment = new RequiredEnvironment();
  const files = new Map<string, string | Buffer>();

  step("Collecting connections");
  const profiles = await readProfiles(root, connectionIds(spec));
  for (const profile of profiles.values())
    files.set(
      `connections/${profile.id}.json`,
      JSON.stringify(exportedProfile(profile, environment), null, 2) + "\n",
    );

  step("Compiling transforms");
  const scripts = new Set<string>();
  for (const stage of spec.stages)
    if (stage.kind === "transform" || stage.kind === "keyed")
      scripts.add(stage.script);
  const transformTests: string[] = [];
  for (const test of await listJson(root, "tests")) {
    const parsed = JSON.parse(
      await readFile(path.join(root, test), "utf8"),
    ) as { transform?: unknown };
    if (typeof parsed.transform === "string" && scripts.has(parsed.transform))
      transformTests.push(test);
  }
  const compiledScripts: Record<string, string> = {};
  for (const script of [...scripts].sort()) {
    const source = await readFile(inside(root, script), "utf8");
    const compiled = await compileTransform(source, script);
    if (!compiled.ok) {
      const first = compiled.diagnostics.find(
        (diagnostic) => diagnostic.severity === "error",
      );
      throw new EddyError(
        "VALIDATION",
        `${script} does not compile${first ? `: ${first.message}` : ""}.`,
      );
    }
    files.set(script, source);
    const target = `compiled/${script.replace(/\.(ts|mts|js|mjs)$/i, "")}.js`;
    files.set(target, compiled.code);
    compiledScripts[script] = target;
  }
  // What the runner's sandbox loads: each (script, export) a stage uses, compiled ahead of time,
  // so the runner needs no compiler.
  const sandboxScripts: Record<string, string> = {};
  for (const stage of spec.stages) {
    if (stage.kind !== "transform" && stage.kind !== "keyed") continue;
    const id = sandboxScriptId(stage.script, stage.export);
    if (sandboxScripts[id]) continue;
    const source = await readFile(inside(root, stage.script), "utf8");
    const target = `compiled/${stage.script.replace(/\.(ts|mts|js|mjs)$/i, "")}.${stage.export.replace(/[^A-Za-z0-9_$-]/g, "_")}.sandbox.json`;
    files.set(
      target,
      JSON.stringify(
        await compileSandboxCode({
          file: stage.script,
          source,
          exportName: stage.export,
        }),
      ) + "\n",
    );
    sandboxScripts[id] = target;
  }

  step("Copying tests and fixtures");
  files.set(specRelative, specText);
  files.set("pipeline.json", JSON.stringify(spec, null, 2) + "\n");
  for (const test of transformTests)
    files.set(test, await readFile(path.join(root, test), "utf8"));
  const pipelineTests: string[] = [];
  for (const folder of ["pipelines", "tests"]) {
    for (const test of await listJson(root, folder)) {
      if (!test.endsWith(".pipeline-test.json")) continue;
      const text = await readFile(path.join(root, test), "utf8");
      if (
        (JSON.parse(text) as { pipeline?: unknown }).pipeline === specRelative
      ) {
        files.set(test, text);
        pipelineTests.push(test);
      }
    }
  }
  files.set(
    "eddy-workspace.json",
    JSON.stringify(
      {
        name: `${spec.name} (exported bundle)`,
        version: 1,
        description: `Production bundle of pipeline ${spec.name}, written by eddy export.`,
        samples: [],
      },
      null,
      2,
    ) + "\n",
  );

  step("Writing Kafka Connect configs");
  const debezium = generateDebeziumConfigs({
    spec,
    connections: profiles,
    bootstrapServers: options.bootstrapServers,
    snapshotMode: options.snapshotMode,
    environment,
  });
  for (const [name, text] of debeziumFiles(debezium))
    files.set(`connect/${name}`, text);
  if (!options.bootstrapServers)
    environment.add(
      KAFKA_BOOTSTRAP_ENV,
      "Kafka brokers (host:port,...) for Kafka Connect and the runner",
    );

  step("Pinning the runner packages");
  const project = options.buildRunner ? undefined : projectRoot();
  const pkg = await runnerPackage(
    project ?? findLockRoot(),
    `eddy-runner-${spec.name.toLowerCase()}`,
    RUNNER_EXTERNAL_PACKAGES,
  );
  files.set("package.json", JSON.stringify(pkg.packageJson, null, 2) + "\n");
  files.set("package-lock.json", JSON.stringify(pkg.lockfile, null, 2) + "\n");

  const group = consumerGroupOf(spec);
  const inputTopics = [
    ...debezium.topics.map((topic) => ({
      source: topic.source,
      topic: topic.topic,
    })),
    ...spec.sources.flatMap((source) =>
      source.kind === "kafka"
        ? [{ source: source.id, topic: source.topic }]
        : // A log stream captured from Kafka (`kafka:<topic>`) is that topic in production.
          source.kind === "log" && source.stream.startsWith("kafka:")
          ? [{ source: source.id, topic: source.stream.slice("kafka:".length) }]
          : [],
    ),
  ];
  const manifestBase = {
    format: BUNDLE_FORMAT,
    pipeline: spec.name,
    spec: "pipeline.json",
    consumerGroup: group,
    inputTopics,
    changelogTopics: changelogTopics(spec),
    deadLetterTopic: deadLetterTopic(spec),
    deadLetterStream: deadLetterStream(spec),
    connectors: debezium.connectors.map((entry) => ({
      name: entry.connector.name,
      kind: entry.kind,
      connection: entry.connection,
      file: `connect/${entry.connector.name}.json`,
    })),
    compiledScripts,
    sandboxScripts,
    tests: { transform: transformTests, pipeline: pipelineTests },
    environment: environment.list(),
    versions: {
      debezium: DEBEZIUM_VERSION,
      kafkaConnect: KAFKA_CONNECT_VERSION,
      runnerPackages: pkg.packageJson.dependencies,
    },
  };
  files.set(
    "README.md",
    operatorReadme({ spec, manifest: manifestBase, topics: debezium.topics }),
  );
  files.set(
    "Dockerfile",
    [
      "# Eddy pipeline runner (generated by eddy export).",
      "FROM node:20-slim",
      "WORKDIR /app",
      "COPY package.json package-lock.json ./",
      "RUN npm ci --omit=dev && npm cache clean --force",
      "COPY . .",
      "ENV NODE_ENV=production EDDY_RUNNER_PORT=8080",
      "USER node",
      "EXPOSE 8080",
      "# /health answers 200 while the runner consumes (503 while it starts or recovers).",
      `HEALTHCHECK --interval=15s --timeout=5s --start-period=60s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.EDDY_RUNNER_PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]`,
      'CMD ["node", "runner.js"]',
      "",
    ].join("\n"),
  );
  files.set(".dockerignore", "node_modules\n*.tgz\n");

  step("Bundling the runner");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await (options.buildRunner ?? buildRunnerWithEsbuild)(
    path.join(outDir, "runner.js"),
  );
  files.set("runner.js", await readFile(path.join(outDir, "runner.js")));
  if (existsSync(path.join(outDir, WORKER_BUNDLE_NAME)))
    files.set(
      WORKER_BUNDLE_NAME,
      await readFile(path.join(outDir, WORKER_BUNDLE_NAME)),
    );

  step("Writing the bundle");
  const hashes: Record<string, string> = {};
  for (const [relative, content] of [...files.entries()].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const target = inside(outDir, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    hashes[relative] = createHash("sha256").update(content).digest("hex");
  }
  await writeFile(
    path.join(outDir, "bundle.json"),
    JSON.stringify({ ...manifestBase, files: hashes }, null, 2) + "\n",
  );
  let tgz: string | undefined;
  if (options.tgz) {
    tgz = `${outDir}.tgz`;
    await run("tar", [
      "-czf",
      tgz,
      "-C",
      path.dirname(outDir),
      path.basename(outDir),
    ]);
  }
  options.progress?.(total, total, "Exported");
  return {
    outDir,
    tgz,
    pipeline: spec.name,
    files: [...Object.keys(hashes), "bundle.json"].sort(),
    environment: environment.list(),
    connectors: debezium.connectors.map((entry) => entry.connector.name),
    topics: debezium.topics,
    consumerGroup: group,
    runnerProblems: unsupportedParts(spec, inputTopics),
  };
}

function findLockRoot(): string {
  for (
    let dir = path.dirname(fileURLToPath(import.meta.url));
    ;
    dir = path.dirname(dir)
  ) {
    if (existsSync(path.join(dir, "package-lock.json"))) return dir;
    if (path.dirname(dir) === dir)
      throw new EddyError("NOT_FOUND", "Cannot find Eddy's package-lock.json.");
  }
}
