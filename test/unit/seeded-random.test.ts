/** The fault tests' seeded PRNG: one seed replays the same choices; a bad SLUICE_TEST_SEED is named. */
import { describe, expect, it } from 'vitest';
import { parseSeed, seededRandom, testSeed } from '../support/seeded-random.js';

describe('seeded random (SLUICE_TEST_SEED)', () => {
  it('the same seed and label replay the same choices; another label or seed does not', () => {
    const draw = (label: string, seed: number) => {
      const random = seededRandom(label, seed);
      return Array.from({ length: 20 }, () => random.int(1, 1_000));
    };
    expect(draw('kill-scenario/ioredis', 42)).toEqual(draw('kill-scenario/ioredis', 42));
    expect(draw('kill-scenario/ioredis', 42)).not.toEqual(draw('kill-scenario/upstash', 42));
    expect(draw('kill-scenario/ioredis', 42)).not.toEqual(draw('kill-scenario/ioredis', 43));
  });

  it('int and pick stay in range', () => {
    const random = seededRandom('range', 7);
    for (let i = 0; i < 1_000; i++) {
      const n = random.int(3, 9);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThan(9);
      expect(['a', 'b']).toContain(random.pick(['a', 'b']));
    }
    expect(() => random.int(5, 5)).toThrow(/min < max/);
  });

  it('vitest.config.ts gives every worker the run seed; a malformed seed is refused by name', () => {
    expect(Number.isInteger(testSeed())).toBe(true);
    expect(parseSeed('4294967295')).toBe(4_294_967_295);
    for (const bad of ['', 'abc', '-1', '1.5', '4294967296'])
      expect(() => parseSeed(bad)).toThrow(/SLUICE_TEST_SEED must be an integer/);
  });
});
