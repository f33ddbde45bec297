/**
 * A group's rate limit (`rateLimit`): every drain of the group, however many run at once, hands out
 * at most `perSecond` messages per second (bursts of up to `burst`), decided in Redis by one token
 * bucket (`core/rate-scripts.ts`) in the same script as the read: a drain reads only as many
 * entries as it was granted tokens, so it never holds a message it cannot start.
 */
import { runScript } from '../core/driver.js';
import { RATE_KEY_TTL_MS, RATE_READ } from '../core/rate-scripts.js';
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
  /**
   * A handler's `RetryLaterError` (a batch handler's `retryAfterMs`) — e.g. a 429 from downstream —
   * pauses the whole group for that long (at most an hour): every drain of it waits before its
   * next read. Messages already read are still handled.
   * @default false
   */
  readonly pauseOnRetryLater?: boolean | undefined;
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
  const pauseOnRetryLater = value.pauseOnRetryLater ?? false;
  if (typeof pauseOnRetryLater !== 'boolean')
    fail(
      'rateLimit.pauseOnRetryLater',
      `Expected \`rateLimit.pauseOnRetryLater\` to be a boolean, got ${describeGot(pauseOnRetryLater)}`,
    );
  return Object.freeze({ perSecond, burst: resolvedBurst, pauseOnRetryLater });
}

/** The pause a cycle's handlers asked for since its last read (ms), by cycle. */
const pauses = new WeakMap<object, number>();

/**
 * A handler asked to retry after `delayMs` (`RetryLaterError`): with `pauseOnRetryLater`, the
 * group's next read (by this drain) pauses every drain of the group that long.
 */
export function pauseAfterRetryLater<T>(cycle: Cycle<T>, delayMs: number): void {
  if (cycle.options.rateLimit?.pauseOnRetryLater !== true) return;
  pauses.set(cycle, Math.max(pauses.get(cycle) ?? 0, Math.min(delayMs, RATE_KEY_TTL_MS)));
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
  const pauseMs = pauses.get(cycle) ?? 0;
  pauses.delete(cycle);
  const reply = await runScript(
    driver,
    RATE_READ,
    [keys.stream, keys.rate(o.group)],
    [o.group, consumer, count, limit.perSecond, limit.burst, pauseMs],
  );
  if (!Array.isArray(reply) || reply.length < 2) return { entries: parseReadGroup(reply), waitMs: 0 };
  return { waitMs: Number(reply[0]), entries: parseReadGroup(reply[1]) };
}
