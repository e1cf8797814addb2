// What the exported runner can run: shared by the runner (it refuses to start otherwise) and by
// `eddy export` (which says so when exporting, instead of letting operators find out at deploy).
import type { PipelineSpec, SourceSpec } from '../../../shared/pipeline-spec.js';

/** Sources whose records flow into stages or sinks (a source that only feeds a table is not consumed). */
export function consumedSources(spec: PipelineSpec): SourceSpec[] {
  const used = new Set<string>();
  for (const node of [...spec.stages, ...spec.sinks]) for (const input of node.inputs) used.add(input);
  return spec.sources.filter((source) => used.has(source.id));
}

/** What the runner cannot run outside the app, said before anything starts. */
export function unsupportedParts(spec: PipelineSpec, inputTopics: { source: string; topic: string }[]): string[] {
  const problems: string[] = [];
  const topics = new Set(inputTopics.map((entry) => entry.source));
  for (const source of spec.sources) {
    if (!topics.has(source.id)) problems.push(`source "${source.id}" (${source.kind}) has no Kafka topic to read in production`);
  }
  for (const sink of spec.sinks) {
    if (sink.kind === 'log' || sink.kind === 'warehouse') problems.push(`sink "${sink.id}" writes to the app's local ${sink.kind === 'log' ? 'event log' : 'warehouse'}, which does not exist in production`);
  }
  // One transaction covers inputs, outputs and state: they must live on one cluster.
  const clusters = new Set([...spec.sources.flatMap((source) => (source.kind === 'kafka' ? [source.connection] : [])), ...spec.sinks.flatMap((sink) => (sink.kind === 'kafka' ? [sink.connection] : []))]);
  if (clusters.size > 1) problems.push(`the pipeline uses several Kafka connections (${[...clusters].join(', ')}); the runner reads and writes through one cluster, in one transaction per batch`);
  return problems;
}

