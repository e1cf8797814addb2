// Deduplication by (stream, position) across every segment without keeping every position in
// memory (the log must stay flat however long it grows).
//
// Each (stream, position) hashes to 53 bits. A sealed segment gets a sidecar `.idx` file with:
//   - a blocked Bloom filter (20 bits per event, 10 probes inside one 512-bit block, so one cache
//     line per segment per lookup; false positives about 1 in 7,000);
//   - its (hash, seq) pairs sorted by hash, in blocks of 256 with a CRC each, plus a "fence" (the
//     first hash of every block).
// Only the Bloom filters and fences stay in memory: about 2.5 bytes per event (12 MB for 5 M
// events). A Bloom hit costs one 4 KB positional read of the right block; an exact hash match is
// confirmed against the segment itself (two positions can share a hash), which in practice
// happens only for true duplicates. The open segments keep an exact in-memory map instead.
//
// Alternatives weighed: a global hash set rebuilt at open (8-16 bytes per event, so 40-80 MB at
// 5 M events and O(log) work at every start), or a UNIQUE index on (stream, position) queried in
// every segment (every sealed segment would have to be loaded to append one event).
import { crc32c } from './crc32c.js';
import type { LogFs } from './fs-layer.js';

/** cyrb53 over `stream \0 position`: 53 bits, exact in a double. */
export function positionHash(stream: string, position: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < stream.length; i++) {
    const c = stream.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1, 2654435761);
  h2 = Math.imul(h2, 1597334677);
  for (let i = 0; i < position.length; i++) {
    const c = position.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const BLOOM_BITS_PER_KEY = 20;
const BLOOM_PROBES = 10;
const WORDS_PER_BLOCK = 16; // 512 bits

export class BlockedBloom {
  readonly blocks: number;
  constructor(readonly words: Uint32Array) {
    this.blocks = Math.max(1, Math.floor(words.length / WORDS_PER_BLOCK));
  }

  static forCount(count: number): BlockedBloom {
    const blocks = Math.max(1, Math.ceil((count * BLOOM_BITS_PER_KEY) / 512));
    return new BlockedBloom(new Uint32Array(blocks * WORDS_PER_BLOCK));
  }

  add(hash: number): void {
    const lo = hash >>> 0;
    const hi = Math.floor(hash / 4294967296);
    const base = (lo % this.blocks) * WORDS_PER_BLOCK;
    const x = Math.imul(hi ^ (lo >>> 15) ^ 0x5bd1e995, 0x9e3779b1);
    const y = Math.imul(lo ^ (hi << 11) ^ 0x27d4eb2f, 0x85ebca6b) | 1;
    for (let i = 0; i < BLOOM_PROBES; i++) {
      const bit = ((x + Math.imul(i, y)) | 0) >>> 23;
      this.words[base + (bit >>> 5)]! |= 1 << (bit & 31);
    }
  }

  has(hash: number): boolean {
    const lo = hash >>> 0;
    const hi = Math.floor(hash / 4294967296);
    const base = (lo % this.blocks) * WORDS_PER_BLOCK;
    const x = Math.imul(hi ^ (lo >>> 15) ^ 0x5bd1e995, 0x9e3779b1);
    const y = Math.imul(lo ^ (hi << 11) ^ 0x27d4eb2f, 0x85ebca6b) | 1;
    for (let i = 0; i < BLOOM_PROBES; i++) {
      const bit = ((x + Math.imul(i, y)) | 0) >>> 23;
      if ((this.words[base + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// The sidecar file

const MAGIC = Buffer.from('EDDYIDX1', 'latin1');
const HEADER_BYTES = 48;
const ENTRIES_PER_BLOCK = 256;
const ENTRY_BYTES = 16;

export interface PositionIndexHead {
  count: number;
  bloom: BlockedBloom;
  /** First hash of each entry block. */
  fence: Float64Array;
}

/**
 * Builds the sidecar from (hash, seq) pairs (any order). `seqsOf`, when the caller already holds
 * the pairs as a map (an open segment's OpenPositionMap), saves building one here.
 */
export function encodePositionIndex(hashes: Float64Array, seqs: Float64Array, seqsOf?: OpenPositionMap): Buffer {
  const count = hashes.length;
  // Sort by hash with a native typed-array sort (a comparator sort costs ~100 ms per segment),
  // then find each hash's seqs; equal hashes (collisions) keep ascending seqs.
  const sortedHashes = Float64Array.from(hashes).sort();
  let lookup: (hash: number) => number | readonly number[] | undefined;
  if (seqsOf) {
    lookup = (hash) => seqsOf.lookup(hash);
  } else {
    const built = new Map<number, number | number[]>();
    for (let i = 0; i < count; i++) {
      const known = built.get(hashes[i]!);
      if (known === undefined) built.set(hashes[i]!, seqs[i]!);
      else if (typeof known === 'number') built.set(hashes[i]!, [known, seqs[i]!]);
      else known.push(seqs[i]!);
    }
    lookup = (hash) => built.get(hash);
  }
  const sortedSeqs = new Float64Array(count);
  for (let i = 0; i < count; ) {
    const known = lookup(sortedHashes[i]!)!;
    if (typeof known === 'number') sortedSeqs[i++] = known;
    else for (const seq of [...known].sort((a, b) => a - b)) sortedSeqs[i++] = seq;
  }
  const bloom = BlockedBloom.forCount(count);
  for (let i = 0; i < count; i++) bloom.add(hashes[i]!);
  const blockCount = Math.ceil(count / ENTRIES_PER_BLOCK);
  const bloomBytes = bloom.words.length * 4;
  const headBytes = bloomBytes + blockCount * 8;
  const total = HEADER_BYTES + headBytes + count * ENTRY_BYTES + blockCount * 4;
  const out = Buffer.alloc(total);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(1, 8);
  out.writeUInt32LE(count, 12);
  out.writeUInt32LE(bloom.blocks, 16);
  out.writeUInt32LE(ENTRIES_PER_BLOCK, 20);
  out.writeUInt32LE(blockCount, 24);
  Buffer.from(bloom.words.buffer, bloom.words.byteOffset, bloomBytes).copy(out, HEADER_BYTES);
  let offset = HEADER_BYTES + headBytes;
  for (let block = 0; block < blockCount; block++) {
    const start = offset;
    const first = block * ENTRIES_PER_BLOCK;
    const last = Math.min(count, first + ENTRIES_PER_BLOCK);
    out.writeDoubleLE(sortedHashes[first]!, HEADER_BYTES + bloomBytes + block * 8);
    for (let i = first; i < last; i++) {
      out.writeDoubleLE(sortedHashes[i]!, offset);
      out.writeDoubleLE(sortedSeqs[i]!, offset + 8);
      offset += ENTRY_BYTES;
    }
    out.writeUInt32LE(crc32c(out, 0, start, offset), offset);
    offset += 4;
  }
  out.writeUInt32LE(crc32c(out, crc32c(out, 0, 0, 28), HEADER_BYTES, HEADER_BYTES + headBytes), 28);
  return out;
}

export class PositionIndexError extends Error {}

/** Reads only the header, Bloom filter and fence (what stays in memory). */
export async function readPositionIndexHead(fs: LogFs, file: string): Promise<PositionIndexHead> {
  const handle = await fs.open(file, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    if ((await handle.readAt(header, 0)) !== HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) throw new PositionIndexError('bad header');
    if (header.readUInt32LE(8) !== 1) throw new PositionIndexError(`unknown version ${header.readUInt32LE(8)}`);
    const count = header.readUInt32LE(12);
    const bloomBlocks = header.readUInt32LE(16);
    const blockCount = header.readUInt32LE(24);
    if (header.readUInt32LE(20) !== ENTRIES_PER_BLOCK || blockCount !== Math.ceil(count / ENTRIES_PER_BLOCK)) throw new PositionIndexError('inconsistent header');
    const bloomBytes = bloomBlocks * WORDS_PER_BLOCK * 4;
    const head = Buffer.alloc(bloomBytes + blockCount * 8);
    if ((await handle.readAt(head, HEADER_BYTES)) !== head.length) throw new PositionIndexError('truncated');
    if (crc32c(head, crc32c(header, 0, 0, 28)) !== header.readUInt32LE(28)) throw new PositionIndexError('checksum mismatch');
    const expectedSize = HEADER_BYTES + head.length + count * ENTRY_BYTES + blockCount * 4;
    if ((await handle.size()) !== expectedSize) throw new PositionIndexError('unexpected size');
    const words = new Uint32Array(bloomBlocks * WORDS_PER_BLOCK);
    Buffer.from(words.buffer).set(head.subarray(0, bloomBytes));
    const fence = new Float64Array(blockCount);
    for (let i = 0; i < blockCount; i++) fence[i] = head.readDoubleLE(bloomBytes + i * 8);
    return { count, bloom: new BlockedBloom(words), fence };
  } finally {
    await handle.close();
  }
}

/** Seqs stored under `hash` in the sidecar (usually none after a Bloom false positive). */
export async function lookupPositionIndex(fs: LogFs, file: string, head: PositionIndexHead, hash: number): Promise<number[]> {
  const { fence, count } = head;
  // Last block whose first hash <= hash; equal hashes may run into the following blocks.
  let lo = 0;
  let hi = fence.length - 1;
  let block = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (fence[mid]! <= hash) {
      block = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (block < 0) return [];
  while (block > 0 && fence[block] === hash) block--;
  const bloomBytes = head.bloom.words.length * 4;
  const entriesStart = HEADER_BYTES + bloomBytes + fence.length * 8;
  const found: number[] = [];
  const handle = await fs.open(file, 'r');
  try {
    for (; block < fence.length && fence[block]! <= hash; block++) {
      const first = block * ENTRIES_PER_BLOCK;
      const entries = Math.min(ENTRIES_PER_BLOCK, count - first);
      const buffer = Buffer.alloc(entries * ENTRY_BYTES + 4);
      const offset = entriesStart + first * ENTRY_BYTES + block * 4;
      if ((await handle.readAt(buffer, offset)) !== buffer.length) throw new PositionIndexError('truncated block');
      if (crc32c(buffer, 0, 0, entries * ENTRY_BYTES) !== buffer.readUInt32LE(entries * ENTRY_BYTES)) throw new PositionIndexError(`block ${block} checksum mismatch`);
      for (let i = 0; i < entries; i++) {
        const value = buffer.readDoubleLE(i * ENTRY_BYTES);
        if (value === hash) found.push(buffer.readDoubleLE(i * ENTRY_BYTES + 8));
        else if (value > hash) return found;
      }
    }
    return found;
  } finally {
    await handle.close();
  }
}

/** Exact map for the open (active or sealing) segments: hash -> seq, or seqs on a collision. */
/**
 * An open segment's positions: (hash, seq) pairs in an open-addressing table of typed arrays,
 * probed linearly. No object per entry: a Map keyed by 53-bit hashes holds a heap number per key,
 * which costs a microsecond a lookup at capture rates and gives the garbage collector hundreds of
 * thousands of objects to trace. Several pairs may share a hash (a collision, or a position
 * deleted and appended again); each takes its own slot.
 */
export class OpenPositionMap {
  private his = new Uint32Array(1024);
  private los = new Uint32Array(1024);
  /** 0: never used; -1: removed (probing goes on past it). */
  private seqs = new Float64Array(1024);
  private count = 0;
  private used = 0;

  get size(): number {
    return this.count;
  }

  private static slot(hi: number, lo: number, mask: number): number {
    return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
  }

  /** The seq (or seqs, on a collision) stored under `hash`; allocation-free for the common miss. */
  lookup(hash: number): number | readonly number[] | undefined {
    const hi = Math.floor(hash / 4294967296);
    const lo = hash >>> 0;
    const mask = this.seqs.length - 1;
    let found: number | number[] | undefined;
    for (let i = OpenPositionMap.slot(hi, lo, mask); ; i = (i + 1) & mask) {
      const seq = this.seqs[i]!;
      if (seq === 0) return found;
      if (seq > 0 && this.los[i] === lo && this.his[i] === hi) {
        if (found === undefined) found = seq;
        else if (typeof found === 'number') found = [found, seq];
        else found.push(seq);
      }
    }
  }

  get(hash: number): readonly number[] {
    const value = this.lookup(hash);
    return value === undefined ? [] : typeof value === 'number' ? [value] : value;
  }

  add(hash: number, seq: number): void {
    if ((this.used + 1) * 4 > this.seqs.length * 3) this.grow();
    const hi = Math.floor(hash / 4294967296);
    const lo = hash >>> 0;
    const mask = this.seqs.length - 1;
    let i = OpenPositionMap.slot(hi, lo, mask);
    while (this.seqs[i]! > 0) i = (i + 1) & mask;
    if (this.seqs[i] === 0) this.used++;
    this.his[i] = hi;
    this.los[i] = lo;
    this.seqs[i] = seq;
    this.count++;
  }

  remove(hash: number, seq: number): void {
    const hi = Math.floor(hash / 4294967296);
    const lo = hash >>> 0;
    const mask = this.seqs.length - 1;
    for (let i = OpenPositionMap.slot(hi, lo, mask); this.seqs[i] !== 0; i = (i + 1) & mask) {
      if (this.seqs[i] === seq && this.los[i] === lo && this.his[i] === hi) {
        this.seqs[i] = -1;
        this.count--;
        return;
      }
    }
  }

  /** Rehashes into a table twice the size (or the same size, when mostly removed slots fill it). */
  private grow(): void {
    const { his, los, seqs } = this;
    const capacity = this.count * 2 >= seqs.length ? seqs.length * 2 : seqs.length;
    this.his = new Uint32Array(capacity);
    this.los = new Uint32Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.count = 0;
    this.used = 0;
    for (let i = 0; i < seqs.length; i++) if (seqs[i]! > 0) this.add(his[i]! * 4294967296 + los[i]!, seqs[i]!);
  }

  /** (hash, seq) pairs for building a sealed segment's sidecar. */
  entries(): { hashes: Float64Array; seqs: Float64Array } {
    const hashes = new Float64Array(this.count);
    const seqs = new Float64Array(this.count);
    let n = 0;
    for (let i = 0; i < this.seqs.length; i++) {
      if (this.seqs[i]! <= 0) continue;
      hashes[n] = this.his[i]! * 4294967296 + this.los[i]!;
      seqs[n++] = this.seqs[i]!;
    }
    return { hashes, seqs };
  }
}
