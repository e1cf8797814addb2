// SQL Server log sequence numbers as the CDC functions hand them out: binary(10) values that
// compare as unsigned bytes. Internally an LSN is its 20 lower-case hex digits (fixed width, so
// string comparison is LSN order); on the wire it is a 10-byte Buffer; in events and positions it
// is Debezium's text form `00000027:00000758:0003` (Lsn.toString: colons after bytes 4 and 8).
import { EddyError } from '../../../../shared/contract.js';

/** 20 lower-case hex digits. */
export type Lsn = string;

export const ZERO_LSN: Lsn = '00000000000000000000';

const HEX20 = /^[0-9a-f]{20}$/;

/** A binary(10) value as tedious returns it (a Buffer) -> Lsn; null stays null. */
export function lsnFromBuffer(value: unknown): Lsn | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Uint8Array) || value.length !== 10) {
    throw new EddyError('INTERNAL', `Expected a binary(10) LSN from SQL Server, got ${describe(value)}.`);
  }
  return Buffer.isBuffer(value) ? value.toString('hex') : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
}

export function lsnToBuffer(lsn: Lsn): Buffer {
  assertLsn(lsn);
  return Buffer.from(lsn, 'hex');
}

/** `00000027:00000758:0003`, Debezium's Lsn.toString(). */
export function lsnToText(lsn: Lsn): string {
  return `${lsn.slice(0, 8)}:${lsn.slice(8, 16)}:${lsn.slice(16, 20)}`;
}

/** Accepts Debezium's text form, `0x` + 20 hex digits, or 20 bare hex digits. */
export function lsnFromText(text: string): Lsn {
  const trimmed = text.trim().toLowerCase();
  const colon = /^([0-9a-f]{8}):([0-9a-f]{8}):([0-9a-f]{4})$/.exec(trimmed);
  if (colon) return `${colon[1]}${colon[2]}${colon[3]}`;
  const hex = trimmed.startsWith('0x') ? trimmed.slice(2) : trimmed;
  if (HEX20.test(hex)) return hex;
  throw new EddyError('VALIDATION', `"${text}" is not a SQL Server LSN (expected 00000027:00000758:0003 or 0x + 20 hex digits).`);
}

export function assertLsn(lsn: string): asserts lsn is Lsn {
  if (!HEX20.test(lsn)) throw new EddyError('INTERNAL', `Not an LSN: "${lsn}".`);
}

export function compareLsn(a: Lsn, b: Lsn): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isZeroLsn(lsn: Lsn | null): boolean {
  return lsn === null || lsn === ZERO_LSN;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}

export function minLsn(a: Lsn, b: Lsn): Lsn {
  return a < b ? a : b;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return typeof value;
}

/** Where a change sits in the log: commit LSN (`__$start_lsn`), change LSN (`__$seqval`) and the
 *  event's serial number among events sharing both (Debezium's event_serial_no). */
export interface ChangePosition {
  commitLsn: Lsn;
  changeLsn: Lsn;
  serial: number;
}

export function comparePosition(a: ChangePosition, b: ChangePosition): number {
  return compareLsn(a.commitLsn, b.commitLsn) || compareLsn(a.changeLsn, b.changeLsn) || a.serial - b.serial;
}

/** The event-log position: `sqlserver:<commit_lsn>:<change_lsn>:<event_serial_no>` in Debezium's LSN text. */
export function positionText(position: ChangePosition): string {
  return `sqlserver:${lsnToText(position.commitLsn)}:${lsnToText(position.changeLsn)}:${position.serial}`;
}
