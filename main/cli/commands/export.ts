// `eddy export PIPELINE.json --out DIR [--tgz] [--workspace WS] [--bootstrap HOST:PORT,...]
// [--snapshot-mode MODE]`: writes a pipeline's production bundle (see main/engine/export/bundle.ts).
// Exit codes: 0 written, 1 the export failed, 2 bad usage.
import { existsSync } from "node:fs";
import path from "node:path";
import { EddyError } from "../../../shared/contract-kit.js";
import { flagString, parseArgs, type CliCommand } from "../command.js";
import { exportPipeline } from "../../engine/export/bundle.js";

const WORKSPACE_FILE = "eddy-workspace.json";

function findWorkspace(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, WORKSPACE_FILE))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export const exportCommand: CliCommand = {
  summary:
    "Export a pipeline as a production bundle: runner, Dockerfile, Debezium configs, tests, README.",
  usage:
    "eddy export PIPELINE.json --out DIR [--tgz] [--workspace WS] [--bootstrap HOST:PORT,...] [--snapshot-mode MODE] [--json]",
  async run(args) {
    const parsed = parseArgs(args, ["tgz", "json"]);
    const out = flagString(parsed, "out");
    if (parsed.positionals.length !== 1 || !out) {
      process.stderr.write(
        `eddy export: give one PIPELINE.json and --out DIR.\nUsage: ${this.usage}\n`,
      );
      return 2;
    }
    const pipeline = path.resolve(parsed.positionals[0]!);
    const workspaceFlag = flagString(parsed, "workspace");
    const root = workspaceFlag
      ? path.resolve(workspaceFlag)
      : findWorkspace(path.dirname(pipeline));
    if (!root || !existsSync(path.join(root, WORKSPACE_FILE))) {
      process.stderr.write(
        `eddy export: ${workspaceFlag ?? pipeline} is not in an Eddy workspace (no ${WORKSPACE_FILE}); pass --workspace.\n`,
      );
      return 2;
    }
    try {
      const result = await exportPipeline({
        root,
        pipeline,
        outDir: path.resolve(out),
        tgz: parsed.flags.has("tgz"),
        bootstrapServers: flagString(parsed, "bootstrap"),
        snapshotMode: flagString(parsed, "snapshot-mode"),
        progress: (done, total, message) => {
          if (!parsed.flags.has("json") && process.stderr.isTTY)
            process.stderr.write(`[${done}/${total}] ${message}\n`);
        },
      });
      if (parsed.flags.has("json"))
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        process.stdout.write(
          `Exported pipeline ${result.pipeline} to ${result.outDir}${result.tgz ? ` and ${result.tgz}` : ""} (${result.files.length} files).\n`,
        );
        process.stdout.write(`Consumer group: ${result.consumerGroup}\n`);
        for (const topic of result.topics)
          process.stdout.write(
            `  ${topic.stream} -> ${topic.topic} (connector ${topic.connector})\n`,
          );
        if (result.environment.length > 0)
          process.stdout.write(
            `Set in production: ${result.environment.map((entry) => entry.name).join(", ")}\n`,
          );
        for (const problem of result.runnerProblems)
          process.stderr.write(
            `warning: the bundle's runner cannot run this pipeline as it is: ${problem}\n`,
          );
      }
      return 0;
    } catch (error) {
      const message =
        error instanceof EddyError || error instanceof Error
          ? error.message
          : String(error);
      process.stderr.write(`eddy export: ${message}\n`);
      return 1;
    }
  },
};
