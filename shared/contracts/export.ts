// The contract's part for exporting a pipeline to production (issue 8): `exportPipeline` starts a
// job that writes the bundle (spec, compiled transforms, tests, Debezium/Kafka Connect configs,
// runner, Dockerfile, README); `exportPreview` lists what a bundle would contain without writing
// it. The engine implements these in main/engine/export/.
import { z } from "zod";
import type { CommandTable, EventTable } from "../contract-kit.js";

const JobRef = z.object({ id: z.string() }).passthrough();

export const ExportPipelineRequestSchema = z
  .object({
    /** The pipeline spec file, workspace-relative (e.g. `pipelines/orders.pipeline.json`). */
    pipeline: z.string().min(1),
    /** Where to write the bundle folder (absolute, or relative to the workspace). */
    outDir: z.string().min(1),
    /** Also write `<outDir>.tgz`. */
    tgz: z.boolean().default(false),
    /** Kafka brokers to bake into the configs; default a `${env:KAFKA_BOOTSTRAP_SERVERS}` reference. */
    bootstrapServers: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, "host:port,host:port")
      .optional(),
    /** Debezium `snapshot.mode` for the connectors (default `initial`). */
    snapshotMode: z
      .string()
      .regex(/^[a-z_]+$/)
      .optional(),
  })
  .strict();

export const CdcTopicSchema = z.object({
  source: z.string(),
  stream: z.string(),
  connection: z.string(),
  connector: z.string(),
  topic: z.string(),
});

export const ExportPreviewSchema = z.object({
  pipeline: z.string(),
  consumerGroup: z.string(),
  connectors: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(["postgres", "sqlserver"]),
      connection: z.string(),
      config: z.record(z.string(), z.string()),
    }),
  ),
  topics: z.array(CdcTopicSchema),
  environment: z.array(
    z.object({ name: z.string(), purposes: z.array(z.string()) }),
  ),
});
export type ExportPreview = z.infer<typeof ExportPreviewSchema>;

export const exportCommands = {
  /** Starts the export as a job; its final message names the bundle folder. */
  exportPipeline: { request: ExportPipelineRequestSchema, response: JobRef },
  /** The Debezium configs, topic mapping and environment variables an export would write. */
  exportPreview: {
    request: ExportPipelineRequestSchema.pick({
      pipeline: true,
      bootstrapServers: true,
      snapshotMode: true,
    }).strict(),
    response: ExportPreviewSchema,
  },
} as const satisfies CommandTable;

export const exportEvents = {} as const satisfies EventTable;
