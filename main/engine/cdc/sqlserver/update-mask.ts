// `__$update_mask` decoding. SQL Server indexes the mask from its END: sys.fn_cdc_is_bit_set is
// `SUBSTRING(@mask, DATALENGTH(@mask) - ((@position - 1) / 8), 1) & POWER(2, (@position - 1) % 8)`,
// so column ordinal 1 is the lowest bit of the LAST byte (research/cdc_streaming.md 1.1). With at
// most 8 captured columns front- and end-indexing agree, which is why tests use 20 columns.

/** Whether the column with this `column_ordinal` (1-based) is flagged in the mask. */
export function isColumnChanged(mask: Uint8Array, ordinal: number): boolean {
  if (ordinal < 1) return false;
  const byteIndex = mask.length - 1 - Math.floor((ordinal - 1) / 8);
  if (byteIndex < 0) return false;
  return (mask[byteIndex]! & (1 << ((ordinal - 1) % 8))) !== 0;
}

/** Ordinals (1-based, ascending) of every flagged column, up to `columnCount`. */
export function changedOrdinals(mask: Uint8Array, columnCount: number): number[] {
  const result: number[] = [];
  for (let ordinal = 1; ordinal <= columnCount; ordinal++) if (isColumnChanged(mask, ordinal)) result.push(ordinal);
  return result;
}

/** The mask SQL Server would write for these ordinals (used by tests and recorded fixtures). */
export function maskFor(ordinals: number[], columnCount: number): Buffer {
  const mask = Buffer.alloc(Math.max(1, Math.ceil(columnCount / 8)));
  for (const ordinal of ordinals) {
    const index = mask.length - 1 - Math.floor((ordinal - 1) / 8);
    mask[index] = (mask[index] ?? 0) | (1 << ((ordinal - 1) % 8));
  }
  return mask;
}
