/**
 * Network faults between the ioredis driver and Redis, through an in-process TCP fault proxy
 * (test/support/fault-proxy.ts): a connection that stalls (bytes held, sockets open), a black hole
 * (bytes dropped, new connections too), a cut (every connection reset). The drain cycle must still
 * end by its deadline plus the settle grace, say why it stopped, lose nothing (what it did not
 * acknowledge stays pending), and the same driver object must carry on once the network heals.
 * A publish through a stalled connection fails within the driver's command timeout.
 * MONITOR on a redis-server of this file's own checks that every XACK of the group came after the
 * handler recorded the id (an awaited RPUSH straight to Redis).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type DrainReport, drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { RedisUnavailableError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { compareIds, groupState, until, watchAcks } from '../support/fault-kit.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';

// A redis-server of this file's own: MONITOR then sees this file's commands only.
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
const VISIBILITY_MS = 300;
const BUDGET_MS = 1_500;
const SAFETY_MARGIN_MS = 400;
/** The documented settle grace: min(1000, max(100, safetyMarginMs / 2)). */
const GRACE_MS = Math.min(1_000, Math.max(100, Math.floor(SAFETY_MARGIN_MS / 2)));
/**
 * Timer and scheduling slack on a loaded 2-core machine. Still meaningful: what it must catch is a
 * cycle held by the driver's own wait (the default 5 s command timeout) or forever.
 */
const SLACK_MS = 1_000;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => {});
});

async function arrange(commandTimeoutMs: number | undefined, messages: number) {
  const proxy = await startFaultProxy(server.port);
  cleanups.push(() => proxy.close());
  const driver = ioredisDriver(proxy.url, commandTimeoutMs === undefined ? {} : { commandTimeoutMs });
  cleanups.push(() => driver.close());
  const topic = `net-${randomUUID().slice(0, 8)}`;
  const group = 'g';
  const { stream } = streamKeys({ topic });
  cleanups.push(async () => {
    const keys = await redis.keys(`sluice:{${topic}}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  // Every XACK of the group must come after the handler recorded the id here (MONITOR checks).
  const logKey = `${stream}:test-processed`;
  const watch = await watchAcks(server.url, redis, { stream, group, logKey });
  cleanups.push(() => watch.close());
  const published: string[] = [];
  for (let start = 0; start < messages; start += 500) {
    const chunk = Array.from({ length: Math.min(500, messages - start) }, (_, i) => ({ data: start + i }));
    // Straight to Redis, not through the proxy: the arrangement is not under test.
    published.push(...(await publishBatch(ioredisDriverOnce(), topic, chunk)).map((r) => r.id));
  }
  return { proxy, driver, topic, group, stream, published, logKey, watch };
}

type Scene = Awaited<ReturnType<typeof arrange>>;

/** The handlers' record of a processing: in memory, and RPUSHed straight to Redis before it returns. */
async function record(s: { logKey: string }, processed: Map<string, number>, id: string): Promise<void> {
  processed.set(id, (processed.get(id) ?? 0) + 1);
  await redis.rpush(s.logKey, id);
}

let direct: Driver | undefined;
function ioredisDriverOnce(): Driver {
  if (!direct) {
    const driver = ioredisDriver(server.url);
    direct = driver;
    cleanups.push(() => {
      direct = undefined;
      return driver.close();
    });
  }
  return direct;
}

const cycleOptions = {
  startId: '0' as const,
  batchSize: 50,
  blockMs: 200,
  visibilityTimeoutMs: VISIBILITY_MS,
  maxRedeliveryDelayMs: VISIBILITY_MS,
  logger: silentLogger,
};

/**
 * After the fault: no acknowledged message went unprocessed; then cycles with the same driver finish
 * the work (entries left pending come back after the visibility timeout). Returns the cycles' reports.
 */
async function finish(s: Scene, processed: Map<string, number>): Promise<DrainReport[]> {
  const state = await groupState(redis, s.stream, s.group);
  for (const id of s.published) {
    if (compareIds(id, state.lastDeliveredId) > 0) break;
    if (!state.pending.has(id)) expect(processed.has(id), `${id} acknowledged unprocessed`).toBe(true);
  }
  const reports: DrainReport[] = [];
  for (;;) {
    const report = await drain(s.driver, {
      ...cycleOptions,
      topic: s.topic,
      group: s.group,
      blockMs: 50,
      idleExitMs: 150,
      budgetMs: 10_000,
      handler: (message) => record(s, processed, message.id),
    });
    reports.push(report);
    if (report.lag === 0 && report.pending === 0) break;
    expect(reports.length, `cycles after healing: ${JSON.stringify(reports)}`).toBeLessThan(6);
    if (report.stoppedBy !== 'error' && report.lag === 0) {
      await until(
        async () =>
          [...(await groupState(redis, s.stream, s.group)).pending.values()].some(
            (p) => p.idleMs >= VISIBILITY_MS,
          ),
        VISIBILITY_MS * 10,
        'a pending entry to pass the visibility timeout',
      );
    }
  }
  expect(s.published.filter((id) => !processed.has(id))).toEqual([]);
  const final = await groupState(redis, s.stream, s.group);
  expect(final.pending.size).toBe(0);
  expect(final.lag).toBe(0);
  await s.watch.flush();
  expect(s.watch.ackedUnaccounted, 'acknowledged before it was processed (MONITOR)').toEqual([]);
  expect(s.watch.acked.size).toBe(s.published.length);
  return reports;
}

function describeReports(reports: readonly DrainReport[]): string {
  return reports
    .map((r) => `${r.stoppedBy}${r.error ? ` (${r.error.slice(0, 90)})` : ''} acked ${r.acked}`)
    .join(' → ');
}

describe('network faults between the ioredis driver and Redis', () => {
  it.each([
    { fault: 'stall', at: 'the acknowledgement', commandTimeoutMs: 500 },
    { fault: 'stall', at: 'a blocking read', commandTimeoutMs: undefined },
    { fault: 'blackhole', at: 'the acknowledgement', commandTimeoutMs: undefined },
    { fault: 'blackhole', at: 'a blocking read', commandTimeoutMs: 500 },
  ] as const)(
    '$fault at $at (commandTimeoutMs $commandTimeoutMs): the cycle ends by deadline + grace, loses nothing; after heal() the same driver finishes',
    async ({ fault, at, commandTimeoutMs }) => {
      const MESSAGES = 300;
      const s = await arrange(commandTimeoutMs, MESSAGES);
      const processed = new Map<string, number>();
      const breakNetwork = (proxy: FaultProxy) => (fault === 'stall' ? proxy.stall() : proxy.blackhole());
      let broken = false;
      // For a fault at a read: the network breaks just before the read that follows the 2nd batch.
      let reads = 0;
      const driver: Driver =
        at === 'a blocking read'
          ? {
              ...s.driver,
              readGroup: (args) => {
                if (++reads === 3 && !broken) {
                  broken = true;
                  breakNetwork(s.proxy);
                }
                return s.driver.readGroup(args);
              },
            }
          : s.driver;
      const started = Date.now();
      const report = await drain(driver, {
        ...cycleOptions,
        topic: s.topic,
        group: s.group,
        budgetMs: BUDGET_MS,
        safetyMarginMs: SAFETY_MARGIN_MS,
        handler: async (message) => {
          await record(s, processed, message.id);
          // Mid-batch: the 60th message is in the 2nd batch of 50; its acknowledgement meets the fault.
          if (at === 'the acknowledgement' && processed.size === 60 && !broken) {
            broken = true;
            breakNetwork(s.proxy);
          }
        },
      });
      const wallMs = Date.now() - started;
      expect(broken).toBe(true);

      // It ended by the deadline plus the grace, however long the driver would have waited.
      expect(wallMs).toBeLessThanOrEqual(BUDGET_MS + GRACE_MS + SLACK_MS);
      expect(report.durationMs).toBeLessThanOrEqual(BUDGET_MS + GRACE_MS + SLACK_MS);
      if (commandTimeoutMs !== undefined) {
        // The driver's command timeout came first: the cycle says why it stopped.
        expect(report.stoppedBy).toBe('error');
        expect(report.error).toMatch(/RedisUnavailableError: Redis did not answer/);
      } else {
        // Only the cycle's hard stop could end it, after the deadline: the report still says why.
        expect(report.stoppedBy).toBe('error');
        expect(report.error).toMatch(/RedisUnavailableError/);
      }

      s.proxy.heal();
      const reports = await finish({ ...s, driver: s.driver }, processed);
      const processings = [...processed.values()].reduce((a, b) => a + b, 0);
      console.log(
        `${fault} at ${at}, commandTimeoutMs ${commandTimeoutMs ?? 'default (5000)'}: cycle ended after ${wallMs} ms ` +
          `(budget ${BUDGET_MS} + grace ${GRACE_MS}), ${describeReports([report])}; after heal: ${describeReports(reports)}; ` +
          `${MESSAGES} messages, lost 0, ${processings - MESSAGES} duplicates`,
      );
    },
    20_000,
  );

  it.each([
    { when: 'mid-batch', commandTimeoutMs: 500 },
    { when: 'during a blocking read', commandTimeoutMs: 500 },
    { when: 'during a blocking read', commandTimeoutMs: undefined },
  ] as const)(
    'cut $when (commandTimeoutMs $commandTimeoutMs): the cycle carries on or says error, by deadline + grace; nothing lost; the same driver finishes',
    async ({ when, commandTimeoutMs }) => {
      const MESSAGES = 300;
      const s = await arrange(commandTimeoutMs, MESSAGES);
      const processed = new Map<string, number>();
      let cut = false;
      const driver: Driver =
        when === 'during a blocking read'
          ? {
              ...s.driver,
              readGroup: (args) => {
                const reply = s.driver.readGroup(args);
                // The read that follows the last message is a blocking one with nothing to return: cut it in flight.
                if (processed.size === MESSAGES && !cut) {
                  cut = true;
                  setImmediate(() => s.proxy.cut());
                }
                return reply;
              },
            }
          : s.driver;
      const started = Date.now();
      const report = await drain(driver, {
        ...cycleOptions,
        topic: s.topic,
        group: s.group,
        budgetMs: BUDGET_MS,
        safetyMarginMs: SAFETY_MARGIN_MS,
        handler: async (message) => {
          await record(s, processed, message.id);
          if (when === 'mid-batch' && processed.size === 75 && !cut) {
            cut = true;
            s.proxy.cut();
          }
        },
      });
      const wallMs = Date.now() - started;
      expect(cut).toBe(true);
      expect(wallMs).toBeLessThanOrEqual(BUDGET_MS + GRACE_MS + SLACK_MS);
      expect(['budget', 'error']).toContain(report.stoppedBy);
      if (report.stoppedBy === 'error') expect(report.error).toBeTruthy();
      const reports = await finish(s, processed);
      const processings = [...processed.values()].reduce((a, b) => a + b, 0);
      console.log(
        `cut ${when}, commandTimeoutMs ${commandTimeoutMs ?? 'default (5000)'}: cycle ended after ${wallMs} ms, ${describeReports([report])}; then ${describeReports(reports)}; ` +
          `${MESSAGES} messages, lost 0, ${processings - MESSAGES} duplicates; proxy accepted ${s.proxy.accepted} connections`,
      );
    },
    20_000,
  );

  it.each(['stall', 'blackhole'] as const)(
    'a publish through a %s fails within the command timeout; after heal() the same driver publishes',
    async (fault) => {
      const COMMAND_TIMEOUT_MS = 500;
      const s = await arrange(COMMAND_TIMEOUT_MS, 1);
      await publish(s.driver, s.topic, { data: 'warm' }); // connected
      if (fault === 'stall') s.proxy.stall();
      else s.proxy.blackhole();
      const started = Date.now();
      const error = await publish(s.driver, s.topic, { data: 'lost?' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(elapsed).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      expect(elapsed).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + SLACK_MS);
      // A batch (the publish script) too.
      const batchError = await publishBatch(s.driver, s.topic, [{ data: 1 }, { data: 2 }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(batchError).toBeInstanceOf(RedisUnavailableError);

      s.proxy.heal();
      // The same driver object publishes again once the network is back (it reconnects by itself).
      let id: string | undefined;
      await until(
        async () => {
          id = await publish(s.driver, s.topic, { data: 'after' }).then(
            (r) => r.id,
            () => undefined,
          );
          return id !== undefined;
        },
        5_000,
        'a publish to succeed after heal()',
      );
      const entries = (await redis.xrange(s.stream, id as string, id as string)) as [string, string[]][];
      expect(entries).toHaveLength(1);
      // The publish that failed on a stalled connection may still be written once the bytes flow
      // again (its outcome was unknown, as the error says); on a black hole it never is.
      const all = (await redis.xrange(s.stream, '-', '+')) as [string, string[]][];
      console.log(
        `publish through a ${fault}: failed after ${elapsed} ms (${(error as Error).message}); ` +
          `after heal the same driver published; stream holds ${all.length} entries`,
      );
    },
    15_000,
  );
});
