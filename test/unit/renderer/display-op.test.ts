// The Explorer's Op column: an event's own operation, or `t` for a Debezium truncate envelope.
import { describe, expect, it } from 'vitest';
import { displayOp } from '../../../renderer/features/explorer/format';

describe('displayOp', () => {
  it('shows the event op, t for a truncate envelope, and nothing otherwise', () => {
    expect(displayOp({ op: 'u', value: { op: 'u', before: null, after: {} } })).toBe('u');
    expect(displayOp({ op: null, value: { op: 't', source: { table: 'orders' } } })).toBe('t');
    expect(displayOp({ op: null, value: { op: 'x' } })).toBeNull();
    expect(displayOp({ op: null, value: 'plain text' })).toBeNull();
    expect(displayOp({ value: null })).toBeNull();
  });
});
