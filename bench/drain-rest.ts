/**
 * Drain over REST (@upstash/redis through the local REST server): throughput against hand-written
 * REST loops (plain fetch, and the same SDK), HTTP requests per message and per batch, and what an
 * idle cycle costs in requests.
 */
import { type Driver, drain, silentLogger } from '../src/index.js';
import { type BenchContext, withRest } from './lib/context.js';
import { type DrainRun, fetchLoop, sdkLoop, sluiceDrain } from './lib/loops.js';
import { fillStream } from './lib/redis-tools.js';
import { requestCount } from './lib/rest-counter.js';
import { startRestChild } from './lib/servers.js';
import { median } from './lib/stats.js';

export interface RestDrainResult {
  readonly messages: number;
  readonly batchSize: number;
  /** `sluice` as configured by default (prefetch 1); `sluice2` reading 2 batches ahead. */
  readonly perSecond: Readonly<Record<Variant, number>>;
  /** Medians of the per-round ratios. */
  readonly ratioToFetch: number;
  readonly ratioToSdk: number;
  /** sluice with `prefetch: 2` ÷ the fetch loop. */
  readonly prefetch2RatioToFetch: number;
  readonly samples: Readonly<Record<Variant, number[]>>;
  readonly requests: Readonly<Record<Variant, number>>;
  readonly sluiceRequestsPerMessage: number;
  readonly sluiceRequestsPerBatch: number;
}

type Variant = 'sluice' | 'sluice2' | 'fetch' | 'sdk';

async function runOnce(
  context: BenchContext,
  variant: Variant,
  messages: number,
  batchSize: number,
): Promise<{ run: DrainRun; requests: number }> {
  const { topic, stream } = context.topic(`rest-${variant}`);
  await fillStream(context.servers.admin, stream, messages);
  const loop = { stream, group: 'bench', batchSize, concurrency: 1 };
  const noop = async () => {};
  const before = requestCount();
  const run =
    variant === 'sluice' || variant === 'sluice2'
      ? await sluiceDrain(context.rest, {
          ...loop,
          topic,
          handler: noop,
          prefetch: variant === 'sluice' ? 1 : 2,
        })
      : variant === 'fetch'
        ? await fetchLoop(context.servers.rest, loop, noop)
        : await sdkLoop(context.sdk, loop, noop);
  const requests = requestCount() - before;
  await context.servers.admin.unlink(stream);
  if (run.messages !== messages)
    throw new Error(`${variant} drained ${run.messages} of ${messages} over REST`);
  return { run, requests };
}

export async function benchRestDrain(
  context: BenchContext,
  options: { readonly messages: number; readonly batchSize: number; readonly reps: number },
): Promise<RestDrainResult> {
  const { messages, batchSize, reps } = options;
  const samples: Record<Variant, number[]> = { sluice: [], sluice2: [], fetch: [], sdk: [] };
  const requests: Record<Variant, number> = { sluice: 0, sluice2: 0, fetch: 0, sdk: 0 };
  // Rotate the order each round (s 2 f k, 2 f k s, …) so that noise is spread over all of them.
  const order: Variant[] = ['sluice', 'sluice2', 'fetch', 'sdk'];
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < order.length; i++) {
      const variant = order[(rep + i) % order.length] as Variant;
      const { run, requests: count } = await runOnce(context, variant, messages, batchSize);
      samples[variant].push((run.messages / run.ms) * 1000);
      requests[variant] = count;
    }
  }
  const ratios = (other: Variant, of: Variant = 'sluice') =>
    samples[of].map((s, i) => s / (samples[other][i] as number));
  const batches = Math.ceil(messages / batchSize);
  return {
    messages,
    batchSize,
    perSecond: {
      sluice: median(samples.sluice),
      sluice2: median(samples.sluice2),
      fetch: median(samples.fetch),
      sdk: median(samples.sdk),
    },
    ratioToFetch: median(ratios('fetch')),
    ratioToSdk: median(ratios('sdk')),
    prefetch2RatioToFetch: median(ratios('fetch', 'sluice2')),
    samples,
    requests,
    sluiceRequestsPerMessage: requests.sluice / messages,
    sluiceRequestsPerBatch: requests.sluice / batches,
  };
}

export interface IdleResult {
  readonly budgetMs: number;
  readonly durationMs: number;
  /** REST: HTTP requests of one idle cycle, scaled to a 60 s minute. */
  readonly restRequestsPerMinute: number;
  readonly restRequests: number;
  /** TCP: Redis commands of one idle cycle, scaled to a 60 s minute. */
  readonly tcpCommandsPerMinute: number;
  readonly tcpCommands: number;
}

/**
 * One idle cycle per driver, side by side, with the default settings (blockMs 1000; over REST a
 * poll back-off from 50 ms doubling to 1000 ms). With the full run's budget of 50 s (the default),
 * this is exactly what a scheduled function costs in an idle minute.
 */
export async function benchIdle(context: BenchContext, budgetMs: number): Promise<IdleResult> {
  const { admin } = context.servers;
  const tcpTopic = context.topic('idle-tcp');
  const restTopic = context.topic('idle-rest');
  const tcpDriver = countingDriver(context.tcp);
  const requestsBefore = requestCount();
  const started = performance.now();
  const common = { group: 'bench', budgetMs, logger: silentLogger, handler: () => {} };
  const [tcp, rest] = await Promise.all([
    drain(tcpDriver.driver, { ...common, topic: tcpTopic.topic }),
    drain(context.rest, { ...common, topic: restTopic.topic }),
  ]);
  const durationMs = performance.now() - started;
  const restRequests = requestCount() - requestsBefore;
  await admin.unlink(tcpTopic.stream, restTopic.stream);
  if (tcp.read + rest.read !== 0) throw new Error('the idle streams were not idle');
  return {
    budgetMs,
    durationMs,
    restRequests,
    restRequestsPerMinute: (restRequests / rest.durationMs) * 60_000,
    tcpCommands: tcpDriver.commands(),
    tcpCommandsPerMinute: (tcpDriver.commands() / tcp.durationMs) * 60_000,
  };
}

/** The driver, counting the commands sluice sends through it (one per call). */
function countingDriver(driver: Driver): { driver: Driver; commands(): number } {
  let commands = 0;
  const counted = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        commands++;
        return value.apply(target, args);
      };
    },
  });
  return { driver: counted, commands: () => commands };
}

export interface RestDelayResult {
  readonly delayMs: number;
  readonly result: RestDrainResult;
}

/**
 * The REST drain with a fixed delay added to every request by a REST server of its own (what a
 * network between the function and Upstash adds to each round trip): sluice against the
 * hand-written loops at each delay. At 0 ms it is the plain local figure.
 */
export async function benchRestDelays(
  context: BenchContext,
  options: {
    readonly delaysMs: readonly number[];
    readonly messages: number;
    readonly batchSize: number;
    readonly reps: number;
  },
): Promise<RestDelayResult[]> {
  const results: RestDelayResult[] = [];
  for (const delayMs of options.delaysMs) {
    if (delayMs === 0) {
      results.push({ delayMs, result: await benchRestDrain(context, options) });
      continue;
    }
    const endpoint = await startRestChild(context.servers.redis.url, context.servers.rest.token, delayMs);
    const unadopt = context.servers.adopt(endpoint.stop);
    const delayed = withRest(context, endpoint);
    try {
      results.push({ delayMs, result: await benchRestDrain(delayed, options) });
    } finally {
      await delayed.rest.close();
      unadopt();
      await endpoint.stop();
    }
  }
  return results;
}
