// The SQL Server part of the CDC panel: the capture form and the live status of SQL Server
// captures. Mounted by cdc-panel.tsx.
import { useState, type JSX } from 'react';
import { SqlServerCaptureForm } from './sqlserver-capture-form';
import { SqlServerCaptureStatus } from './sqlserver-capture-status';

export function SqlServerCdcSection({ engineReady }: { engineReady: boolean }): JSX.Element {
  const [started, setStarted] = useState<string | undefined>();
  return (
    <section aria-label="SQL Server change data capture" style={{ display: 'grid', gap: 8, padding: 8 }}>
      <header style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
        <span className="badge sqlserver">sqlserver</span>
        <strong>SQL Server CDC</strong>
      </header>
      <p className="hint" style={{ margin: 0 }}>
        Reads the change tables of CDC-enabled tables in commit order into the event log, as Debezium&apos;s SQL Server connector would shape them. The SQL Server Agent must run for CDC to record changes.
      </p>
      <SqlServerCaptureForm engineReady={engineReady} onStarted={setStarted} />
      <SqlServerCaptureStatus engineReady={engineReady} highlight={started} />
    </section>
  );
}
