/**
 * `drain`: one bounded drain invocation over a topic (all its partitions, or a share of them) or
 * over a stream used as it is. Each stream gets its own cycle (`drain-stream.ts`), all of them under
 * one deadline, run side by side; their reports add up to one, logged as one JSON line.
 */

import { type Driver, withCapabilities } from '../core/driver.js';
import { describeError, InvalidOptionError, RedisUnavailableError } from '../core/errors.js';
import { ensureGroups, warnSkipped } from '../core/group.js';
import { streamKeys } from '../core/keys.js';
import { knowsLayout, type TopicLayout, topicLayout } from '../core/partitions.js';
import { activeTelemetry } from '../core/telemetry.js';
import { consumerName, deadlineOf, noCounts, type StopReason } from './cycle.js';
import { drainStream } from './drain-stream.js';
import { recordedAs, recordHistory } from './history.js';
import { checkLayoutInFirstScript } from './layout-check.js';
import { type DrainOptions, type ResolvedDrainOptions, resolveDrainOptions } from './options.js';
import type { DrainReport, PartitionReport } from './report.js';
import { traceDrain } from './telemetry.js';

export type { StopReason } from './cycle.js';
export type { DrainReport, PartitionReport } from './report.js';

/**
 * Runs one bounded drain invocation over a consumer group and reports what it did. It never throws
 * for Redis or handler failures: those end the cycle with `stoppedBy: 'error'` and lose nothing
 * (what was not acknowledged stays pending). Invalid options throw an `InvalidOptionError`; options
 * already resolved (`resolveDrainOptions`, e.g. once at a function's cold start) are taken as they are.
 *
 * A partitioned topic's partitions are drained side by side (`assignedPartitions` and
 * `maxPartitions` choose which); the report adds theirs up and lists each under `partitions`.
 *
 * @example
 * ```ts
 * const report = await drain(driver, {
 *   topic: 'orders',
 *   group: 'payment-processors',
 *   remainingTimeMs: () => context.getRemainingTimeInMillis(),
 *   handler: async (message, { signal }) => {
 *     await chargeCustomer(message.data, { signal });
 *   },
 * });
 * ```
 */
export async function drain<T = unknown>(
  driver: Driver,
  options: DrainOptions<T> | ResolvedDrainOptions<T>,
): Promise<DrainReport> {
  const resolved = resolveDrainOptions(options);
  // The topic's layout is asked for first: at a cold start, looking for OpenTelemetry (a module to
  // load, or fail to) then overlaps with that round trip and with the connection's setup.
  const { target } = resolved;
  const layout =
    'topic' in target && !layoutInFirstScript(driver, resolved, target.topic)
      ? layoutOf(driver, target.topic, resolved.partitions)
      : undefined;
  const otel = await activeTelemetry();
  if (otel === undefined) return drainResolved(driver, resolved, layout);
  return traceDrain(otel, resolved, (traced) => drainResolved(driver, traced, layout));
}

/** The layout of the topic drained, its failure waited for by the drain (never unhandled meanwhile). */
function layoutOf(driver: Driver, topic: string, partitions: number | undefined): Promise<TopicLayout> {
  const layout = topicLayout(driver, topic, partitions);
  layout.catch(() => {});
  return layout;
}

/**
 * Whether the topic is drained as a plain one before its layout is read, by the cycle's first
 * script on the stream (`layout-check.ts`: event-driven draining's probe, else the first reclaim):
 * when the container does not know the layout yet, and no other script runs on the stream before
 * (ordered draining's lease, without a probe), nor do the options ask for partitions.
 */
function layoutInFirstScript<T>(driver: Driver, o: ResolvedDrainOptions<T>, topic: string): boolean {
  if (o.partitions !== undefined || o.assignedPartitions !== undefined) return false;
  return (o.wake !== undefined || !o.ordered) && !knowsLayout(driver, topic);
}

/** {@link drain} once its options are resolved (and, with OpenTelemetry, its handler traced). */
async function drainResolved<T>(
  driver: Driver,
  o: ResolvedDrainOptions<T>,
  layoutLookup: Promise<TopicLayout> | undefined,
): Promise<DrainReport> {
  const startedAt = Date.now();
  const deadline = deadlineOf(o, startedAt);
  const consumer = consumerName(o);
  const { target } = o;
  const report =
    'stream' in target
      ? await drainStream(driver, o, { keys: streamKeys(target), consumer, deadline })
      : await drainTopicOf(driver, o, target.topic, layoutLookup, { consumer, deadline, startedAt });
  // What no cycle's tidy recorded (a cycle that ended before it, a failed invocation) is recorded here.
  await recordHistory(driver, report, o.logger);
  if (report.stoppedBy === 'error') o.logger.error('sluice drain cycle', { ...report });
  else o.logger.info('sluice drain cycle', { ...report });
  return report;
}

/**
 * Drains a topic by its layout (`layoutLookup`); without one, as a plain topic whose first script
 * (probe or reclaim) reads the layout, then by that layout when the topic turned out not to be plain.
 */
async function drainTopicOf<T>(
  driver: Driver,
  o: ResolvedDrainOptions<T>,
  topic: string,
  layoutLookup: Promise<TopicLayout> | undefined,
  { consumer, deadline, startedAt }: { consumer: string; deadline: number; startedAt: number },
): Promise<DrainReport> {
  let lookup = layoutLookup;
  if (lookup === undefined) {
    const keys = streamKeys({ topic });
    const check = checkLayoutInFirstScript(driver, topic, keys);
    const report = await drainStream(driver, o, { keys, consumer, deadline });
    if (!check.notPlain) return report;
    // Remembered by the probe or reclaim when it read a partition count: no round trip then.
    lookup = topicLayout(driver, topic, o.partitions);
  }
  try {
    const layout = await beforeDeadline(lookup, deadline);
    return await drainTopic(driver, o, layout, consumer, deadline, startedAt);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw error;
    return failed(o, streamKeys({ topic }).stream, consumer, startedAt, error);
  }
}

async function drainTopic<T>(
  driver: Driver,
  o: ResolvedDrainOptions<T>,
  layout: TopicLayout,
  consumer: string,
  deadline: number,
  startedAt: number,
): Promise<DrainReport> {
  const plain = streamKeys({ topic: layout.topic }).stream;
  const assigned = o.assignedPartitions ?? Array.from({ length: layout.partitions }, (_, i) => i);
  const missing = assigned.filter((index) => index >= layout.partitions);
  if (missing.length > 0) {
    return failed(
      o,
      plain,
      consumer,
      startedAt,
      new InvalidOptionError(
        'assignedPartitions',
        `topic ${JSON.stringify(layout.topic)} has ${layout.partitions} partition(s) (0–${layout.partitions - 1}); assignedPartitions names ${missing.join(', ')}`,
      ),
    );
  }
  if (layout.partitions === 1 && o.assignedPartitions === undefined) {
    return drainStream(driver, o, { keys: layout.keys(0), consumer, deadline });
  }
  // Start at a random partition so that concurrent drains limited by maxPartitions spread out.
  const offset = Math.floor(Math.random() * assigned.length);
  const candidates = assigned.map((_, i) => assigned[(offset + i) % assigned.length] as number);
  const lanes = Math.min(o.maxPartitions ?? candidates.length, candidates.length);
  // Blocking reads side by side would queue behind one another on a connection: lanes poll instead.
  const view = lanes > 1 ? pollingView(driver) : driver;
  const skipped = await ensureGroupOnEveryPartition(view, o, layout, deadline);
  const reports: PartitionReport[] = [];
  let next = 0;
  const lane = async () => {
    while (next < candidates.length && Date.now() < deadline) {
      const partition = candidates[next++] as number;
      const report = await drainStream(view, o, {
        keys: layout.keys(partition),
        consumer,
        deadline,
        partition,
      });
      if (report.stoppedBy !== 'leased') reports.push(recordedAs(report, { partition, ...report }));
      // A lane whose partition is leased elsewhere, or idle, serves the next one while time is left.
      if (report.stoppedBy !== 'leased' && report.stoppedBy !== 'idle') return;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return combine(o, plain, consumer, startedAt, reports, skipped);
}

/**
 * The group starts on every partition at once: created lazily, on a partition this drain serves
 * later, it would start after what was published there meanwhile. Remembered per container; a
 * partition whose master is down now is tried again by its own cycle, and by the next invocation.
 * Resolves how many entries the groups created at `$` skipped.
 */
async function ensureGroupOnEveryPartition<T>(
  view: Driver,
  o: ResolvedDrainOptions<T>,
  layout: TopicLayout,
  deadline: number,
): Promise<number> {
  const created = await beforeDeadline(
    Promise.allSettled(
      Array.from({ length: layout.partitions }, (_, i) =>
        ensureGroups(view, layout.keys(i).stream, [o.group], o.startId),
      ),
    ),
    deadline,
  );
  const failures = created.filter((result) => result.status === 'rejected');
  let skipped = 0;
  for (const result of created) {
    const group = result.status === 'fulfilled' ? result.value[0] : undefined;
    if (group !== undefined && group.skipped > 0) skipped += group.skipped;
  }
  if (skipped > 0) warnSkipped(o.logger, { topic: layout.topic }, o.group, skipped);
  if (failures.length > 0) {
    o.logger.warn('could not create the consumer group on every partition yet', {
      topic: layout.topic,
      group: o.group,
      failed: failures.length,
      error: describeError((failures[0] as PromiseRejectedResult).reason),
    });
  }
  return skipped;
}

const pollingViews = new WeakMap<Driver, Driver>();

/** The driver as one that cannot block, the same object every time (groups are remembered per driver). */
function pollingView(driver: Driver): Driver {
  if (!driver.capabilities.blocking) return driver;
  let view = pollingViews.get(driver);
  if (view === undefined) {
    view = withCapabilities(driver, { ...driver.capabilities, blocking: false });
    pollingViews.set(driver, view);
  }
  return view;
}

/** The reports of a topic's partitions, added up. */
function combine<T>(
  o: ResolvedDrainOptions<T>,
  stream: string,
  consumer: string,
  startedAt: number,
  reports: PartitionReport[],
  skippedAtCreation: number,
): DrainReport {
  reports.sort((a, b) => a.partition - b.partition);
  const sum = (pick: (report: DrainReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const nullableSum = (pick: (report: DrainReport) => number | null) =>
    reports.some((r) => pick(r) === null) ? null : sum((r) => pick(r) as number);
  const errors = reports.filter((r) => r.stoppedBy === 'error');
  return {
    stream,
    group: o.group,
    consumer,
    read: sum((r) => r.read),
    reclaimed: sum((r) => r.reclaimed),
    acked: sum((r) => r.acked),
    failed: sum((r) => r.failed),
    timedOut: sum((r) => r.timedOut),
    deadLettered: sum((r) => r.deadLettered),
    unfinished: sum((r) => r.unfinished),
    released: sum((r) => r.released),
    lostToTrim: sum((r) => r.lostToTrim),
    skipped: sum((r) => r.skipped) + skippedAtCreation,
    promoted: sum((r) => r.promoted),
    consumersRemoved: sum((r) => r.consumersRemoved),
    trimmed: sum((r) => r.trimmed),
    droppedUnconsumed: sum((r) => r.droppedUnconsumed),
    durationMs: Date.now() - startedAt,
    stoppedBy: stopReasonOf(reports),
    ...(errors.length > 0
      ? { error: errors.map((r) => `partition ${r.partition}: ${r.error}`).join('; ') }
      : {}),
    lag: reports.length === 0 ? null : nullableSum((r) => r.lag),
    pending: reports.length === 0 ? null : nullableSum((r) => r.pending),
    partitions: reports,
  };
}

function stopReasonOf(reports: readonly DrainReport[]): StopReason {
  if (reports.length === 0) return 'leased';
  for (const reason of ['error', 'signal', 'budget'] as const) {
    if (reports.some((r) => r.stoppedBy === reason)) return reason;
  }
  return 'idle';
}

/** Settles as `promise` does, or rejects once the deadline passes first (Redis stalled). */
async function beforeDeadline<R>(promise: Promise<R>, deadline: number): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new RedisUnavailableError("Redis did not answer before the cycle's deadline")),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The report of an invocation that failed before any cycle began. */
function failed<T>(
  o: ResolvedDrainOptions<T>,
  stream: string,
  consumer: string,
  startedAt: number,
  error: unknown,
): DrainReport {
  return {
    stream,
    group: o.group,
    consumer,
    ...noCounts(),
    consumersRemoved: 0,
    trimmed: 0,
    droppedUnconsumed: 0,
    durationMs: Date.now() - startedAt,
    stoppedBy: 'error',
    error: describeError(error),
    lag: null,
    pending: null,
  };
}
