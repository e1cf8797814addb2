// What the before/after view of a change event says above its table (pure, so it is unit-tested).

export function connectorOf(value: { source?: unknown }): string | undefined {
  const source = value.source;
  if (source === null || typeof source !== 'object') return undefined;
  const connector = (source as { connector?: unknown }).connector;
  return typeof connector === 'string' ? connector : undefined;
}

/**
 * What the before/after table says above itself. An update without a before image and a delete
 * whose before holds only the key are how PostgreSQL sends rows of tables without REPLICA
 * IDENTITY FULL (Debezium's envelope keeps the other columns null): say so rather than show a
 * changed row as an insert, or uncaptured columns as nulls.
 */
export function changeSummary(input: { before: Record<string, unknown> | null; after: Record<string, unknown> | null; op?: string | null | undefined; connector?: string | undefined; eventKey?: unknown }): {
  text: string;
  keyOnlyBefore: boolean;
} {
  const { before, after, op, connector } = input;
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const identityAdvice = connector === 'postgresql' ? ' PostgreSQL sends the whole old row only for tables with REPLICA IDENTITY FULL.' : '';
  if (before === null && after === null) return { text: op === 't' ? 'Table truncated (no row images).' : 'No row images.', keyOnlyBefore: false };
  if (before === null) {
    if (op === 'u') return { text: `Updated row: the source sent no before image, so changed fields cannot be told apart.${identityAdvice}`, keyOnlyBefore: false };
    return { text: op === 'r' ? 'Row read by the snapshot (no before image).' : 'Inserted row (no before image).', keyOnlyBefore: false };
  }
  const key = input.eventKey !== null && typeof input.eventKey === 'object' && !Array.isArray(input.eventKey) ? Object.keys(input.eventKey) : [];
  const others = Object.keys(before).filter((field) => !key.includes(field));
  const keyOnlyBefore = key.length > 0 && others.length > 0 && others.every((field) => before[field] === null);
  if (after === null) {
    return {
      text: keyOnlyBefore && connector === 'postgresql' ? `Deleted row: only its key was sent, the other fields were not captured.${identityAdvice}` : 'Deleted row (no after image).',
      keyOnlyBefore: keyOnlyBefore && connector === 'postgresql',
    };
  }
  const changedCount = fields.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field])).length;
  return { text: `${changedCount} of ${fields.length} fields changed.`, keyOnlyBefore: false };
}
