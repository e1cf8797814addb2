// A replication connection (`replication=database`) over `pg`: create a logical slot (exporting
// its snapshot when asked), stream it with pgoutput, send standby status updates, and pause the
// socket when the consumer falls behind (backpressure: the server simply waits).
//
// Written over `pg` rather than a replication library so that the confirmed position is exactly
// the one Eddy chooses (see encodeStandbyStatus) and is never advanced on a timer.
import type pg from 'pg';
import { parseLsn, formatLsn, type Lsn } from './lsn.js';
import { decodeReplicationFrame, encodeStandbyStatus, type ReplicationFrame } from './pgoutput.js';
import { quoteIdent } from './client.js';

/** The parts of pg's internal Connection used for CopyBoth streaming. */
interface WireConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  removeAllListeners(event?: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  stream: { pause(): void; resume(): void; destroy(): void };
}

export interface CreatedSlot {
  slotName: string;
  consistentPoint: Lsn;
  /** Valid until this connection runs another command: import it with SET TRANSACTION SNAPSHOT. */
  snapshotName: string | null;
}

export class ReplicationConnection {
  private readonly wire: WireConnection;
  private streaming = false;
  private closed = false;
  private streamEnded: Promise<void> = Promise.resolve();

  constructor(private readonly client: pg.Client) {
    this.wire = (client as unknown as { connection: WireConnection }).connection;
  }

  async identify(): Promise<{ systemId: string; timeline: number; walPosition: Lsn; database: string | null }> {
    const result = await this.client.query<{ systemid: string; timeline: number; xlogpos: string; dbname: string | null }>('IDENTIFY_SYSTEM');
    const row = result.rows[0]!;
    return { systemId: String(row.systemid), timeline: Number(row.timeline), walPosition: parseLsn(row.xlogpos), database: row.dbname };
  }

  /** CREATE_REPLICATION_SLOT ... LOGICAL pgoutput, exporting a snapshot for a consistent initial read. */
  async createSlot(name: string, exportSnapshot: boolean): Promise<CreatedSlot> {
    const result = await this.client.query<{ slot_name: string; consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(name)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`,
    );
    const row = result.rows[0]!;
    return { slotName: row.slot_name, consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
  }

  /**
   * START_REPLICATION; every CopyData frame goes to `onFrame` in order. Resolves when the server
   * ends the stream (after `stop()`), rejects with the server's error (invalidated slot, ...).
   */
  start(slot: string, from: Lsn, publication: string, onFrame: (frame: ReplicationFrame) => void): Promise<void> {
    if (this.streaming) throw new Error('already streaming');
    this.streaming = true;
    this.wire.on('copyData', ({ chunk }) => {
      const frame = decodeReplicationFrame(chunk);
      if (frame) onFrame(frame);
    });
    // The publication list is parsed by the server as identifiers inside a string literal.
    const publications = quoteIdent(publication).replaceAll("'", "''");
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(from)} (proto_version '1', publication_names '${publications}')`;
    const ended = this.client.query(sql).then(
      () => undefined,
      (error: unknown) => {
        if (this.closed && error instanceof Error && /Connection terminated|ended unexpectedly/i.test(error.message)) return;
        throw error;
      },
    );
    this.streamEnded = ended.catch(() => undefined);
    return ended;
  }

  /** Standby status update: `flushed` becomes the slot's confirmed_flush_lsn. */
  sendStatus(flushed: Lsn, replyRequested = false): void {
    if (!this.streaming || this.closed) return;
    this.wire.sendCopyFromChunk(encodeStandbyStatus(flushed, replyRequested));
  }

  pause(): void {
    this.wire.stream.pause();
  }

  resume(): void {
    this.wire.stream.resume();
  }

  /** Any command other than START_REPLICATION (used only before streaming). */
  query<R extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.streaming) {
      // CopyDone ends the stream politely; the server answers, the START_REPLICATION query ends
      // and the walsender releases the slot, so the next capture on it can start at once.
      try {
        this.wire.stream.resume();
        this.wire.endCopyFrom();
        await Promise.race([this.streamEnded, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
      } catch {
        // Already gone.
      }
    }
    const ended = this.client.end().catch(() => undefined);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
    await Promise.race([ended, timeout]);
    this.wire.stream.destroy();
  }
}
