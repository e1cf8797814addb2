// PostgreSQL log sequence numbers (LSNs): the server's text form `16/B374D848`, the 64-bit value,
// and the zero-padded hex form used inside event positions so that positions sort as text.

export type Lsn = bigint;

export const ZERO_LSN: Lsn = 0n;

/** `16/B374D848` -> 0x16B374D848n. Throws on anything else. */
export function parseLsn(text: string): Lsn {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new Error(`Not a PostgreSQL LSN: "${text}"`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** 0x16B374D848n -> `16/B374D848`, as PostgreSQL prints it. */
export function formatLsn(lsn: Lsn): string {
  const high = Number(lsn >> 32n);
  const low = Number(lsn & 0xffff_ffffn);
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

/** 16 upper-case hex digits, so that positions compare correctly as strings. */
export function paddedLsn(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, '0');
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}

/** Byte distance between two LSNs, as a plain number (never negative). */
export function lsnDistance(ahead: Lsn, behind: Lsn): number {
  return ahead > behind ? Number(ahead - behind) : 0;
}
