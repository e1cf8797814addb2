// The activity registry: every entry of the activity bar, where its view goes, and what it shows
// before its feature exists. Feature panels are picked up from their agreed files
// (`renderer/features/<feature>/<feature>-panel.tsx` exporting `<Feature>Panel({ engineReady })`)
// as soon as they exist, with no change here; to mount another panel, add one entry below.
import { lazy, type ComponentType, type JSX, type LazyExoticComponent, type ReactNode } from 'react';
import { ConnectionsPanel } from '../features/connections/connections-panel';
import { StreamList } from '../features/explorer/stream-list';
import { icons } from './icons';

export interface PanelProps {
  engineReady: boolean;
}

export interface EmptyActivity {
  title: string;
  text: string;
  next: { label: string; command: string }[];
}

export interface Activity {
  id: string;
  label: string;
  icon: ReactNode;
  keys: string;
  /** `side`: the panel is the side bar and the editor tabs stay; `main`: the panel fills the editor area. */
  placement: 'side' | 'main';
  Panel?: ComponentType<PanelProps> | LazyExoticComponent<ComponentType<PanelProps>>;
  /** Shown while the feature's panel is not in this build. */
  empty?: EmptyActivity;
  /** Where the panel is expected, to say so in the empty state. */
  file?: string;
}

type PanelModule = Record<string, ComponentType<PanelProps> | undefined>;

// One literal list so Vite can resolve it at build time; a file that does not exist yet is simply absent.
const featurePanels = import.meta.glob<PanelModule>([
  '../features/kafka/kafka-panel.tsx',
  '../features/cdc/cdc-panel.tsx',
  '../features/transforms/transforms-panel.tsx',
  '../features/tests/tests-panel.tsx',
  '../features/pipelines/pipelines-panel.tsx',
]);

function MissingExport({ name, file }: { name: string; file: string }): JSX.Element {
  return (
    <div className="empty-state error" role="alert">
      <p>
        {file} does not export <code>{name}</code>.
      </p>
    </div>
  );
}

function featurePanel(feature: string, exportName: string): LazyExoticComponent<ComponentType<PanelProps>> | undefined {
  const file = `../features/${feature}/${feature}-panel.tsx`;
  const load = featurePanels[file];
  if (!load) return undefined;
  return lazy(async () => {
    const module = await load();
    const Panel = module[exportName];
    return { default: Panel ?? (() => <MissingExport name={exportName} file={file.slice(3)} />) };
  });
}

function ExplorerSide({ engineReady }: PanelProps): JSX.Element {
  return <StreamList engineReady={engineReady} />;
}

export const activities: Activity[] = [
  { id: 'explorer', label: 'Explorer', icon: icons.explorer, keys: 'Alt+1', placement: 'side', Panel: ExplorerSide },
  { id: 'connections', label: 'Connections', icon: icons.connections, keys: 'Alt+2', placement: 'side', Panel: ConnectionsPanel },
  {
    id: 'kafka',
    label: 'Kafka',
    icon: icons.kafka,
    keys: 'Alt+3',
    placement: 'main',
    Panel: featurePanel('kafka', 'KafkaPanel'),
    file: 'renderer/features/kafka/kafka-panel.tsx',
    empty: {
      title: 'Kafka topics',
      text: 'Browse a cluster’s topics and capture a sample of one into the local event log. Start by adding a Kafka connection and testing it. The demo workspace already holds a captured topic, kafka:callcentre.calls.',
      next: [
        { label: 'Add a Kafka connection', command: 'workbench.activity.connections' },
        { label: 'Open the Explorer', command: 'workbench.activity.explorer' },
      ],
    },
  },
  {
    id: 'cdc',
    label: 'Change data capture',
    icon: icons.cdc,
    keys: 'Alt+4',
    placement: 'main',
    Panel: featurePanel('cdc', 'CdcPanel'),
    file: 'renderer/features/cdc/cdc-panel.tsx',
    empty: {
      title: 'Change data capture',
      text: 'Capture every insert, update and delete of SQL Server or PostgreSQL tables into the local log. Add a database connection first. The demo workspace has captured changes of a shop database (Customers and Orders).',
      next: [
        { label: 'Add a database connection', command: 'workbench.activity.connections' },
        { label: 'Open the Explorer', command: 'workbench.activity.explorer' },
      ],
    },
  },
  {
    id: 'transforms',
    label: 'Transforms',
    icon: icons.transforms,
    keys: 'Alt+5',
    placement: 'main',
    Panel: featurePanel('transforms', 'TransformsPanel'),
    file: 'renderer/features/transforms/transforms-panel.tsx',
    empty: {
      title: 'Transform scripts',
      text: 'Transforms are TypeScript functions from an event to zero or more events, kept as files in the workspace and tested against captured samples. While you wait for them, look at the events you would transform: the Explorer shows each change with its before and after, and SQL reaches every field.',
      next: [
        { label: 'Explore the events', command: 'workbench.activity.explorer' },
        { label: 'New SQL query', command: 'explorer.newQuery' },
      ],
    },
  },
  {
    id: 'tests',
    label: 'Tests',
    icon: icons.tests,
    keys: 'Alt+6',
    placement: 'main',
    Panel: featurePanel('tests', 'TestsPanel'),
    file: 'renderer/features/tests/tests-panel.tsx',
    empty: {
      title: 'Tests',
      text: 'Tests pin sample events, the expected output and the time, and run here and headless with `eddy test`. Select events in the Explorer and export them as JSON Lines to start a fixture.',
      next: [
        { label: 'Explore the events', command: 'workbench.activity.explorer' },
      ],
    },
  },
  {
    id: 'pipelines',
    label: 'Pipelines',
    icon: icons.pipelines,
    keys: 'Alt+7',
    placement: 'main',
    Panel: featurePanel('pipelines', 'PipelinesPanel'),
    file: 'renderer/features/pipelines/pipelines-panel.tsx',
    empty: {
      title: 'Pipelines',
      text: 'A pipeline runs sources through transform stages into sinks, locally, with state, event time and dead letters. Records a stage rejects show up under Dead letters in the bottom panel.',
      next: [
        { label: 'Show dead letters', command: 'workbench.panel.deadLetters' },
        { label: 'Chart event rates', command: 'charts.open' },
      ],
    },
  },
];

export function activityById(id: string): Activity {
  return activities.find((activity) => activity.id === id) ?? activities[0]!;
}
