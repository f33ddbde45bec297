/**
 * Statistics of a topic: its length, its delayed messages and, per group, lag, pending, oldest
 * pending age, consumers and dead letters — one script, one round trip per stream.
 */
import { type Driver, runScript } from '../core/driver.js';
import { topicLayout } from '../core/partitions.js';
import { RATE_STATE } from '../core/rate-scripts.js';
import { parseInteger, parseString } from '../core/replies.js';
import { idTime } from '../core/stream-ids.js';
import {
  type DrainsNow,
  type HistoryMinute,
  type HistoryOptions,
  type Rates,
  streamHistory,
} from './history.js';
import { optionalInteger, optionalString, rows } from './replies.js';
import { STATS } from './scripts.js';
import { keysOf, OPS_DEFAULTS, type OpsTarget, targetKeys, topicOf } from './target.js';

export interface GroupStats {
  readonly name: string;
  /** Entries in the stream the group has not read yet; null when Redis cannot tell and there are more than `countLimit`. */
  readonly lag: number | null;
  /** Entries read by the group and not acknowledged yet. */
  readonly pending: number;
  /** The oldest pending entry, null when nothing is pending. */
  readonly oldestPendingId: string | null;
  /** How long ago the oldest pending entry was published (from its id). */
  readonly oldestPendingAgeMs: number | null;
  /** How long since the oldest pending entry was last delivered (XPENDING idle time). */
  readonly oldestPendingIdleMs: number | null;
  /** Consumers the group knows (each drain cycle is one; the tidy phase removes idle, empty ones). */
  readonly consumers: number;
  readonly lastDeliveredId: string;
  /** Redis's logical read counter (7.0+); null when unknown. */
  readonly entriesRead: number | null;
  /** Entries in the group's dead-letter stream. */
  readonly deadLetters: number;
  /** With `{ history: true }`: processed, failed and dead-lettered per second over the last 1, 5 and 15 minutes. */
  readonly rates?: Rates;
  /** With `{ history: true }`: the minutes of the last 24 hours in which a drain ran, oldest first. */
  readonly history?: readonly HistoryMinute[];
  /** With `{ history: true }`: drains running now, the last one, the last few. */
  readonly drains?: DrainsNow;
  /**
   * The group's rate limit as its drains last applied it (`rateLimit`), and how many messages they
   * handed out in the last whole second; null when no drain of the group read under a limit in the
   * last hour.
   */
  readonly rateLimit?: GroupRateLimit | null;
}

/** A group's rate limit, from its token bucket in Redis. */
export interface GroupRateLimit {
  readonly perSecond: number;
  readonly burst: number;
  /** Messages the group's drains read in the last whole second. */
  readonly currentPerSecond: number;
}

export interface StatsOptions extends Pick<HistoryOptions, 'activeWithinMs' | 'reports'> {
  /**
   * Add each group's drain history (`rates`, `history`, `drains`): one more script call per
   * stream, sent alongside the statistics' own.
   * @default false
   */
  readonly history?: boolean;
}

export interface TopicStats {
  /** The topic, or null for a stream key used as it is. */
  readonly topic: string | null;
  readonly stream: string;
  /** False when the stream does not exist (nothing was ever published, or it was deleted). */
  readonly exists: boolean;
  readonly length: number;
  readonly firstId: string | null;
  readonly lastId: string | null;
  /** The stream's last generated id (the last entry's, unless it was deleted). */
  readonly lastGeneratedId: string | null;
  readonly groups: readonly GroupStats[];
  /** Delayed messages waiting to be moved into the stream (published with `delayMs` / `deliverAt`, not yet delivered). */
  readonly scheduled: number;
  /**
   * When the earliest of them is due (ms since the epoch, Redis's clock); null when none waits. A
   * time before `measuredAt` means it is due and waits for a drain of any group to move it.
   */
  readonly nextDueAt: number | null;
  /** Redis's clock when measured (ms since the epoch): ages are relative to it. */
  readonly measuredAt: number;
  /** The partition, for one partition of a partitioned topic (see {@link partitionedTopicStats}). */
  readonly partition?: number;
}

/**
 * Length, and per group: lag, pending, oldest pending age, consumers, dead letters — one script,
 * one round trip.
 *
 * @example
 * ```ts
 * const { groups } = await topicStats(driver, 'orders');
 * for (const g of groups) console.log(g.name, g.lag, g.pending, g.deadLetters);
 * ```
 */
export async function topicStats(
  driver: Driver,
  target: OpsTarget,
  options: StatsOptions = {},
): Promise<TopicStats> {
  const keys = await targetKeys(driver, target);
  const prefix = keys.deadLetters('');
  const [reply, rates, history] = await Promise.all([
    runScript(driver, STATS, [keys.stream, keys.scheduled], [prefix, OPS_DEFAULTS.countLimit]),
    runScript(driver, RATE_STATE, [keys.stream], [keys.rate('')]),
    options.history ? streamHistory(driver, keys, options) : undefined,
  ]);
  const stats = withRateLimits(parseStats(topicOf(target), keys.stream, rows(reply, 'stats')), rates);
  if (history === undefined) return stats;
  const byGroup = new Map(history.groups.map((g) => [g.group, g]));
  return {
    ...stats,
    groups: stats.groups.map((g) => {
      const h = byGroup.get(g.name);
      return h === undefined ? g : { ...g, rates: h.rates, history: h.history, drains: h.drains };
    }),
  };
}

/**
 * {@link topicStats} for every stream of a target: one per partition of a partitioned topic (each
 * with its `partition`), else the one stream. One round trip per stream, side by side.
 *
 * @example
 * ```ts
 * for (const s of await partitionedTopicStats(driver, 'orders')) console.log(s.partition, s.length);
 * ```
 */
export async function partitionedTopicStats(
  driver: Driver,
  target: OpsTarget,
  options: StatsOptions = {},
): Promise<TopicStats[]> {
  const topic = topicOf(target);
  if (topic === null) return [await topicStats(driver, target, options)];
  if (typeof target === 'object' && 'partition' in target && target.partition !== undefined) {
    return [{ ...(await topicStats(driver, target, options)), partition: target.partition }];
  }
  keysOf(target); // validates the name before anything is sent
  const layout = await topicLayout(driver, topic);
  if (layout.partitions === 1) return [await topicStats(driver, target, options)];
  return Promise.all(
    Array.from({ length: layout.partitions }, async (_, partition) => {
      const stats = await topicStats(driver, { stream: layout.keys(partition).stream }, options);
      return { ...stats, topic, partition };
    }),
  );
}

/** `{count, nextDueMs|nil}` of the script: how many delayed messages wait, and when the first is due. */
function parseScheduled(value: unknown): { scheduled: number; nextDueAt: number | null } {
  const [count, next] = rows(value, 'stats scheduled');
  return { scheduled: parseInteger(count, 'scheduled'), nextDueAt: optionalInteger(next, 'next due') };
}

function parseStats(topic: string | null, stream: string, reply: unknown[]): TopicStats {
  const measuredAt = parseInteger(reply[0], 'stats time');
  if (parseInteger(reply[1], 'stats exists') === 0) {
    return {
      topic,
      stream,
      exists: false,
      length: 0,
      firstId: null,
      lastId: null,
      lastGeneratedId: null,
      groups: [],
      ...parseScheduled(reply[2]),
      measuredAt,
    };
  }
  const groups = rows(reply[6], 'stats groups').map((row): GroupStats => {
    const g = rows(row, 'stats group');
    const oldestPendingId = optionalString(g[6], 'oldest pending id');
    return {
      name: parseString(g[0], 'group name'),
      consumers: parseInteger(g[1], 'consumers'),
      pending: parseInteger(g[2], 'pending'),
      lastDeliveredId: parseString(g[3], 'last-delivered-id'),
      entriesRead: optionalInteger(g[4], 'entries-read'),
      lag: optionalInteger(g[5], 'lag'),
      oldestPendingId,
      oldestPendingAgeMs: oldestPendingId === null ? null : Math.max(0, measuredAt - idTime(oldestPendingId)),
      oldestPendingIdleMs: optionalInteger(g[7], 'oldest pending idle'),
      deadLetters: parseInteger(g[8], 'dead letters'),
    };
  });
  return {
    topic,
    stream,
    exists: true,
    length: parseInteger(reply[2], 'length'),
    firstId: optionalString(reply[3], 'first id'),
    lastId: optionalString(reply[4], 'last id'),
    lastGeneratedId: optionalString(reply[5], 'last generated id'),
    groups,
    ...parseScheduled(reply[7]),
    measuredAt,
  };
}

/** Adds each group's rate limit (RATE_STATE's reply) to its statistics. */
function withRateLimits(stats: TopicStats, reply: unknown): TopicStats {
  const [now, ...groups] = Array.isArray(reply) ? reply : [];
  const currentSecond = Math.floor(Number(now) / 1000);
  const limits = new Map<string, GroupRateLimit>();
  for (const row of groups) {
    if (!Array.isArray(row) || row[1] === null || row[1] === false) continue;
    const [name, perSecond, burst, second, n, prev] = row.map((v) => (typeof v === 'string' ? v : String(v)));
    // The last whole second: the one before the bucket's current second, or that second once past.
    const last = Number(second);
    const current = currentSecond === last ? Number(prev) : currentSecond === last + 1 ? Number(n) : 0;
    limits.set(name as string, {
      perSecond: Number(perSecond),
      burst: Number(burst),
      currentPerSecond: current,
    });
  }
  return { ...stats, groups: stats.groups.map((g) => ({ ...g, rateLimit: limits.get(g.name) ?? null })) };
}
