// Decoder for the messages of PostgreSQL's built-in `pgoutput` logical-decoding plugin, protocol
// version 1 (https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html),
// and for the replication stream's CopyData frames that carry them (XLogData `w`, keepalive `k`).
//
// Column values stay in PostgreSQL's text form here; values.ts maps them to JSON. An unchanged
// TOASTed value (`u`) is kept distinct from NULL so that the envelope can mark it unavailable.
import type { Lsn } from './lsn.js';

/** A column the server did not send because it is TOASTed and unchanged by the update. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');
export type ColumnValue = string | null | typeof UNCHANGED_TOAST;
export type Tuple = ColumnValue[];

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  name: string;
  /** Part of the replica identity (for FULL: every column). */
  isKey: boolean;
  typeOid: number;
  typeModifier: number;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTimeMicros: bigint; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: Lsn; endLsn: Lsn; commitTimeMicros: bigint }
  | { tag: 'origin'; lsn: Lsn; name: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'type'; oid: number; schema: string; name: string }
  | { tag: 'insert'; relationOid: number; newTuple: Tuple }
  | { tag: 'update'; relationOid: number; keyTuple: Tuple | null; oldTuple: Tuple | null; newTuple: Tuple }
  | { tag: 'delete'; relationOid: number; keyTuple: Tuple | null; oldTuple: Tuple | null }
  | { tag: 'truncate'; relationOids: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'message'; transactional: boolean; lsn: Lsn; prefix: string; content: Buffer };

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
export const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;

class Reader {
  offset = 0;
  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new PgoutputError(`pgoutput message ends early (needs ${bytes} more bytes at offset ${this.offset} of ${this.buffer.length})`);
  }
  byte(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }
  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new PgoutputError('pgoutput string is not terminated');
    const text = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }
  text(length: number): string {
    this.need(length);
    const text = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }
  bytes(length: number): Buffer {
    this.need(length);
    const bytes = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }
}

export class PgoutputError extends Error {
  override name = 'PgoutputError';
}

const IDENTITY: Record<number, ReplicaIdentity> = { 0x64: 'default', 0x6e: 'nothing', 0x66: 'full', 0x69: 'index' };

function readTuple(reader: Reader): Tuple {
  const count = reader.int16();
  const tuple: Tuple = new Array<ColumnValue>(count);
  for (let index = 0; index < count; index++) {
    const kind = reader.byte();
    if (kind === 0x74 /* t */) tuple[index] = reader.text(reader.int32());
    else if (kind === 0x6e /* n */) tuple[index] = null;
    else if (kind === 0x75 /* u */) tuple[index] = UNCHANGED_TOAST;
    // Binary transfer is never requested (START_REPLICATION without `binary 'true'`).
    else throw new PgoutputError(`unexpected pgoutput column kind "${String.fromCharCode(kind)}"`);
  }
  return tuple;
}

/** Decodes one pgoutput message (the payload of an XLogData frame). */
export function decodePgoutput(payload: Buffer): PgoutputMessage {
  const reader = new Reader(payload);
  const tag = reader.byte();
  switch (tag) {
    case 0x42 /* B */:
      return { tag: 'begin', finalLsn: reader.uint64(), commitTimeMicros: reader.int64() + POSTGRES_EPOCH_MICROS, xid: reader.uint32() };
    case 0x43 /* C */:
      return { tag: 'commit', flags: reader.byte(), commitLsn: reader.uint64(), endLsn: reader.uint64(), commitTimeMicros: reader.int64() + POSTGRES_EPOCH_MICROS };
    case 0x4f /* O */:
      return { tag: 'origin', lsn: reader.uint64(), name: reader.cstring() };
    case 0x52 /* R */: {
      const oid = reader.uint32();
      // An empty namespace means pg_catalog.
      const schema = reader.cstring() || 'pg_catalog';
      const name = reader.cstring();
      const identityByte = reader.byte();
      const replicaIdentity = IDENTITY[identityByte];
      if (!replicaIdentity) throw new PgoutputError(`unknown replica identity "${String.fromCharCode(identityByte)}"`);
      const count = reader.int16();
      const columns: RelationColumn[] = [];
      for (let index = 0; index < count; index++) {
        const flags = reader.byte();
        columns.push({ isKey: (flags & 1) === 1, name: reader.cstring(), typeOid: reader.uint32(), typeModifier: reader.int32() });
      }
      return { tag: 'relation', relation: { oid, schema, name, replicaIdentity, columns } };
    }
    case 0x59 /* Y */:
      return { tag: 'type', oid: reader.uint32(), schema: reader.cstring(), name: reader.cstring() };
    case 0x49 /* I */: {
      const relationOid = reader.uint32();
      expect(reader.byte(), 0x4e, 'insert');
      return { tag: 'insert', relationOid, newTuple: readTuple(reader) };
    }
    case 0x55 /* U */: {
      const relationOid = reader.uint32();
      let keyTuple: Tuple | null = null;
      let oldTuple: Tuple | null = null;
      let marker = reader.byte();
      if (marker === 0x4b /* K */) keyTuple = readTuple(reader);
      else if (marker === 0x4f /* O */) oldTuple = readTuple(reader);
      if (marker !== 0x4e) marker = reader.byte();
      expect(marker, 0x4e, 'update');
      return { tag: 'update', relationOid, keyTuple, oldTuple, newTuple: readTuple(reader) };
    }
    case 0x44 /* D */: {
      const relationOid = reader.uint32();
      const marker = reader.byte();
      if (marker === 0x4b) return { tag: 'delete', relationOid, keyTuple: readTuple(reader), oldTuple: null };
      if (marker === 0x4f) return { tag: 'delete', relationOid, keyTuple: null, oldTuple: readTuple(reader) };
      throw new PgoutputError(`unexpected delete marker "${String.fromCharCode(marker)}"`);
    }
    case 0x54 /* T */: {
      const count = reader.uint32();
      const options = reader.byte();
      const relationOids: number[] = [];
      for (let index = 0; index < count; index++) relationOids.push(reader.uint32());
      return { tag: 'truncate', relationOids, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
    }
    case 0x4d /* M */: {
      const flags = reader.byte();
      const lsn = reader.uint64();
      const prefix = reader.cstring();
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content: Buffer.from(reader.bytes(reader.int32())) };
    }
    default:
      throw new PgoutputError(`unknown pgoutput message "${String.fromCharCode(tag)}" (0x${tag.toString(16)})`);
  }
}

function expect(actual: number, wanted: number, what: string): void {
  if (actual !== wanted) throw new PgoutputError(`malformed ${what} message: expected "${String.fromCharCode(wanted)}", got "${String.fromCharCode(actual)}"`);
}

// ---------------------------------------------------------------------------------------------
// The replication stream's own frames (inside CopyData), and the standby status update we send.

export type ReplicationFrame =
  | { kind: 'xlog'; start: Lsn; walEnd: Lsn; sendTimeMicros: bigint; payload: Buffer }
  | { kind: 'keepalive'; walEnd: Lsn; sendTimeMicros: bigint; replyRequested: boolean };

export function decodeReplicationFrame(chunk: Buffer): ReplicationFrame | undefined {
  const kind = chunk[0];
  if (kind === 0x77 /* w */) {
    return {
      kind: 'xlog',
      start: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      sendTimeMicros: chunk.readBigInt64BE(17) + POSTGRES_EPOCH_MICROS,
      payload: chunk.subarray(25),
    };
  }
  if (kind === 0x6b /* k */) {
    return { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), sendTimeMicros: chunk.readBigInt64BE(9) + POSTGRES_EPOCH_MICROS, replyRequested: chunk[17] === 1 };
  }
  return undefined;
}

/**
 * Standby status update (`r`). For a logical slot the flush position becomes the slot's
 * confirmed_flush_lsn: transactions whose commit record starts before it are never sent again.
 * It is sent exactly as given (pg_recvlogical does the same): a commit's end LSN is already the
 * first byte after it, and adding 1 could skip a transaction whose commit starts right there.
 */
export function encodeStandbyStatus(flushed: Lsn, replyRequested: boolean, nowMillis = Date.now()): Buffer {
  const buffer = Buffer.alloc(34);
  buffer[0] = 0x72; // 'r'
  buffer.writeBigUInt64BE(flushed, 1); // written
  buffer.writeBigUInt64BE(flushed, 9); // flushed
  buffer.writeBigUInt64BE(flushed, 17); // applied
  buffer.writeBigInt64BE(BigInt(nowMillis) * 1000n - POSTGRES_EPOCH_MICROS, 25);
  buffer[33] = replyRequested ? 1 : 0;
  return buffer;
}
