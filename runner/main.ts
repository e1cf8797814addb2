// The production runner's entry point, bundled by `eddy export` into the bundle's runner.js
// (issue 8 item 2). It reads the bundle beside it (bundle.json, pipeline.json, connections/) and
// checks that every environment variable the bundle references is set.
//
// NOT DONE: consuming the pipeline's topics in a consumer group, changelog-backed keyed state,
// sinks, /health and /metrics. Until that lands this runner refuses to start (exit code 70) after
// its checks, so that nobody deploys a bundle that silently processes nothing.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parsePipelineSpec } from "../shared/pipeline-spec.js";

interface BundleManifest {
  pipeline: string;
  consumerGroup: string;
  environment: { name: string; purposes: string[] }[];
  inputTopics: { source: string; topic: string }[];
}

export const EXIT_NOT_IMPLEMENTED = 70;

export function checkBundle(
  dir: string,
  env: NodeJS.ProcessEnv,
): { manifest: BundleManifest; missing: string[] } {
  const manifest = JSON.parse(
    readFileSync(path.join(dir, "bundle.json"), "utf8"),
  ) as BundleManifest;
  parsePipelineSpec(
    JSON.parse(readFileSync(path.join(dir, "pipeline.json"), "utf8")),
  );
  const missing = manifest.environment
    .map((entry) => entry.name)
    .filter((name) => !env[name]);
  return { manifest, missing };
}

function main(): number {
  const dir = process.env.EDDY_BUNDLE_DIR ?? __dirname;
  const { manifest, missing } = checkBundle(dir, process.env);
  if (missing.length > 0) {
    process.stderr.write(
      `eddy-runner: set these environment variables first: ${missing.join(", ")}\n`,
    );
    return 78;
  }
  process.stdout.write(
    `eddy-runner: pipeline ${manifest.pipeline}, consumer group ${manifest.consumerGroup}, topics ${manifest.inputTopics.map((entry) => entry.topic).join(", ")}\n`,
  );
  process.stderr.write(
    "eddy-runner: this build cannot process records yet (consumer-group runner not implemented); refusing to start.\n",
  );
  return EXIT_NOT_IMPLEMENTED;
}

if (require.main === module) process.exitCode = main();
