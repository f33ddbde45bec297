/**
 * Event-driven draining against schedule-only, side by side in one run, over REST (@upstash/redis
 * through the local Upstash REST server, requests counted as Upstash bills them):
 *
 * - idle cost: one scheduled tick on an idle topic — REST requests and function time — scaled to
 *   an hour (60 ticks) and to Upstash's billing per day;
 * - latency with sparse traffic: a message every 2–3 s; event-driven, each publish wakes a drain
 *   (started in this process by `functionWaker`, as an asynchronous Invoke would start one), and
 *   schedule-only, a drain started every `tickMs` runs its budget;
 * - a backlog published at once: one drain (maxConcurrentDrains 1) against fan-out to 4, the woken
 *   helpers started in this process. Time to drain it, and how soon 4 drains run.
 *
 * The drains started here share this process (one core for all of them, the REST server and Redis
 * on the other): on Lambda each runs in its own function, so the fan-out's scaling there is
 * estimated from the measured per-drain rate.
 */
import type { DrainReport } from '../src/consume/report.js';
import { streamKeys } from '../src/core/keys.js';
import { type DrainOptions, drain, functionWaker, publish, silentLogger, type Waker } from '../src/index.js';
import type { BenchContext } from './lib/context.js';
import { fillStream } from './lib/redis-tools.js';
import { requestCount } from './lib/rest-counter.js';
import { percentile } from './lib/stats.js';

export interface WakeResult {
  readonly idle: {
    readonly budgetMs: number;
    readonly scheduleOnly: IdleTick;
    readonly eventDriven: IdleTick;
  };
  readonly latency: {
    readonly messages: number;
    readonly scheduleTickMs: number;
    readonly eventDriven: Percentiles;
    readonly scheduleOnly: Percentiles;
  };
  readonly backlog: {
    readonly messages: number;
    readonly oneDrainMs: number;
    readonly fanOutMs: number;
    readonly speedup: number;
    /** ms from the first tick until 4 drains were live (undefined: never). */
    readonly fourDrainsAfterMs: number | undefined;
    readonly peakDrains: number;
    readonly perDrainRate: number;
  };
}

interface IdleTick {
  readonly requests: number;
  readonly durationMs: number;
  readonly requestsPerHour: number;
  readonly functionSecondsPerHour: number;
}

interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

const GROUP = 'bench';

function options(topic: string, extra: Partial<DrainOptions>): DrainOptions {
  return { topic, group: GROUP, handler: () => {}, logger: silentLogger, ...extra } as DrainOptions;
}

async function idleTick(context: BenchContext, budgetMs: number, wake: boolean): Promise<IdleTick> {
  const { topic } = context.topic(`idle-${wake ? 'wake' : 'schedule'}`);
  // The first tick creates the group and loads the scripts; the one measured is a warm container's.
  await drain(context.rest, options(topic, { budgetMs: 200, ...(wake ? { wake: {} } : {}) }));
  const before = requestCount();
  const report = await drain(context.rest, options(topic, { budgetMs, ...(wake ? { wake: {} } : {}) }));
  const requests = requestCount() - before;
  return {
    requests,
    durationMs: report.durationMs,
    requestsPerHour: requests * 60,
    functionSecondsPerHour: (report.durationMs / 1000) * 60,
  };
}

function percentiles(samples: readonly number[]): Percentiles {
  const round = (n: number) => Math.round(n);
  return {
    p50: round(percentile(samples, 50)),
    p90: round(percentile(samples, 90)),
    p99: round(percentile(samples, 99)),
    max: round(Math.max(...samples)),
  };
}

/** Publishes `count` messages 2–3 s apart; resolves each one's publish → handler latency. */
async function sparse(
  count: number,
  publishOne: (n: number) => Promise<void>,
  handled: Map<number, number>,
): Promise<number[]> {
  const sentAt = new Map<number, number>();
  for (let n = 0; n < count; n++) {
    sentAt.set(n, Date.now());
    await publishOne(n);
    await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.random() * 1_000));
  }
  const end = Date.now() + 120_000;
  while (handled.size < count && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
  return [...sentAt].map(([n, at]) => (handled.get(n) ?? Number.NaN) - at);
}

async function latencyEventDriven(context: BenchContext, count: number): Promise<number[]> {
  const { topic } = context.topic('latency-wake');
  const handled = new Map<number, number>();
  const drains: Promise<DrainReport>[] = [];
  const handler = (m: { data: unknown }) => void handled.set(m.data as number, Date.now());
  const waker: Waker = functionWaker((request) => {
    drains.push(drain(context.rest, options(topic, { handler, wake: { waker, drainId: request.drainId } })));
  });
  const wake = { waker, groups: [GROUP] };
  // As the app does: the publisher declares the group.
  await publish(context.rest, topic, { data: -1 }, { groups: [GROUP], wake });
  await Promise.all(drains);
  const samples = await sparse(
    count,
    (n) => publish(context.rest, topic, { data: n }, { wake }).then(() => {}),
    handled,
  );
  await Promise.all(drains);
  return samples;
}

async function latencyScheduleOnly(context: BenchContext, count: number, tickMs: number): Promise<number[]> {
  const { topic } = context.topic('latency-schedule');
  const handled = new Map<number, number>();
  const handler = (m: { data: unknown }) => void handled.set(m.data as number, Date.now());
  await publish(context.rest, topic, { data: -1 }, { groups: [GROUP] });
  // The schedule: a drain every tickMs, each running its budget (the default's share of a tick).
  let running = true;
  const schedule = (async () => {
    while (running) {
      const tick = Date.now();
      await drain(context.rest, options(topic, { handler, budgetMs: Math.round(tickMs * (50 / 60)) }));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, tick + tickMs - Date.now())));
    }
  })();
  const samples = await sparse(
    count,
    (n) => publish(context.rest, topic, { data: n }).then(() => {}),
    handled,
  );
  running = false;
  await schedule;
  return samples;
}

async function backlog(context: BenchContext, messages: number, maxConcurrentDrains: number) {
  const { topic, stream } = context.topic(`backlog-${maxConcurrentDrains}`);
  const { admin } = context.servers;
  await admin.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
  await fillStream(admin, stream, messages);
  const drainsKey = streamKeys({ topic }).drains(GROUP);
  const reports: Promise<DrainReport>[] = [];
  let peak = 0;
  let fourAt: number | undefined;
  const started = Date.now();
  const handler = (m: { data: unknown }) => {
    void m.data; // parse, as a handler would
  };
  const waker: Waker = functionWaker((request) => {
    reports.push(
      drain(
        context.rest,
        options(topic, { handler, wake: { waker, maxConcurrentDrains, drainId: request.drainId } }),
      ),
    );
  });
  const watch = setInterval(async () => {
    const live = await admin.zcard(drainsKey);
    peak = Math.max(peak, live);
    if (live >= 4 && fourAt === undefined) fourAt = Date.now() - started;
  }, 50);
  const first = await drain(context.rest, options(topic, { handler, wake: { waker, maxConcurrentDrains } }));
  for (let seen = 0; seen < reports.length; ) {
    seen = reports.length;
    await Promise.all(reports);
  }
  clearInterval(watch);
  const elapsed = Date.now() - started;
  const all = [first, ...(await Promise.all(reports))];
  const acked = all.reduce((sum, r) => sum + r.acked, 0);
  if (acked < messages) throw new Error(`the backlog run acked ${acked} of ${messages}`);
  await admin.unlink(stream);
  return { elapsed, peak, fourAt, rate: first.acked / first.durationMs };
}

export async function benchWake(
  context: BenchContext,
  plan: {
    readonly idleBudgetMs: number;
    readonly sparse: number;
    readonly tickMs: number;
    readonly backlog: number;
  },
): Promise<WakeResult> {
  const scheduleOnly = await idleTick(context, plan.idleBudgetMs, false);
  const eventDriven = await idleTick(context, plan.idleBudgetMs, true);
  context.log('  latency, sparse traffic …');
  const [wakeLatency, scheduleLatency] = await Promise.all([
    latencyEventDriven(context, plan.sparse),
    latencyScheduleOnly(context, plan.sparse, plan.tickMs),
  ]);
  context.log('  backlog: one drain, then fan-out to 4 …');
  const one = await backlog(context, plan.backlog, 1);
  const four = await backlog(context, plan.backlog, 4);
  return {
    idle: { budgetMs: plan.idleBudgetMs, scheduleOnly, eventDriven },
    latency: {
      messages: plan.sparse,
      scheduleTickMs: plan.tickMs,
      eventDriven: percentiles(wakeLatency),
      scheduleOnly: percentiles(scheduleLatency),
    },
    backlog: {
      messages: plan.backlog,
      oneDrainMs: one.elapsed,
      fanOutMs: four.elapsed,
      speedup: Number((one.elapsed / four.elapsed).toFixed(2)),
      fourDrainsAfterMs: four.fourAt,
      peakDrains: four.peak,
      perDrainRate: Math.round(one.rate * 1000),
    },
  };
}
