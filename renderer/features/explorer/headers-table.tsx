// Record headers as a two-column table, or a line saying there are none (the event detail and the
// Kafka message browser show them the same way).
import type { JSX } from 'react';
import type { Header } from '../../../shared/events';

export function HeadersTable({ headers, className, empty }: { headers: readonly Header[]; className: string; empty: JSX.Element }): JSX.Element {
  if (headers.length === 0) return empty;
  return (
    <table className={className}>
      <tbody>
        {headers.map((header, index) => (
          <tr key={index}>
            <td className="mono">{header.key}</td>
            <td className="mono">{header.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
