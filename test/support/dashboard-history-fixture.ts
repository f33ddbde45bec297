/**
 * Fixed drain history for the dashboard's screenshots, beside dashboard-fixture.ts's statistics and
 * on its clock: a day of billing's drains (a busy daytime, a burst of failures, a drain that
 * errored), shipping's steady trickle, and ledger with no drain recorded. Rates come from the
 * library's own `ratesOf`, so they agree with the series as they would from Redis.
 */
import type { DrainRecord, GroupStats, HistoryMinute, TopicStats } from '../../src/ops/index.js';
import { ratesOf } from '../../src/ops/index.js';

const MINUTE = 60_000;

function minute(at: number, acked: number, failed = 0, deadLettered = 0, errors = 0): HistoryMinute {
  return {
    at,
    acked,
    failed,
    deadLettered,
    read: acked + failed + deadLettered,
    reclaimed: failed,
    cycles: 1,
    errors,
    busyMs: 50_000,
  };
}

/**
 * billing: every minute of the day, more by day than by night, a burst of failures between 06:10
 * and 06:40 and a few in the last ten minutes; the current minute holds only its first seconds.
 */
function billingDay(now: number): HistoryMinute[] {
  const last = Math.floor(now / MINUTE) * MINUTE;
  const elapsed = (now - last) / MINUTE;
  return Array.from({ length: 1_440 }, (_, i) => {
    const at = last - (1_439 - i) * MINUTE;
    const hour = new Date(at).getUTCHours() + new Date(at).getUTCMinutes() / 60;
    const share = i === 1_439 ? elapsed : 1;
    const acked = Math.round(
      share * (900 + 700 * Math.sin(((hour - 3) / 24) * 2 * Math.PI) + ((i * 37) % 90)),
    );
    const burst = hour >= 6.15 && hour < 6.7;
    const failed = burst ? 260 + (i % 7) * 30 : i > 1_430 ? Math.round(share * 18) : i % 50 === 0 ? 3 : 0;
    return minute(at, acked, failed, burst ? 40 : i > 1_430 ? Math.round(share * 5) : 0, i === 1_200 ? 1 : 0);
  });
}

/** shipping: a drain every few minutes over the last 8 hours. */
function shippingDay(now: number): HistoryMinute[] {
  const last = Math.floor(now / MINUTE) * MINUTE;
  return Array.from({ length: 160 }, (_, i) =>
    minute(last - (477 - i * 3) * MINUTE, 12 + (i % 5) * 4, i % 40 === 0 ? 1 : 0),
  );
}

function drain(
  endedAt: number,
  durationMs: number,
  stoppedBy: string,
  counts: Partial<DrainRecord>,
): DrainRecord {
  return {
    endedAt,
    durationMs,
    stoppedBy,
    consumer: `drain-${endedAt}`,
    read: 0,
    reclaimed: 0,
    acked: 0,
    failed: 0,
    deadLettered: 0,
    ...counts,
  };
}

function historyOf(name: string, now: number): Pick<GroupStats, 'rates' | 'history' | 'drains'> {
  if (name === 'billing') {
    const history = billingDay(now);
    const recent = [
      drain(now - 9_000, 50_000, 'budget', { read: 1_240, acked: 1_212, failed: 22, deadLettered: 6 }),
      drain(now - 61_000, 50_000, 'budget', { read: 1_180, acked: 1_180 }),
      drain(now - 118_000, 31_400, 'error', {
        read: 640,
        acked: 612,
        failed: 28,
        error: "RedisUnavailableError: Redis did not answer before the cycle's deadline",
      }),
      drain(now - 171_000, 50_000, 'budget', { read: 1_302, acked: 1_299, failed: 3 }),
      drain(now - 229_000, 50_000, 'budget', { read: 1_255, acked: 1_255 }),
    ];
    return { history, rates: ratesOf(history, now), drains: { running: 3, last: recent[0] ?? null, recent } };
  }
  if (name === 'shipping') {
    const history = shippingDay(now);
    const recent = [
      drain(now - 42_000, 3_850, 'idle', { read: 20, acked: 20 }),
      drain(now - 222_000, 2_400, 'idle', { read: 16, acked: 15, failed: 1 }),
    ];
    return { history, rates: ratesOf(history, now), drains: { running: 0, last: recent[0] ?? null, recent } };
  }
  return { history: [], rates: ratesOf([], now), drains: { running: 0, last: null, recent: [] } };
}

/** A stats answer with each group's drain history, as `GET /ops/stats?history=1` answers. */
export function withHistory(answer: { measuredAt: number; topics: TopicStats[] }): {
  measuredAt: number;
  topics: TopicStats[];
} {
  return {
    ...answer,
    topics: answer.topics.map((t) => ({
      ...t,
      groups: t.groups.map((g) => ({ ...g, ...historyOf(g.name, t.measuredAt) })),
    })),
  };
}
