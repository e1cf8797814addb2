// The pipeline as a graph: sources on the left, stages in the middle by depth, sinks on the right,
// tables under the stages that look them up. Nodes show live counts when a run is on; clicking a
// node selects it in the form.
import type { JSX } from 'react';
import type { PipelineMetrics } from '../../../shared/contracts/pipelines';

interface GraphSpec {
  sources?: { id: string; kind: string }[];
  tables?: { id: string; source: string }[];
  stages?: { id: string; kind: string; inputs: string[]; table?: string }[];
  sinks?: { id: string; kind: string; inputs: string[] }[];
}

interface Node {
  id: string;
  kind: string;
  role: 'source' | 'table' | 'stage' | 'sink';
  column: number;
  row: number;
}

const WIDTH = 140;
const HEIGHT = 44;
const GAP_X = 44;
const GAP_Y = 18;

function layout(spec: GraphSpec): { nodes: Node[]; edges: { from: string; to: string; late: boolean }[]; columns: number } {
  const stages = spec.stages ?? [];
  const depth = new Map<string, number>();
  for (const source of spec.sources ?? []) depth.set(source.id, 0);
  const stageDepth = (id: string, trail: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const stage = stages.find((candidate) => candidate.id === id);
    if (!stage || trail.has(id)) return 0;
    trail.add(id);
    const value = 1 + Math.max(0, ...stage.inputs.map((input) => stageDepth(input.replace(/\.late$/, ''), trail)));
    depth.set(id, value);
    return value;
  };
  for (const stage of stages) stageDepth(stage.id, new Set());
  const lastStage = Math.max(0, ...stages.map((stage) => depth.get(stage.id) ?? 1));
  const nodes: Node[] = [];
  const rows = new Map<number, number>();
  const place = (id: string, kind: string, role: Node['role'], column: number): void => {
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    nodes.push({ id, kind, role, column, row });
  };
  for (const source of spec.sources ?? []) place(source.id, source.kind, 'source', 0);
  for (const stage of [...stages].sort((a, b) => (depth.get(a.id) ?? 0) - (depth.get(b.id) ?? 0))) place(stage.id, stage.kind, 'stage', depth.get(stage.id) ?? 1);
  for (const sink of spec.sinks ?? []) place(sink.id, sink.kind, 'sink', lastStage + 1);
  for (const table of spec.tables ?? []) place(table.id, 'table', 'table', 0);
  const edges: { from: string; to: string; late: boolean }[] = [];
  for (const node of [...stages, ...(spec.sinks ?? [])]) {
    for (const input of node.inputs) edges.push({ from: input.replace(/\.late$/, ''), to: node.id, late: input.endsWith('.late') });
  }
  for (const stage of stages) if (stage.kind === 'lookup' && stage.table) edges.push({ from: stage.table, to: stage.id, late: false });
  return { nodes, edges, columns: lastStage + 2 };
}

function count(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value.toLocaleString();
}

export function PipelineGraph({ spec, metrics, selected, onSelect }: { spec: GraphSpec; metrics: PipelineMetrics | undefined; selected: string | undefined; onSelect: (id: string) => void }): JSX.Element {
  const { nodes, edges, columns } = layout(spec);
  const maxRows = Math.max(1, ...nodes.map((node) => node.row + 1));
  const width = columns * (WIDTH + GAP_X);
  const height = maxRows * (HEIGHT + GAP_Y) + GAP_Y;
  const position = new Map(nodes.map((node) => [node.id, { x: node.column * (WIDTH + GAP_X) + 8, y: node.row * (HEIGHT + GAP_Y) + GAP_Y }]));
  const stageMetrics = new Map((metrics?.stages ?? []).map((stage) => [stage.id, stage]));
  const sinkMetrics = new Map((metrics?.sinks ?? []).map((sink) => [sink.id, sink]));
  return (
    <svg className="pipeline-graph" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Pipeline graph: sources, stages and sinks">
      <defs>
        <marker id="pipeline-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
        </marker>
      </defs>
      {edges.map((edge, index) => {
        const from = position.get(edge.from);
        const to = position.get(edge.to);
        if (!from || !to) return null;
        const x1 = from.x + WIDTH;
        const y1 = from.y + HEIGHT / 2;
        const x2 = to.x;
        const y2 = to.y + HEIGHT / 2;
        const middle = (x1 + x2) / 2;
        return <path key={index} className={edge.late ? 'edge late' : 'edge'} d={`M ${x1} ${y1} C ${middle} ${y1}, ${middle} ${y2}, ${x2} ${y2}`} markerEnd="url(#pipeline-arrow)" />;
      })}
      {nodes.map((node) => {
        const at = position.get(node.id)!;
        const stage = stageMetrics.get(node.id);
        const sink = sinkMetrics.get(node.id);
        const table = node.role === 'table' ? spec.tables?.find((entry) => entry.id === node.id) : undefined;
        const detail = stage
          ? `${node.kind} · ${count(stage.in)} in · ${count(stage.out)} out${stage.deadLetters ? ` · ${stage.deadLetters} dead` : ''}`
          : sink
            ? `${node.kind} · ${count(sink.written)} written`
            : table
              ? `table of ${table.source}`
              : node.kind;
        return (
          <g
            key={`${node.role}:${node.id}`}
            className={`node ${node.role}${selected === node.id ? ' selected' : ''}`}
            transform={`translate(${at.x} ${at.y})`}
            onClick={() => onSelect(node.id)}
            role="button"
            tabIndex={0}
            data-node={node.id}
            aria-label={`${node.role} ${node.id}`}
            onKeyDown={(event) => {
              if (event.key === 'Enter') onSelect(node.id);
            }}
          >
            <rect width={WIDTH} height={HEIGHT} rx={6} />
            <text x={10} y={18} className="node-title">
              {node.id.length > 20 ? `${node.id.slice(0, 19)}…` : node.id}
            </text>
            <text x={10} y={34} className="node-detail">
              {detail.length > 26 ? `${detail.slice(0, 25)}…` : detail}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
