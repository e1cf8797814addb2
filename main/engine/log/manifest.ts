// The manifest: which sealed segments make up the log (with their checksums and per-stream
// stats), and per-stream settings (retention, the deletion watermark). Published atomically with
// the previous version kept as `manifest.json.prev`; a CRC over its own text catches damage.
import path from 'node:path';
import { crc32c } from './crc32c.js';
import { writeFileAtomic, type DurabilityHooks } from './atomic-file.js';
import type { LogFs } from './fs-layer.js';
import type { GroupStats } from './stream-stats.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface SealedSegmentInfo {
  id: number;
  /** Bumped each time the segment is rewritten without deleted events (compaction). */
  version?: number;
  /** Relative to the log folder. */
  file: string;
  index: string;
  bytes: number;
  sha256: string;
  /**
   * zlib CRC-32 of the file, checked each time the segment is loaded for reads (cheaper than
   * SHA-256, which the background verification and integrity checks use). Absent in segments
   * sealed by older versions: those are checked with SHA-256 on load.
   */
  crc32?: number;
  firstSeq: number;
  lastSeq: number;
  count: number;
  streams: Record<string, GroupStats>;
  /** Set when the file was found damaged and moved to quarantine: kept so the loss stays visible. */
  quarantined?: { at: number; reason: string; movedTo: string };
}

export interface RetentionPolicy {
  maxBytes?: number;
  maxAgeMs?: number;
}

export interface StreamSettings {
  /** Events of the stream with a smaller seq are deleted (by retention or deleteStream). */
  hiddenBelow?: number;
  retention?: RetentionPolicy;
}

export interface Manifest {
  format: 'eddy-event-log';
  version: number;
  generation: number;
  nextSegmentId: number;
  /** No seq below this is ever assigned again (survives deleting every segment). */
  seqFloor: number;
  segments: SealedSegmentInfo[];
  streams: Record<string, StreamSettings>;
}

export function emptyManifest(): Manifest {
  return { format: 'eddy-event-log', version: MANIFEST_VERSION, generation: 0, nextSegmentId: 1, seqFloor: 1, segments: [], streams: {} };
}

function checksum(text: string): string {
  return crc32c(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0');
}

export function encodeManifest(manifest: Manifest): Buffer {
  const body = JSON.stringify(manifest);
  return Buffer.from(JSON.stringify({ checksum: checksum(body), manifest: JSON.parse(body) as Manifest }, null, 1), 'utf8');
}

export type ManifestRead = { ok: true; manifest: Manifest } | { ok: false; reason: string } | { ok: 'missing' };

export async function readManifestFile(fs: LogFs, file: string): Promise<ManifestRead> {
  if ((await fs.sizeOf(file)) === null) return { ok: 'missing' };
  let parsed: { checksum?: unknown; manifest?: Manifest };
  try {
    parsed = JSON.parse((await fs.readFile(file)).toString('utf8')) as typeof parsed;
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  if (!parsed || typeof parsed !== 'object' || !parsed.manifest) return { ok: false, reason: 'no manifest object' };
  if (checksum(JSON.stringify(parsed.manifest)) !== parsed.checksum) return { ok: false, reason: 'checksum mismatch' };
  const manifest = parsed.manifest;
  if (manifest.format !== 'eddy-event-log' || !Array.isArray(manifest.segments)) return { ok: false, reason: 'not an Eddy event log manifest' };
  return { ok: true, manifest };
}

export async function writeManifestFile(fs: LogFs, dir: string, manifest: Manifest, hooks?: DurabilityHooks): Promise<void> {
  await writeFileAtomic(fs, path.join(dir, MANIFEST_FILE), [encodeManifest(manifest)], { keepPrevious: true, hooks });
}
