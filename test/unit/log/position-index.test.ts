import { describe, it, expect, afterAll } from 'vitest';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  BlockedBloom,
  OpenPositionMap,
  PositionIndexError,
  encodePositionIndex,
  lookupPositionIndex,
  positionHash,
  readPositionIndexHead,
} from '../../../main/engine/log/position-index.js';
import { nodeFs } from '../../../main/engine/log/fs-layer.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('position hash and Bloom filter', () => {
  it('hashes (stream, position) to 53 bits, distinguishing the stream', () => {
    const a = positionHash('kafka:orders', 'kafka:orders/0/42');
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(positionHash('kafka:orders', 'kafka:orders/0/42')).toBe(a);
    expect(positionHash('kafka:orders2', 'kafka:orders/0/42')).not.toBe(a);
    expect(positionHash('kafka:order', 's:kafka:orders/0/42')).not.toBe(positionHash('kafka:orders', ':kafka:orders/0/42'));
  });

  it('never gives a false negative and rarely a false positive', () => {
    const bloom = BlockedBloom.forCount(50_000);
    for (let i = 0; i < 50_000; i++) bloom.add(positionHash('s', `p${i}`));
    for (let i = 0; i < 50_000; i++) expect(bloom.has(positionHash('s', `p${i}`))).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 100_000; i++) if (bloom.has(positionHash('s', `q${i}`))) falsePositives++;
    expect(falsePositives / 100_000).toBeLessThan(0.002);
  });
});

describe('position index sidecar', () => {
  it('finds the seqs of every hash, including runs of equal hashes across blocks', async () => {
    const count = 2000;
    const hashes = new Float64Array(count);
    const seqs = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      // 600 entries share one hash: a run spanning three 256-entry blocks.
      hashes[i] = i < 600 ? 12345 : positionHash('s', `p${i}`);
      seqs[i] = 1000 + i;
    }
    const file = path.join(tempDir(), 'x.idx');
    writeFileSync(file, encodePositionIndex(hashes, seqs));
    const head = await readPositionIndexHead(nodeFs, file);
    expect(head.count).toBe(count);
    const run = await lookupPositionIndex(nodeFs, file, head, 12345);
    expect(run.sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => 1000 + i));
    for (let i = 600; i < count; i += 37) expect(await lookupPositionIndex(nodeFs, file, head, hashes[i]!)).toEqual([1000 + i]);
    expect(await lookupPositionIndex(nodeFs, file, head, 1)).toEqual([]);
    expect(await lookupPositionIndex(nodeFs, file, head, 2 ** 53 - 1)).toEqual([]);
  });

  it('detects damage in the head and in a block', async () => {
    const hashes = Float64Array.from({ length: 1000 }, (_, i) => positionHash('s', `p${i}`));
    const seqs = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    const file = path.join(tempDir(), 'y.idx');
    const clean = encodePositionIndex(hashes, seqs);
    const headDamaged = Buffer.from(clean);
    headDamaged[60]! ^= 1;
    writeFileSync(file, headDamaged);
    await expect(readPositionIndexHead(nodeFs, file)).rejects.toBeInstanceOf(PositionIndexError);
    const blockDamaged = Buffer.from(clean);
    blockDamaged[clean.length - 20]! ^= 1;
    writeFileSync(file, blockDamaged);
    const head = await readPositionIndexHead(nodeFs, file);
    const sorted = [...hashes].sort((a, b) => a - b);
    await expect(lookupPositionIndex(nodeFs, file, head, sorted[sorted.length - 1]!)).rejects.toBeInstanceOf(PositionIndexError);
    writeFileSync(file, clean.subarray(0, clean.length - 1));
    await expect(readPositionIndexHead(nodeFs, file)).rejects.toBeInstanceOf(PositionIndexError);
    expect(readFileSync(file).length).toBe(clean.length - 1);
  });

  it('the open-segment map keeps every seq of colliding hashes', () => {
    const map = new OpenPositionMap();
    map.add(7, 1);
    map.add(7, 2);
    map.add(8, 3);
    expect(map.get(7)).toEqual([1, 2]);
    map.remove(7, 1);
    expect(map.get(7)).toEqual([2]);
    const { hashes, seqs } = map.entries();
    expect([...hashes].sort()).toEqual([7, 8]);
    expect([...seqs].sort()).toEqual([2, 3]);
  });

  it('the open-segment map agrees with a plain Map through growth, removals and 53-bit hashes', () => {
    const map = new OpenPositionMap();
    const reference = new Map<number, number[]>();
    let seed = 12345;
    const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    // Few distinct hashes among many pairs: long collision chains; the top bits vary too.
    const added: number[] = [];
    const hashOf = (n: number): number => (n % 3 === 0 ? Number.MAX_SAFE_INTEGER - (n % 977) : (n % 5000) * 4294967296 + (n % 7919));
    for (let seq = 1; seq <= 60_000; seq++) {
      const hash = hashOf(random());
      map.add(hash, seq);
      const list = reference.get(hash);
      if (list) list.push(seq);
      else reference.set(hash, [seq]);
      added.push(hash);
      if (seq % 3 === 0) {
        // Remove an earlier pair: the table fills with removed slots it must probe past and reuse.
        const victim = added[random() % added.length]!;
        const seqs = reference.get(victim);
        if (!seqs) continue;
        const gone = seqs[random() % seqs.length]!;
        map.remove(victim, gone);
        const rest = seqs.filter((s) => s !== gone);
        if (rest.length > 0) reference.set(victim, rest);
        else reference.delete(victim);
      }
    }
    let pairs = 0;
    for (const [hash, seqs] of reference) {
      pairs += seqs.length;
      expect([...map.get(hash)].sort((a, b) => a - b)).toEqual(seqs);
    }
    expect(map.size).toBe(pairs);
    expect(map.lookup(123)).toBeUndefined();
    const { hashes, seqs } = map.entries();
    expect(hashes.length).toBe(pairs);
    const fromEntries = new Map<number, number[]>();
    hashes.forEach((hash, i) => fromEntries.set(hash, [...(fromEntries.get(hash) ?? []), seqs[i]!]));
    for (const [hash, list] of fromEntries) expect(list.sort((a, b) => a - b)).toEqual(reference.get(hash));
  });
});
