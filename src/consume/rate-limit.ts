/**
 * A group's rate limit (`rateLimit`): every drain of the group, however many run at once, hands out
 * at most `perSecond` messages per second (bursts of up to `burst`), decided in Redis by one token
 * bucket (`core/rate-scripts.ts`) in the same script as the read: a drain reads only as many
 * entries as it was granted tokens, so it never holds a message it cannot start.
 */
import { runScript } from '../core/driver.js';
import { RATE_READ } from '../core/rate-scripts.js';
import { parseReadGroup, type RawEntry } from '../core/replies.js';
import { describeGot } from '../core/validate.js';
import type { Cycle } from './cycle.js';
import { fail } from './option-checks.js';

/** How fast all drains of a group together may hand messages out. */
export interface RateLimit {
  /** Messages per second, over all drains of the group: a number > 0 (0.5: one every 2 s), at most 100000. */
  readonly perSecond: number;
  /**
   * Most messages handed out at once after a pause (the bucket's size), an integer ≥ 1.
   * @default a tenth of a second's worth: ceil(perSecond / 10)
   */
  readonly burst?: number | undefined;
}

export type ResolvedRateLimit = Required<RateLimit>;

/** Checks a `rateLimit` option and applies its default burst. */
export function rateLimitOption(value: RateLimit | undefined): ResolvedRateLimit | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null)
    fail('rateLimit', `Expected \`rateLimit\` to be { perSecond, burst? }, got ${describeGot(value)}`);
  const { perSecond, burst } = value;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 100_000)
    fail(
      'rateLimit.perSecond',
      `Expected \`rateLimit.perSecond\` to be a number > 0 and ≤ 100000, got ${describeGot(perSecond)}`,
    );
  const resolvedBurst = burst ?? Math.max(1, Math.ceil(perSecond / 10));
  if (!Number.isInteger(resolvedBurst) || resolvedBurst < 1 || resolvedBurst > 1_000_000)
    fail(
      'rateLimit.burst',
      `Expected \`rateLimit.burst\` to be an integer from 1 to 1000000, got ${describeGot(burst)}`,
    );
  return Object.freeze({ perSecond, burst: resolvedBurst });
}

/** What a rate-limited read got: entries (as many as tokens allowed), or how long to wait for tokens. */
export interface RateRead {
  readonly entries: RawEntry[];
  /** > 0: no token was free; wait this long before reading again. */
  readonly waitMs: number;
}

/** Takes tokens and reads up to `count` new entries in one script call. */
export async function readWithinRate<T>(
  cycle: Cycle<T>,
  limit: ResolvedRateLimit,
  count: number,
): Promise<RateRead> {
  const { driver, keys, consumer, options: o } = cycle;
  const reply = await runScript(
    driver,
    RATE_READ,
    [keys.stream, keys.rate(o.group)],
    [o.group, consumer, count, limit.perSecond, limit.burst],
  );
  if (!Array.isArray(reply) || reply.length < 2) return { entries: parseReadGroup(reply), waitMs: 0 };
  return { waitMs: Number(reply[0]), entries: parseReadGroup(reply[1]) };
}
