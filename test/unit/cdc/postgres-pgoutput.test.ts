// The pgoutput decoder and the replication frames, on messages built byte by byte as the
// protocol documentation lays them out (protocol-logicalrep-message-formats).
import { describe, expect, it } from 'vitest';
import {
  decodePgoutput,
  decodeReplicationFrame,
  encodeStandbyStatus,
  PgoutputError,
  POSTGRES_EPOCH_MICROS,
  UNCHANGED_TOAST,
} from '../../../main/engine/cdc/postgres/pgoutput';
import { formatLsn, lsnDistance, maxLsn, paddedLsn, parseLsn } from '../../../main/engine/cdc/postgres/lsn';

/** A tiny writer for protocol messages. */
class Bytes {
  private parts: Buffer[] = [];
  byte(value: number | string): this {
    this.parts.push(Buffer.from([typeof value === 'string' ? value.charCodeAt(0) : value]));
    return this;
  }
  int16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeInt16BE(value);
    this.parts.push(buffer);
    return this;
  }
  int32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value >>> 0);
    this.parts.push(buffer);
    return this;
  }
  int64(value: bigint): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(value);
    this.parts.push(buffer);
    return this;
  }
  string(value: string): this {
    this.parts.push(Buffer.from(value, 'utf8'), Buffer.from([0]));
    return this;
  }
  tuple(values: (string | null | 'u')[]): this {
    this.int16(values.length);
    for (const value of values) {
      if (value === null) this.byte('n');
      else if (value === 'u') this.byte('u');
      else {
        const bytes = Buffer.from(value, 'utf8');
        this.byte('t').int32(bytes.length);
        this.parts.push(bytes);
      }
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const commitMicros = 1_700_000_000_123_456n;

describe('pgoutput decoder', () => {
  it('decodes Begin and Commit with LSNs, commit time and xid', () => {
    const begin = decodePgoutput(new Bytes().byte('B').int64(0x16b374d848n).int64(commitMicros - POSTGRES_EPOCH_MICROS).int32(3_000_000_000).done());
    expect(begin).toEqual({ tag: 'begin', finalLsn: 0x16b374d848n, commitTimeMicros: commitMicros, xid: 3_000_000_000 });
    const commit = decodePgoutput(new Bytes().byte('C').byte(0).int64(0x16b374d848n).int64(0x16b374d880n).int64(commitMicros - POSTGRES_EPOCH_MICROS).done());
    expect(commit).toEqual({ tag: 'commit', flags: 0, commitLsn: 0x16b374d848n, endLsn: 0x16b374d880n, commitTimeMicros: commitMicros });
  });

  it('decodes Relation with replica identity and key flags (empty namespace = pg_catalog)', () => {
    const relation = decodePgoutput(
      new Bytes().byte('R').int32(16384).string('public').string('Orders').byte('f').int16(2).byte(1).string('id').int32(23).int32(-1).byte(0).string('note').int32(25).int32(-1).done(),
    );
    expect(relation).toEqual({
      tag: 'relation',
      relation: {
        oid: 16384,
        schema: 'public',
        name: 'Orders',
        replicaIdentity: 'full',
        columns: [
          { isKey: true, name: 'id', typeOid: 23, typeModifier: -1 },
          { isKey: false, name: 'note', typeOid: 25, typeModifier: -1 },
        ],
      },
    });
    const catalog = decodePgoutput(new Bytes().byte('R').int32(1).string('').string('t').byte('d').int16(0).done());
    expect(catalog).toMatchObject({ relation: { schema: 'pg_catalog', replicaIdentity: 'default' } });
  });

  it('decodes Insert, Update (plain, K and O forms) and Delete tuples, keeping NULL and unchanged TOAST apart', () => {
    expect(decodePgoutput(new Bytes().byte('I').int32(7).byte('N').tuple(['1', null, 'ünï']).done())).toEqual({ tag: 'insert', relationOid: 7, newTuple: ['1', null, 'ünï'] });
    expect(decodePgoutput(new Bytes().byte('U').int32(7).byte('N').tuple(['1', 'u']).done())).toEqual({
      tag: 'update',
      relationOid: 7,
      keyTuple: null,
      oldTuple: null,
      newTuple: ['1', UNCHANGED_TOAST],
    });
    expect(decodePgoutput(new Bytes().byte('U').int32(7).byte('K').tuple(['1', null]).byte('N').tuple(['2', 'x']).done())).toMatchObject({ keyTuple: ['1', null], oldTuple: null, newTuple: ['2', 'x'] });
    expect(decodePgoutput(new Bytes().byte('U').int32(7).byte('O').tuple(['1', 'a']).byte('N').tuple(['1', 'b']).done())).toMatchObject({ keyTuple: null, oldTuple: ['1', 'a'], newTuple: ['1', 'b'] });
    expect(decodePgoutput(new Bytes().byte('D').int32(7).byte('K').tuple(['1', null]).done())).toEqual({ tag: 'delete', relationOid: 7, keyTuple: ['1', null], oldTuple: null });
    expect(decodePgoutput(new Bytes().byte('D').int32(7).byte('O').tuple(['1', 'a']).done())).toEqual({ tag: 'delete', relationOid: 7, keyTuple: null, oldTuple: ['1', 'a'] });
  });

  it('decodes Truncate, Origin, Type and logical decoding Messages', () => {
    expect(decodePgoutput(new Bytes().byte('T').int32(2).byte(3).int32(10).int32(11).done())).toEqual({ tag: 'truncate', relationOids: [10, 11], cascade: true, restartIdentity: true });
    expect(decodePgoutput(new Bytes().byte('O').int64(5n).string('node_a').done())).toEqual({ tag: 'origin', lsn: 5n, name: 'node_a' });
    expect(decodePgoutput(new Bytes().byte('Y').int32(90000).string('public').string('mood').done())).toEqual({ tag: 'type', oid: 90000, schema: 'public', name: 'mood' });
    const message = decodePgoutput(new Bytes().byte('M').byte(1).int64(9n).string('eddy').int32(3).byte(1).byte(2).byte(3).done());
    expect(message).toMatchObject({ tag: 'message', transactional: true, lsn: 9n, prefix: 'eddy' });
    expect([...(message as { content: Buffer }).content]).toEqual([1, 2, 3]);
  });

  it('refuses truncated or unknown messages with a clear error', () => {
    const insert = new Bytes().byte('I').int32(7).byte('N').tuple(['12345']).done();
    expect(() => decodePgoutput(insert.subarray(0, insert.length - 1))).toThrow(PgoutputError);
    expect(() => decodePgoutput(Buffer.from('Z'))).toThrow(/unknown pgoutput message "Z"/);
    expect(() => decodePgoutput(new Bytes().byte('I').int32(7).byte('N').int16(1).byte('b').int32(0).done())).toThrow(/column kind "b"/);
  });
});

describe('replication frames', () => {
  it('splits XLogData into positions and payload, and reads keep-alives', () => {
    const payload = Buffer.from('hello');
    const xlog = Buffer.concat([Buffer.from('w'), new Bytes().int64(100n).int64(200n).int64(0n).done(), payload]);
    expect(decodeReplicationFrame(xlog)).toEqual({ kind: 'xlog', start: 100n, walEnd: 200n, sendTimeMicros: POSTGRES_EPOCH_MICROS, payload });
    const keepalive = Buffer.concat([Buffer.from('k'), new Bytes().int64(300n).int64(10n).byte(1).done()]);
    expect(decodeReplicationFrame(keepalive)).toEqual({ kind: 'keepalive', walEnd: 300n, sendTimeMicros: POSTGRES_EPOCH_MICROS + 10n, replyRequested: true });
    expect(decodeReplicationFrame(Buffer.from('x'))).toBeUndefined();
  });

  it('confirms exactly the given LSN (no +1: a commit end LSN may be where the next commit starts)', () => {
    const status = encodeStandbyStatus(0x16b374d880n, true, 946_684_800_000 + 5);
    expect(status.length).toBe(34);
    expect(String.fromCharCode(status[0]!)).toBe('r');
    expect(status.readBigUInt64BE(1)).toBe(0x16b374d880n);
    expect(status.readBigUInt64BE(9)).toBe(0x16b374d880n);
    expect(status.readBigUInt64BE(17)).toBe(0x16b374d880n);
    expect(status.readBigInt64BE(25)).toBe(5000n);
    expect(status[33]).toBe(1);
  });
});

describe('LSNs', () => {
  it('parses, prints and pads LSNs so that positions sort as text', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(paddedLsn(0x16b374d848n)).toBe('00000016B374D848');
    expect(paddedLsn(0xfn) < paddedLsn(0x10n)).toBe(true);
    expect(() => parseLsn('16-B3')).toThrow(/Not a PostgreSQL LSN/);
    expect(maxLsn(1n, 2n)).toBe(2n);
    expect(lsnDistance(10n, 4n)).toBe(6);
    expect(lsnDistance(4n, 10n)).toBe(0);
  });
});
