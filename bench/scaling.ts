/**
 * Scaling over TCP, sluice and the hand-written loop side by side: throughput against batch size
 * (no-op handler), against handler concurrency (a 5 ms async handler), and drain time against
 * backlog size (is the cost per message constant?).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runOnce } from './drain-tcp.js';
import type { BenchContext } from './lib/context.js';
import { logLogSlope, median, sleep } from './lib/stats.js';

export interface ScalingPoint {
  readonly x: number;
  readonly messages: number;
  /** Median messages per second (or, for backlogs, median drain time in ms). */
  readonly sluice: number;
  readonly baseline: number;
  readonly ratio: number;
}

export interface ScalingResult {
  readonly batchSize: ScalingPoint[];
  readonly concurrency: ScalingPoint[];
  readonly handlerMs: number;
  /** What an ideal pool of c handlers of `handlerMs` would do, per concurrency. */
  readonly concurrencyIdeal: { readonly x: number; readonly perSecond: number }[];
  readonly backlog: (ScalingPoint & {
    readonly sluiceMsPerMessage: number;
    readonly fillPerSecond: number;
  })[];
  /** Heap still in use (after a full GC) per message drained, measured inside one cycle. */
  readonly memory: MemoryProbe;
  /** Slope of log(drain time) against log(backlog): 1 = linear. */
  readonly backlogSlope: { readonly sluice: number; readonly baseline: number };
}

type Run = Parameters<typeof runOnce>[2];

async function point(context: BenchContext, x: number, options: Run, reps: number): Promise<ScalingPoint> {
  const sluice: number[] = [];
  const baseline: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? (['sluice', 'baseline'] as const) : (['baseline', 'sluice'] as const);
    for (const which of order) {
      const { run } = await runOnce(context, which, options);
      (which === 'sluice' ? sluice : baseline).push((run.messages / run.ms) * 1000);
    }
  }
  return {
    x,
    messages: options.messages,
    sluice: median(sluice),
    baseline: median(baseline),
    ratio: median(sluice.map((s, i) => s / (baseline[i] as number))),
  };
}

export async function benchScaling(
  context: BenchContext,
  plan: {
    readonly batchSizes: readonly { readonly batchSize: number; readonly messages: number }[];
    readonly concurrencies: readonly number[];
    /** Seconds one concurrency point should take at ideal speed. */
    readonly concurrencySeconds: number;
    readonly backlogs: readonly number[];
    readonly reps: number;
    /** Messages of the memory probe's cycle. */
    readonly memoryMessages: number;
  },
): Promise<ScalingResult> {
  const noop = async () => {};
  const batchSize: ScalingPoint[] = [];
  for (const { batchSize: size, messages } of plan.batchSizes) {
    const p = await point(
      context,
      size,
      { messages, batchSize: size, concurrency: 1, handler: noop },
      plan.reps,
    );
    context.log(`  batch ${size}: sluice ${p.sluice.toFixed(0)}/s, hand-written ${p.baseline.toFixed(0)}/s`);
    batchSize.push(p);
  }

  const handlerMs = 5;
  const slow = () => sleep(handlerMs);
  const concurrency: ScalingPoint[] = [];
  for (const c of plan.concurrencies) {
    const messages = Math.max(200, Math.round(((c * 1000) / handlerMs) * plan.concurrencySeconds));
    const p = await point(context, c, { messages, batchSize: 100, concurrency: c, handler: slow }, plan.reps);
    context.log(
      `  concurrency ${c}: sluice ${p.sluice.toFixed(0)}/s, hand-written ${p.baseline.toFixed(0)}/s`,
    );
    concurrency.push(p);
  }

  const backlog: ScalingResult['backlog'] = [];
  for (const size of plan.backlogs) {
    // The largest backlog runs once per loop: its fill dominates the time.
    const reps = size >= 1_000_000 ? 1 : plan.reps + 1;
    const sluice: number[] = [];
    const baseline: number[] = [];
    const fills: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? (['sluice', 'baseline'] as const) : (['baseline', 'sluice'] as const);
      for (const which of order) {
        const { run, fillMs } = await runOnce(context, which, {
          messages: size,
          batchSize: 100,
          concurrency: 1,
          handler: noop,
        });
        (which === 'sluice' ? sluice : baseline).push(run.ms);
        fills.push((size / fillMs) * 1000);
      }
    }
    const p = {
      x: size,
      messages: size,
      sluice: median(sluice),
      baseline: median(baseline),
      ratio: median(baseline.map((b, i) => b / (sluice[i] as number))),
      sluiceMsPerMessage: median(sluice) / size,
      fillPerSecond: median(fills),
    };
    context.log(
      `  backlog ${size}: sluice ${p.sluice.toFixed(0)} ms, hand-written ${p.baseline.toFixed(0)} ms`,
    );
    backlog.push(p);
  }
  const memory = await probeMemory(context, plan.memoryMessages);
  context.log(
    `  memory: sluice retains ${memory.sluiceBytesPerMessage.toFixed(0)} B/msg, hand-written ${memory.baselineBytesPerMessage.toFixed(0)} B/msg`,
  );
  const sizes = backlog.map((p) => p.x);
  return {
    batchSize,
    concurrency,
    handlerMs,
    concurrencyIdeal: plan.concurrencies.map((c) => ({ x: c, perSecond: (c * 1000) / handlerMs })),
    backlog,
    memory,
    backlogSlope: {
      sluice: logLogSlope(
        sizes,
        backlog.map((p) => p.sluice),
      ),
      baseline: logLogSlope(
        sizes,
        backlog.map((p) => p.baseline),
      ),
    },
  };
}

export interface MemoryProbe {
  readonly messages: number;
  /** Least-squares slope of the post-GC heap against messages drained, bytes per message. */
  readonly sluiceBytesPerMessage: number;
  readonly baselineBytesPerMessage: number;
  /** Heap in use after a full GC at the last sample, MB above the first. */
  readonly sluiceGrowthMB: number;
  readonly baselineGrowthMB: number;
}

/** A full GC on demand, without a node flag on the command line. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Does a cycle keep memory per message it drains? One cycle each way over a backlog; every tenth of
 * it the handler forces a full GC and records the heap still in use. Constant = nothing retained.
 */
async function probeMemory(context: BenchContext, messages: number): Promise<MemoryProbe> {
  const gc = collector();
  const step = Math.floor(messages / 10);
  const probe = async (which: 'sluice' | 'baseline') => {
    const xs: number[] = [];
    const ys: number[] = [];
    let seen = 0;
    const handler = () => {
      if (++seen % step !== 0) return;
      gc();
      xs.push(seen);
      ys.push(process.memoryUsage().heapUsed);
    };
    await runOnce(context, which, { messages, batchSize: 100, concurrency: 1, handler });
    return { slope: linearSlope(xs, ys), growthMB: ((ys[ys.length - 1] ?? 0) - (ys[0] ?? 0)) / 1e6 };
  };
  const sluice = await probe('sluice');
  const baseline = await probe('baseline');
  return {
    messages,
    sluiceBytesPerMessage: sluice.slope,
    baselineBytesPerMessage: baseline.slope,
    sluiceGrowthMB: sluice.growthMB,
    baselineGrowthMB: baseline.growthMB,
  };
}

function linearSlope(xs: readonly number[], ys: readonly number[]): number {
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return num / den;
}
