import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { resolveDrainOptions } from '../../src/consume/options.js';
import { MAX_PARTITIONS, partitionForKey, partitionKeys, partitionTag } from '../../src/core/partitions.js';

describe('partition keys', () => {
  it('a plain topic (1 partition) keeps its stream key', () => {
    expect(partitionKeys('orders', 0, 1).stream).toBe('sluice:{orders}');
  });

  it("puts partition i near the middle of the slot space's i-th P-th", () => {
    for (const count of [2, 3, 4, 8, 16, 64, 128]) {
      for (let i = 0; i < count; i++) {
        const slot = calculateSlot(partitionKeys('orders', i, count).stream);
        const width = 16_384 / count;
        expect(Math.abs(slot + 0.5 - (i + 0.5) * width)).toBeLessThanOrEqual(width / 8);
      }
    }
  });

  it('spreads the partitions of any topic evenly over masters that own equal contiguous ranges', () => {
    for (const masters of [3, 5, 6]) {
      const masterOf = (slot: number) => Math.floor((slot * masters) / 16_384);
      for (const count of [2, 3, 4, 6, 8, 12]) {
        for (let t = 0; t < 50; t++) {
          const per = new Array<number>(masters).fill(0);
          for (let i = 0; i < count; i++) {
            const master = masterOf(calculateSlot(partitionKeys(`topic-${t}`, i, count).stream));
            per[master] = (per[master] ?? 0) + 1;
          }
          const spread = Math.max(...per) - Math.min(...per);
          expect(spread, `${masters} masters, ${count} partitions, topic-${t}`).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('names are stable, readable, and keep every companion key in the partition slot', () => {
    // The names themselves are part of the data layout: test/unit/key-layout.test.ts holds them.
    const keys = partitionKeys('orders', 2, 4);
    const slot = calculateSlot(keys.stream);
    for (const key of [
      keys.deadLetters('g'),
      keys.idempotency('k'),
      keys.processed('g', '1-0'),
      keys.lease('g'),
    ])
      expect(calculateSlot(key)).toBe(slot);
    expect(partitionTag('orders', 2, 4)).toBe(keys.stream.slice('sluice:{'.length, -1));
  });
});

describe('partitionForKey', () => {
  it('is FNV-1a (32 bit) over the UTF-8 bytes, modulo the count', () => {
    // Reference values of FNV-1a 32: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionForKey('', 2 ** 31)).toBe(0x811c9dc5 % 2 ** 31);
    expect(partitionForKey('a', 1_000_003)).toBe(0xe40c292c % 1_000_003);
    expect(partitionForKey('foobar', 1_000_003)).toBe(0xbf9cf968 % 1_000_003);
    // UTF-8, not UTF-16: "é" is the two bytes c3 a9.
    expect(partitionForKey('é', 1_000_003)).toBe(
      (Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0) % 1_000_003,
    );
  });

  it('spreads keys roughly evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8_000; i++) counts[partitionForKey(`customer-${i}`, 8)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});

describe('partition drain options', () => {
  const base = { topic: 't', group: 'g', handler: () => {} };

  it('ordered draining needs concurrency 1', () => {
    expect(() => resolveDrainOptions({ ...base, ordered: true, concurrency: 4 })).toThrow(
      /concurrency.*ordered/,
    );
    expect(resolveDrainOptions({ ...base, ordered: true }).ordered).toBe(true);
  });

  it('the lease lasts the visibility timeout unless told otherwise', () => {
    expect(resolveDrainOptions({ ...base, visibilityTimeoutMs: 7_000 }).leaseMs).toBe(7_000);
    expect(resolveDrainOptions({ ...base, leaseMs: 2_000 }).leaseMs).toBe(2_000);
    expect(() => resolveDrainOptions({ ...base, leaseMs: 10 })).toThrow(/leaseMs/);
  });

  it('checks partition counts and shares, naming the option', () => {
    expect(() => resolveDrainOptions({ ...base, partitions: 0 })).toThrow(/`partitions`/);
    expect(() => resolveDrainOptions({ ...base, partitions: MAX_PARTITIONS + 1 })).toThrow(/`partitions`/);
    expect(() => resolveDrainOptions({ ...base, assignedPartitions: [] })).toThrow(/assignedPartitions/);
    expect(() => resolveDrainOptions({ ...base, assignedPartitions: [1, 1] })).toThrow(/distinct/);
    expect(() => resolveDrainOptions({ ...base, assignedPartitions: [-1] })).toThrow(
      /assignedPartitions\[0\]/,
    );
    expect(() => resolveDrainOptions({ ...base, maxPartitions: 0 })).toThrow(/maxPartitions/);
    expect(() => resolveDrainOptions({ stream: 's', group: 'g', handler: () => {}, partitions: 2 })).toThrow(
      /applies to a `topic`/,
    );
  });
});
