/**
 * The drain history of a topic's groups, as each drain cycle recorded it (`consume/history.ts`):
 * processed, failed and dead-lettered per second over the last 1, 5 and 15 minutes, a per-minute
 * series of the last 24 hours, the last drains and how many run now. One script call per stream
 * (`core/history-scripts.ts`); a partitioned topic's partitions are read side by side and added up.
 */
import { type Driver, runScript } from '../core/driver.js';
import { BUCKET_COUNTS, HISTORY_MINUTES, HISTORY_REPORTS, READ_HISTORY } from '../core/history-scripts.js';
import type { StreamKeys } from '../core/keys.js';
import { topicLayout } from '../core/partitions.js';
import { parseInteger, parseString } from '../core/replies.js';
import { rows } from './replies.js';
import { checkGroup, keysOf, type OpsTarget, targetKeys, topicOf } from './target.js';

/** Messages per second over a window. */
export interface Rate {
  /** Acknowledged after their handler succeeded. */
  readonly processed: number;
  /** Handler failures left pending (to be retried). */
  readonly failed: number;
  readonly deadLettered: number;
}

/** Rates over the last 1, 5 and 15 minutes (like a load average). */
export interface Rates {
  readonly '1m': Rate;
  readonly '5m': Rate;
  readonly '15m': Rate;
}

/** One minute of a group's history: what its drains did in it. */
export interface HistoryMinute {
  /** The minute's start (ms since the epoch, Redis's clock). */
  readonly at: number;
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly read: number;
  readonly reclaimed: number;
  /** Drain cycles that ended in the minute. */
  readonly cycles: number;
  /** Of them, those that stopped with an error. */
  readonly errors: number;
  /** Drain time spent in the minute, added over the drains (two drains side by side for 60 s: 120000). */
  readonly busyMs: number;
}

/** One drain as its cycle recorded it: its report, without the stream and group, and when it ended. */
export interface DrainRecord {
  /** When the cycle ended and was recorded (ms since the epoch, Redis's clock). */
  readonly endedAt: number;
  readonly consumer: string;
  readonly durationMs: number;
  readonly stoppedBy: string;
  /** Why it failed, when `stoppedBy` is `error`. */
  readonly error?: string;
  readonly read: number;
  readonly reclaimed: number;
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
  /** The partition it served, on a partitioned topic (a drain over several has one record per partition). */
  readonly partition?: number;
  /** Every other count of its report (`DrainReport`). */
  readonly [count: string]: unknown;
}

/** The drains of a group. */
export interface DrainsNow {
  /**
   * Drains running now: those registered as running (event-driven mode), or when more, the group's
   * consumers active within `activeWithinMs` that have not reported yet (a drain touches Redis at
   * least once per block or poll, and its holds at least once per visibility timeout).
   */
  readonly running: number;
  /** The last drain that ended, null when none is recorded. */
  readonly last: DrainRecord | null;
  /** The last drains that ended, newest first (at most `reports`). */
  readonly recent: readonly DrainRecord[];
}

export interface GroupHistory {
  readonly group: string;
  readonly rates: Rates;
  /** The minutes of the last 24 hours in which a drain ran, oldest first (minutes without one are left out). */
  readonly history: readonly HistoryMinute[];
  readonly drains: DrainsNow;
}

export interface TopicHistory {
  /** The topic, or null for a stream key used as it is. */
  readonly topic: string | null;
  readonly stream: string;
  /** Redis's clock when read (ms since the epoch). */
  readonly measuredAt: number;
  readonly groups: readonly GroupHistory[];
}

export interface HistoryOptions {
  /** Only this group. */
  readonly group?: string;
  /**
   * How recently a consumer must have touched Redis to count as a running drain.
   * @default 30000 (the default visibility timeout)
   */
  readonly activeWithinMs?: number;
  /**
   * Drain records to return per group (newest first).
   * @default 20
   */
  readonly reports?: number;
}

export const HISTORY_DEFAULTS = Object.freeze({ activeWithinMs: 30_000, reports: 20 });

/** What one stream's script answered for one group. */
interface RawGroup {
  readonly buckets: Map<number, HistoryMinute>;
  readonly reports: DrainRecord[];
  readonly registered: number;
  readonly consumers: { name: string; pending: number; idleMs: number }[];
}

interface RawStream {
  readonly measuredAt: number;
  readonly groups: Map<string, RawGroup>;
}

/**
 * Rates, per-minute history and drains of every group of a topic (or of `group`), a partitioned
 * topic's partitions added up. One round trip per stream, side by side.
 *
 * @example
 * ```ts
 * const { groups } = await topicHistory(driver, 'orders');
 * for (const g of groups) console.log(g.group, g.rates['1m'].processed, g.drains.last?.stoppedBy);
 * ```
 */
export async function topicHistory(
  driver: Driver,
  target: OpsTarget,
  options: HistoryOptions = {},
): Promise<TopicHistory> {
  if (options.group !== undefined) checkGroup(options.group);
  const plain = keysOf(target); // validates the name before anything is sent
  const topic = topicOf(target);
  const partitioned = typeof target === 'object' && 'topic' in target && target.partition !== undefined;
  let streams: StreamKeys[];
  if (topic === null || partitioned) streams = [await targetKeys(driver, target)];
  else {
    const layout = await topicLayout(driver, topic);
    streams = Array.from({ length: layout.partitions }, (_, i) => layout.keys(i));
    // A drain that failed before serving any partition recorded its report on the topic's own key.
    if (layout.partitions > 1) streams.push(plain);
  }
  const read = await Promise.all(streams.map((keys) => readStream(driver, keys, options.group ?? '')));
  return {
    topic,
    stream: streams[0]?.stream ?? plain.stream,
    measuredAt: Math.max(0, ...read.map((r) => r.measuredAt)),
    groups: mergeStreams(read, options),
  };
}

/** The history of every group (or one) of one stream, as recorded there. */
export async function streamHistory(
  driver: Driver,
  keys: StreamKeys,
  options: HistoryOptions = {},
): Promise<{ measuredAt: number; groups: GroupHistory[] }> {
  const read = await readStream(driver, keys, options.group ?? '');
  return { measuredAt: read.measuredAt, groups: mergeStreams([read], options) };
}

async function readStream(driver: Driver, keys: StreamKeys, group: string): Promise<RawStream> {
  const reply = rows(
    await runScript(
      driver,
      READ_HISTORY,
      [keys.stream],
      [keys.history(''), keys.reports(''), keys.drains(''), HISTORY_REPORTS, group],
    ),
    'history',
  );
  const measuredAt = parseInteger(reply[0], 'history time');
  const groups = new Map<string, RawGroup>();
  for (const row of rows(reply[1], 'history groups')) {
    const g = rows(row, 'history group');
    groups.set(parseString(g[0], 'group name'), {
      buckets: parseBuckets(rows(g[1], 'history buckets'), measuredAt),
      reports: rows(g[2], 'history reports').map((r) => parseRecord(parseString(r, 'report'))),
      registered: parseInteger(g[3], 'running drains'),
      consumers: rows(g[4], 'consumers').map((c) => {
        const [name, pending, idle] = rows(c, 'consumer');
        return {
          name: parseString(name, 'consumer name'),
          pending: parseInteger(pending, 'consumer pending'),
          idleMs: parseInteger(idle, 'consumer idle'),
        };
      }),
    });
  }
  return { measuredAt, groups };
}

/** The buckets of the last 24 hours by minute; stale ones (a minute the ring has come round past) dropped. */
function parseBuckets(flat: unknown[], measuredAt: number): Map<number, HistoryMinute> {
  const current = Math.floor(measuredAt / 60_000);
  const buckets = new Map<number, HistoryMinute>();
  for (let i = 1; i < flat.length; i += 2) {
    const numbers = parseString(flat[i], 'history bucket').split(' ').map(Number);
    const minute = numbers[0] as number;
    if (numbers.length !== BUCKET_COUNTS.length + 1 || numbers.some((n) => !Number.isFinite(n))) continue;
    if (minute > current || minute <= current - HISTORY_MINUTES) continue;
    const bucket: Record<string, number> = { at: minute * 60_000 };
    BUCKET_COUNTS.forEach((name, k) => {
      bucket[name] = numbers[k + 1] as number;
    });
    buckets.set(minute, bucket as unknown as HistoryMinute);
  }
  return buckets;
}

function parseRecord(text: string): DrainRecord {
  const space = text.indexOf(' ');
  const endedAt = Number(text.slice(0, space));
  let report: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text.slice(space + 1));
    if (parsed !== null && typeof parsed === 'object') report = parsed as Record<string, unknown>;
  } catch {
    // A record this version cannot read still says when a drain ended.
  }
  return { ...report, endedAt } as DrainRecord;
}

/** Every group's history over the streams read: buckets added by minute, reports merged newest first. */
function mergeStreams(read: readonly RawStream[], options: HistoryOptions): GroupHistory[] {
  const measuredAt = Math.max(0, ...read.map((r) => r.measuredAt));
  const names = [...new Set(read.flatMap((r) => [...r.groups.keys()]))];
  const activeWithinMs = options.activeWithinMs ?? HISTORY_DEFAULTS.activeWithinMs;
  const keep = options.reports ?? HISTORY_DEFAULTS.reports;
  return names.map((group) => {
    const parts = read.flatMap((r) => {
      const g = r.groups.get(group);
      return g === undefined ? [] : [g];
    });
    const byMinute = new Map<number, HistoryMinute>();
    for (const part of parts) {
      for (const [minute, bucket] of part.buckets)
        byMinute.set(minute, addBuckets(byMinute.get(minute), bucket));
    }
    const history = [...byMinute.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
    const reports = parts.flatMap((p) => p.reports).sort((a, b) => b.endedAt - a.endedAt);
    const reported = new Set(reports.map((r) => r.consumer));
    const active = new Set(
      parts.flatMap((p) =>
        p.consumers.filter((c) => c.idleMs < activeWithinMs && !reported.has(c.name)).map((c) => c.name),
      ),
    );
    const registered = parts.reduce((total, p) => total + p.registered, 0);
    return {
      group,
      rates: ratesOf(history, measuredAt),
      history,
      drains: {
        running: Math.max(registered, active.size),
        last: reports[0] ?? null,
        recent: reports.slice(0, keep),
      },
    };
  });
}

function addBuckets(a: HistoryMinute | undefined, b: HistoryMinute): HistoryMinute {
  if (a === undefined) return b;
  const sum: Record<string, number> = { at: a.at };
  for (const name of BUCKET_COUNTS) sum[name] = a[name] + b[name];
  return sum as unknown as HistoryMinute;
}

/**
 * Per second over the last 1, 5 and 15 minutes: the minutes wholly inside the window count fully,
 * the one it starts in by the part of it inside the window (as if its drains had run evenly).
 */
export function ratesOf(history: readonly HistoryMinute[], measuredAt: number): Rates {
  const over = (minutes: number): Rate => {
    const from = measuredAt - minutes * 60_000;
    const sum = { processed: 0, failed: 0, deadLettered: 0 };
    for (const b of history) {
      const inside = Math.min(1, Math.max(0, (b.at + 60_000 - from) / 60_000));
      if (inside === 0) continue;
      sum.processed += b.acked * inside;
      sum.failed += b.failed * inside;
      sum.deadLettered += b.deadLettered * inside;
    }
    const seconds = minutes * 60;
    const round = (n: number) => Math.round((n / seconds) * 1_000) / 1_000;
    return {
      processed: round(sum.processed),
      failed: round(sum.failed),
      deadLettered: round(sum.deadLettered),
    };
  };
  return { '1m': over(1), '5m': over(5), '15m': over(15) };
}
