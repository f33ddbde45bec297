/**
 * Publish → handler latency inside a running cycle: a publisher (its own connection) publishes one
 * message, the running drain cycle's handler receives it; the time between the publish call and
 * the handler call is one sample. The publisher waits for each message to arrive, then a random
 * pause, so samples do not queue behind each other.
 */
import { ioredisDriver } from '../src/drivers/ioredis.js';
import { upstashDriver } from '../src/drivers/upstash.js';
import { type Driver, drain, publish, silentLogger } from '../src/index.js';
import type { BenchContext } from './lib/context.js';
import { median, now, percentile, sleep } from './lib/stats.js';

export interface LatencyResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanPauseMs: number;
}

async function measure(
  context: BenchContext,
  consumer: Driver,
  publisher: Driver,
  samples: number,
  pauseMs: () => number,
): Promise<LatencyResult> {
  const { topic, stream } = context.topic('latency');
  const latencies: number[] = [];
  let arrived: (() => void) | undefined;
  const stop = new AbortController();
  const cycle = drain<{ t: number }>(consumer, {
    topic,
    group: 'bench',
    startId: '0',
    budgetMs: 600_000,
    signal: stop.signal,
    logger: silentLogger,
    handler: (message) => {
      latencies.push(now() - message.data.t);
      arrived?.();
    },
  });
  const ended = cycle.then((report) => {
    throw new Error(`the cycle ended early: ${report.stoppedBy} ${report.error ?? ''}`);
  });
  ended.catch(() => {});
  const pauses: number[] = [];
  await sleep(50); // let the cycle create its group and start reading
  for (let i = 0; i < samples; i++) {
    const received = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    await publish(publisher, topic, { data: { t: now() } });
    await Promise.race([received, ended]);
    const pause = pauseMs();
    pauses.push(pause);
    await sleep(pause);
  }
  stop.abort();
  await cycle;
  await context.servers.admin.unlink(stream);
  return {
    samples: latencies.length,
    p50Ms: median(latencies),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    meanPauseMs: pauses.reduce((s, p) => s + p, 0) / pauses.length,
  };
}

/** Over TCP: the cycle waits in XREADGROUP BLOCK; XADD wakes it. */
export async function benchLatencyTcp(context: BenchContext, samples: number): Promise<LatencyResult> {
  const publisher = ioredisDriver(context.servers.redis.url);
  try {
    return await measure(context, context.tcp, publisher, samples, () => Math.random() * 3);
  } finally {
    await publisher.close();
  }
}

/**
 * Over REST: no blocking reads, so the cycle polls with a back-off (50 ms doubling to blockMs);
 * latency depends on how long the stream was quiet. Pauses are exponential, mean `meanPauseMs`.
 */
export async function benchLatencyRest(
  context: BenchContext,
  samples: number,
  meanPauseMs: number,
): Promise<LatencyResult> {
  const publisher = upstashDriver({ url: context.servers.rest.url, token: context.servers.rest.token });
  return measure(context, context.rest, publisher, samples, () => -Math.log(1 - Math.random()) * meanPauseMs);
}
