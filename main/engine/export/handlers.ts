// Implements the export commands (shared/contracts/export.ts): `exportPipeline` runs
// exportPipeline() as a job with progress and cancel; `exportPreview` shows the Debezium configs,
// topic mapping and environment variables without writing anything.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { EddyError, type HandlersFor } from "../../../shared/contract-kit.js";
import type { exportCommands } from "../../../shared/contracts/export.js";
import { parsePipelineSpec } from "../../../shared/pipeline-spec.js";
import { getConnectionProfile } from "../connections/store.js";
import type { EngineContext } from "../context.js";
import { exportPipeline, consumerGroupOf } from "./bundle.js";
import { cdcSources, generateDebeziumConfigs } from "./debezium.js";
import type { ConnectionProfile } from "../../../shared/contracts/connections.js";

function insideWorkspace(root: string, relative: string): string {
  const absolute = path.resolve(root, relative);
  if (absolute !== root && !absolute.startsWith(root + path.sep))
    throw new EddyError("VALIDATION", `${relative} is outside the workspace.`);
  return absolute;
}

export function createExportHandlers(
  context: EngineContext,
): HandlersFor<typeof exportCommands> {
  const root = context.workspace.root;
  return {
    async exportPipeline(request) {
      insideWorkspace(root, request.pipeline);
      const outDir = path.resolve(root, request.outDir);
      const title = `Export ${path.basename(request.pipeline).replace(/\.pipeline\.json$/, "")}`;
      return context.jobs.start(
        { kind: "export", title, unit: "steps", total: 8 },
        async (handle) => {
          const result = await exportPipeline({
            root,
            pipeline: request.pipeline,
            outDir,
            tgz: request.tgz,
            bootstrapServers: request.bootstrapServers,
            snapshotMode: request.snapshotMode,
            signal: handle.signal,
            progress: (done, total, message) =>
              handle.progress(done, { total, message }),
          });
          const written = `Bundle written to ${result.tgz ?? result.outDir} (${result.files.length} files).`;
          return result.runnerProblems.length > 0
            ? `${written} Its runner cannot run this pipeline as it is: ${result.runnerProblems.join("; ")}.`
            : written;
        },
      );
    },
    async exportPreview(request) {
      const file = insideWorkspace(root, request.pipeline);
      let spec;
      try {
        spec = parsePipelineSpec(JSON.parse(await readFile(file, "utf8")));
      } catch (error) {
        throw new EddyError(
          "VALIDATION",
          `${request.pipeline} is not a valid pipeline spec: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        );
      }
      const connections = new Map<string, ConnectionProfile>();
      for (const source of cdcSources(spec))
        connections.set(
          source.connection,
          await getConnectionProfile(context, source.connection),
        );
      const exported = generateDebeziumConfigs({
        spec,
        connections,
        bootstrapServers: request.bootstrapServers,
        snapshotMode: request.snapshotMode,
      });
      return {
        pipeline: spec.name,
        consumerGroup: consumerGroupOf(spec),
        connectors: exported.connectors.map((entry) => ({
          name: entry.connector.name,
          kind: entry.kind,
          connection: entry.connection,
          config: entry.connector.config,
        })),
        topics: exported.topics,
        environment: exported.environment.list(),
      };
    },
  };
}
