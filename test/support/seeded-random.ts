/**
 * Reproducible chaos: every random choice of the fault tests (kill schedules, kill points, handler
 * work times) comes from a PRNG seeded by `SLUICE_TEST_SEED`, as fast-check's runs come from its seed.
 * vitest.config.ts picks a seed when none is given, prints it once per run and hands it to every
 * worker (and, through the environment, to every child process); a failing run is replayed with
 * `SLUICE_TEST_SEED=<seed> npx vitest run <file>`.
 *
 * Each consumer takes a stream of its own (`seededRandom('crash/ioredis')`), so a file's choices do
 * not depend on which other files ran before it in the same worker.
 */

/** `SLUICE_TEST_SEED` as an unsigned 32-bit integer; throws on anything else. */
export function testSeed(): number {
  const raw = process.env.SLUICE_TEST_SEED;
  if (raw === undefined || raw === '') {
    throw new Error('SLUICE_TEST_SEED is not set (vitest.config.ts sets it for every run)');
  }
  return parseSeed(raw);
}

/** An unsigned 32-bit integer in decimal; a clear error otherwise. */
export function parseSeed(raw: string): number {
  const seed = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(seed) || seed > 0xffff_ffff) {
    throw new Error(`SLUICE_TEST_SEED must be an integer from 0 to 4294967295, got ${JSON.stringify(raw)}`);
  }
  return seed;
}

/** A fresh seed for a run that was given none. */
export function newSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max) — the shape of node:crypto's `randomInt(min, max)`; `int(max)` is [0, max). */
  int(minOrMax: number, max?: number): number;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
}

/** FNV-1a of `label`, to derive a stream per consumer from the run's seed. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: small, fast, and good enough to schedule kills. */
export function seededRandom(label: string, seed = testSeed()): SeededRandom {
  let state = (seed ^ hashLabel(label)) >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  return {
    seed,
    next,
    int(minOrMax, max) {
      const [low, high] = max === undefined ? [0, minOrMax] : [minOrMax, max];
      if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
        throw new RangeError(`int(${low}, ${high}): expected integers with min < max`);
      }
      return low + Math.floor(next() * (high - low));
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() of no items');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
  };
}
