// The welcome page: what this workspace is, the path from captured events to a running pipeline,
// and the shortcuts. What a newcomer sees first, and comes back to.
import type { JSX } from 'react';
import type { AppInfo } from '../../shared/contract';
import { describeKeys } from '../features/palette/commands';
import { openImportDialog } from '../features/explorer/import-dialog';
import { countOf } from '../features/explorer/format';
import { useStreams } from '../features/explorer/streams';
import { startTour } from '../features/tour/tour';
import { openCharts, openSql, openStream, ui } from './ui-state';

export function Welcome({ info }: { info: AppInfo | undefined }): JSX.Element {
  const streams = useStreams();
  const list = streams.list ?? [];
  const total = list.reduce((sum, item) => sum + item.count, 0);
  const first = list.find((item) => item.stream.includes('Customers')) ?? list[0];
  // Known to be empty (not merely still loading): point at capturing first.
  const empty = streams.list !== undefined && list.length === 0 && !info?.workspace.isDemo;
  return (
    <div className="welcome" data-testid="welcome">
      <h1>{info?.workspace.name ?? 'Eddy'}</h1>
      <p className="lead">
        {info?.workspace.isDemo
          ? 'This is the bundled demo workspace: change events captured from a shop database (customers and orders) and call-centre events from a Kafka topic. No server needed.'
          : 'Your workspace is a folder of plain files (connections without secrets, transforms, tests, pipelines) you can keep in git.'}
      </p>
      {list.length > 0 ? (
        <p className="dim">
          The event log holds {countOf(total, 'event')} in {list.length} stream{list.length === 1 ? '' : 's'}.
        </p>
      ) : null}
      <ol className="steps">
        {empty ? (
          <li>
            <strong>Capture</strong> events first: <button className="link-button" onClick={() => ui.set({ activity: 'connections' })}>add a connection</button> to a Kafka broker or a CDC database, then capture from the{' '}
            <button className="link-button" onClick={() => ui.set({ activity: 'kafka' })}>
              Kafka view
            </button>{' '}
            or the{' '}
            <button className="link-button" onClick={() => ui.set({ activity: 'cdc' })}>
              change data capture view
            </button>{' '}
            (or import a JSON Lines file, below).
          </li>
        ) : null}
        <li>
          <strong>Explore</strong> the captured events: {first ? <button className="link-button" onClick={() => openStream(first.stream)}>open {first.stream}</button> : 'pick a stream on the left'}, filter them, and see each change’s before and after.
        </li>
        <li>
          <strong>Query and chart</strong> the log: <button className="link-button" onClick={() => openSql()}>a SQL query</button> over every event, or <button className="link-button" onClick={() => openCharts(first?.stream ?? null)}>event rates and field values</button>.
        </li>
        <li>
          <strong>Transform and test</strong>: write a transform against these samples and pin them as a test (<button className="link-button" onClick={() => ui.set({ activity: 'transforms' })}>Transforms</button>, <button className="link-button" onClick={() => ui.set({ activity: 'tests' })}>Tests</button>).
        </li>
        <li>
          <strong>Run a pipeline</strong> locally, with dead letters for the records a stage rejects (<button className="link-button" onClick={() => ui.set({ activity: 'pipelines' })}>Pipelines</button>).
        </li>
        <li>
          <strong>Export</strong> events as JSON Lines or CSV, or <button className="link-button" onClick={() => openImportDialog()}>import a JSON Lines file</button>.
        </li>
      </ol>
      {/* An empty workspace starts with a connection; the demo with the tour. */}
      <p>
        {empty ? (
          <>
            <button className="primary" onClick={() => ui.set({ activity: 'connections' })}>
              Add a connection
            </button>{' '}
            <button onClick={startTour}>Start the guided tour</button>
          </>
        ) : (
          <>
            <button className="primary" onClick={startTour}>
              Start the guided tour
            </button>{' '}
            <button onClick={() => ui.set({ activity: 'connections' })}>Add a connection</button>
          </>
        )}
      </p>
      <table className="shortcuts" aria-label="Keyboard shortcuts">
        <tbody>
          {[
            ['Mod+Shift+P', 'Command palette: every action'],
            ['Mod+P', 'Go to a stream'],
            ['Mod+Enter', 'Run the SQL query'],
            ['Mod+B', 'Show or hide the side bar'],
            ['Mod+J', 'Show or hide the bottom panel'],
            ['Alt+1 … Alt+7', 'Switch activity'],
          ].map(([keys, text]) => (
            <tr key={keys}>
              <td>
                <kbd>{describeKeys(keys!)}</kbd>
              </td>
              <td>{text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
