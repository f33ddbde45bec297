/**
 * Network faults between the REST driver (@upstash/redis) and the REST server: the fault proxy
 * (test/support/fault-proxy.ts) sits on HTTP, between the driver and a private local Upstash REST
 * server in front of a private redis-server, so a request can hang (stall: bytes held, sockets open),
 * vanish (black hole) or be reset (cut) while Redis itself stays healthy. A hung REST request must
 * end the cycle by its deadline plus the settle grace — with the driver's request timeout shorter
 * than the budget, and with the default one (10 s), which only the cycle's hard stop can beat.
 *
 * MONITOR on the private redis-server watches every XACK of the group: each must come after the id
 * was recorded as processed (an awaited RPUSH straight to Redis, before the handler returns); no id
 * is acknowledged twice within the faulted cycle (but for an XACK in flight when the connection is
 * cut, which the driver repeats); after heal() the same driver finishes the work
 * and nothing is lost (every message processed, nothing pending, no lag).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { type DrainReport, drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { publishBatch } from '../../src/publish/batch.js';
import { groupState, until, watchAcks } from '../support/fault-kit.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';

const VISIBILITY_MS = 300;
const BUDGET_MS = 1_500;
const SAFETY_MARGIN_MS = 400;
/** The documented settle grace: min(1000, max(100, safetyMarginMs / 2)). */
const GRACE_MS = Math.min(1_000, Math.max(100, Math.floor(SAFETY_MARGIN_MS / 2)));
/** Timer and scheduling slack on a loaded 2-core machine; far below the 10 s a hung request would take. */
const SLACK_MS = 1_000;
const MESSAGES = 300;

let server: RedisServer;
let rest: RestServer;
let redis: Redis;
let direct: Driver;

beforeAll(async () => {
  server = await startRedisServer();
  rest = await startRestServer({ redisUrl: server.url, token: `rest-${randomUUID()}` });
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  direct = ioredisDriver(server.url);
});

afterAll(async () => {
  await direct?.close();
  redis?.disconnect();
  await rest?.stop();
  await server?.stop();
});

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => {});
});

async function arrange(requestTimeoutMs: number | undefined) {
  const proxy = await startFaultProxy(rest.port);
  cleanups.push(() => proxy.close());
  const driver = upstashDriver({
    url: `http://127.0.0.1:${proxy.port}`,
    token: rest.token,
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  });
  const topic = `net-rest-${randomUUID().slice(0, 8)}`;
  const group = 'g';
  const { stream } = streamKeys({ topic });
  const logKey = `${stream}:test-processed`;
  await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  const watch = await watchAcks(server.url, redis, { stream, group, logKey });
  cleanups.push(() => watch.close());
  const published: string[] = [];
  const chunk = Array.from({ length: MESSAGES }, (_, i) => ({ data: i }));
  // Straight to Redis, not through the proxy: the arrangement is not under test.
  published.push(...(await publishBatch(direct, topic, chunk)).map((r) => r.id));
  return { proxy, driver, topic, group, stream, logKey, published, watch };
}

type Scene = Awaited<ReturnType<typeof arrange>>;

function cycle(s: Scene, driver: Driver, onProcessed?: (count: number) => void) {
  let count = 0;
  return drain(driver, {
    topic: s.topic,
    group: s.group,
    startId: '0',
    batchSize: 50,
    blockMs: 200,
    visibilityTimeoutMs: VISIBILITY_MS,
    maxRedeliveryDelayMs: VISIBILITY_MS,
    budgetMs: BUDGET_MS,
    safetyMarginMs: SAFETY_MARGIN_MS,
    logger: silentLogger,
    handler: async (message) => {
      await redis.rpush(s.logKey, message.id);
      onProcessed?.(++count);
    },
  });
}

/** After heal(): cycles with the same driver until nothing is left; every message processed once or more. */
async function finish(s: Scene): Promise<DrainReport[]> {
  const reports: DrainReport[] = [];
  for (;;) {
    const report = await cycle(s, s.driver);
    reports.push(report);
    if (report.lag === 0 && report.pending === 0) break;
    expect(reports.length, `cycles after healing: ${describeReports(reports)}`).toBeLessThan(8);
    if (report.stoppedBy !== 'error' && report.lag === 0) {
      await until(
        async () =>
          [...(await groupState(redis, s.stream, s.group)).pending.values()].some(
            (p) => p.idleMs >= VISIBILITY_MS,
          ),
        VISIBILITY_MS * 20,
        'a pending entry to pass the visibility timeout',
      );
    }
  }
  const logged = new Set(await redis.lrange(s.logKey, 0, -1));
  expect(s.published.filter((id) => !logged.has(id))).toEqual([]);
  const final = await groupState(redis, s.stream, s.group);
  expect(final.pending.size).toBe(0);
  expect(final.lag).toBe(0);
  return reports;
}

function describeReports(reports: readonly DrainReport[]): string {
  return reports
    .map((r) => `${r.stoppedBy}${r.error ? ` (${r.error.slice(0, 90)})` : ''} acked ${r.acked}`)
    .join(' → ');
}

/** What MONITOR saw so far: ids acknowledged, ids acknowledged twice, ids acknowledged before they were recorded as processed. */
async function ackCheck(s: Scene) {
  await s.watch.flush();
  return {
    acked: new Set(s.watch.acked),
    twice: [...s.watch.ackCounts].filter(([, n]) => n > 1).map(([id]) => id),
    unaccounted: [...s.watch.ackedUnaccounted],
  };
}

const breakNetwork = (proxy: FaultProxy, fault: 'stall' | 'blackhole' | 'cut') =>
  fault === 'stall' ? proxy.stall() : fault === 'blackhole' ? proxy.blackhole() : proxy.cut();

describe('network faults between the REST driver and the REST server', () => {
  it.each([
    { fault: 'stall', at: 'the acknowledgement', requestTimeoutMs: 500 },
    { fault: 'stall', at: 'a read', requestTimeoutMs: undefined },
    { fault: 'stall', at: 'the acknowledgement', requestTimeoutMs: undefined },
    { fault: 'blackhole', at: 'the acknowledgement', requestTimeoutMs: undefined },
    { fault: 'blackhole', at: 'a read', requestTimeoutMs: 500 },
    { fault: 'cut', at: 'the acknowledgement', requestTimeoutMs: undefined },
    { fault: 'cut', at: 'a read', requestTimeoutMs: 500 },
  ] as const)(
    '$fault at $at (requestTimeoutMs $requestTimeoutMs): the cycle ends by deadline + grace, acknowledges only what it processed, loses nothing; after heal() the same driver finishes',
    async ({ fault, at, requestTimeoutMs }) => {
      const s = await arrange(requestTimeoutMs);
      let broken = false;
      let reads = 0;
      // At a read: the network breaks just before the read that follows the 2nd batch.
      const driver: Driver =
        at === 'a read'
          ? {
              ...s.driver,
              readGroup: (args) => {
                if (++reads === 3 && !broken) {
                  broken = true;
                  breakNetwork(s.proxy, fault);
                }
                return s.driver.readGroup(args);
              },
            }
          : s.driver;
      const started = Date.now();
      // At the acknowledgement: the 60th message is in the 2nd batch of 50; its batch's XACK meets the fault.
      const report = await cycle(s, driver, (count) => {
        if (at === 'the acknowledgement' && count === 60 && !broken) {
          broken = true;
          breakNetwork(s.proxy, fault);
        }
      });
      const wallMs = Date.now() - started;
      expect(broken).toBe(true);
      // However long the request would have hung (10 s by default), the cycle ended by its deadline.
      expect(wallMs).toBeLessThanOrEqual(BUDGET_MS + GRACE_MS + SLACK_MS);
      expect(report.durationMs).toBeLessThanOrEqual(BUDGET_MS + GRACE_MS + SLACK_MS);
      if (fault === 'cut') {
        // A reset is answered at once: the SDK retries the repeatable commands, or the cycle says error.
        expect(['budget', 'error', 'idle']).toContain(report.stoppedBy);
      } else {
        // A hung request cannot be mistaken for a clean stop: the report says why the cycle ended.
        expect(report.stoppedBy).toBe('error');
        expect(report.error).toMatch(/RedisUnavailableError/);
      }
      const during = await ackCheck(s);
      expect(during.unaccounted, 'acknowledged before it was processed').toEqual([]);
      // Acks leave as handlers finish, so a cut can reset an XACK Redis already ran: the driver repeats it
      // (XACK is safe to repeat). Only those may be acknowledged twice: ids processed before the cut.
      const cutMidAck = fault === 'cut' ? new Set(s.published.slice(0, 60)) : new Set<string>();
      expect(
        during.twice.filter((id) => !cutMidAck.has(id) || s.watch.ackCounts.get(id) !== 2),
        'acknowledged twice by one cycle',
      ).toEqual([]);
      // What the cycle counts as acknowledged, Redis acknowledged: no ack claimed that did not happen.
      expect(report.acked).toBeLessThanOrEqual(during.acked.size);

      s.proxy.heal();
      const reports = await finish(s);
      const after = await ackCheck(s);
      expect(after.unaccounted, 'acknowledged before it was processed').toEqual([]);
      expect(after.acked.size).toBe(MESSAGES);
      const processings = await redis.llen(s.logKey);
      console.log(
        `REST ${fault} at ${at}, requestTimeoutMs ${requestTimeoutMs ?? 'default (10000)'}: cycle ended after ${wallMs} ms ` +
          `(budget ${BUDGET_MS} + grace ${GRACE_MS}), ${describeReports([report])}; after heal: ${describeReports(reports)}; ` +
          `${MESSAGES} messages, lost 0, ${processings - MESSAGES} duplicates, ${s.watch.xackCommands} XACKs checked by MONITOR`,
      );
    },
    30_000,
  );
});
