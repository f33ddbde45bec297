import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain } from '../../src/core/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/core/publish.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { newDriver, randomTopic, rawClient } from '../support/fixtures.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const redis = rawClient();

describe('overlapping cycles', () => {
  it('5 overlapping cycles on one group process every message, none twice inside the visibility timeout', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const published = await publishBatch(
      newDriver(),
      topic,
      Array.from({ length: 2_000 }, (_, i) => ({ data: i })),
    );
    const handled = new Map<string, number>();
    // Separate drivers: a blocking read holds its connection, as one function instance would.
    const cycles = Array.from({ length: 5 }, (_, i) =>
      drain(newDriver(), {
        topic,
        group: 'g',
        batchSize: 50,
        blockMs: 20,
        idleExitMs: 200,
        budgetMs: 20_000,
        visibilityTimeoutMs: 60_000,
        consumerPrefix: `overlap${i}`,
        logger: silentLogger,
        handler: async (m) => {
          handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
          await new Promise((r) => setImmediate(r));
        },
      }),
    );
    const reports = await Promise.all(cycles);
    expect(handled.size).toBe(published.length);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(reports.reduce((sum, r) => sum + r.acked, 0)).toBe(2_000);
    // The work was shared, not done by one cycle while the others idled.
    expect(reports.filter((r) => r.acked > 0).length).toBeGreaterThan(1);
    const summary = (await redis.xpending(stream, 'g')) as [number];
    expect(summary[0]).toBe(0);
  });

  it('the consumer list stays bounded over 200 cycles, and a consumer holding entries is kept', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    // A consumer that died holding an entry: it must survive tidying until its entry is reclaimed.
    await redis.xadd(stream, '*', 'orphan', '1');
    await redis.xreadgroup('GROUP', 'g', 'crashed', 'COUNT', 1, 'STREAMS', stream, '>');
    const driver = newDriver();
    let most = 0;
    for (let i = 0; i < 200; i++) {
      if (i % 20 === 0) await publishBatch(driver, topic, [{ data: i }]);
      await drain(driver, {
        topic,
        group: 'g',
        blockMs: 1,
        idleExitMs: 0,
        visibilityTimeoutMs: 60_000,
        logger: silentLogger,
        handler: () => {},
      });
      most = Math.max(most, ((await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[]).length);
    }
    const consumers = (await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[][];
    expect(most).toBeLessThanOrEqual(1);
    expect(consumers.map((c) => c[1])).toEqual(['crashed']);
  });
});

describe('Redis commands in steady state', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a no-op handler costs at most 3 commands per batch read and nothing per message', async () => {
    const admin = new Redis(server.url);
    const driver = ioredisDriver(server.url);
    try {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await admin.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
      // Warm: the group is cached, the scripts loaded.
      await drain(driver, {
        topic,
        group: 'g',
        blockMs: 1,
        idleExitMs: 0,
        logger: silentLogger,
        handler: () => {},
      });
      await publishBatch(
        driver,
        topic,
        Array.from({ length: 5_000 }, (_, i) => ({ data: i })),
      );
      await admin.config('RESETSTAT');
      const report = await drain(driver, {
        topic,
        group: 'g',
        batchSize: 100,
        blockMs: 1,
        idleExitMs: 0,
        logger: silentLogger,
        handler: () => {},
      });
      const stats = (await admin.info('commandstats'))
        .split('\n')
        .map((line) => /^cmdstat_([^:]+):calls=(\d+)/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], Number(m[2])] as const);
      // RESETSTAT counts itself and INFO; admin's commands are not the drain's.
      const drainCalls = stats
        .filter(([name]) => name !== 'config' && name !== 'info')
        .reduce((sum, [, calls]) => sum + calls, 0);
      const batches = Math.ceil(5_000 / 100) + 1; // plus the empty read that ends the cycle
      expect(report.acked).toBe(5_000);
      expect(drainCalls).toBeLessThanOrEqual(3 * batches);
      expect(drainCalls / 5_000).toBeLessThanOrEqual(0.03);
    } finally {
      await driver.close();
      admin.disconnect();
    }
  });
});
