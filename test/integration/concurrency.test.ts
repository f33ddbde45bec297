import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';
import { measureLatency } from '../support/latency.js';

describe.each(DRIVERS)('overlapping cycles over $name', (kind) => {
  const redis = kind.redis();

  const newDriver = () => kind.create();

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

  it('a long batch keeps hold of the messages still waiting: an overlapping cycle does not run them again', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    await publishBatch(
      newDriver(),
      topic,
      Array.from({ length: 16 }, (_, i) => ({ data: i })),
    );
    const handled = new Map<string, number>();
    const slow = {
      group: 'g',
      topic,
      batchSize: 16,
      blockMs: 20,
      idleExitMs: 100,
      budgetMs: 10_000,
      visibilityTimeoutMs: 1_000,
      logger: silentLogger,
      // Each handler is 5 times quicker than the visibility timeout; the batch takes 3.2 s.
      handler: async (m: { id: string }) => {
        handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 200));
      },
    };
    const first = drain(newDriver(), slow);
    await expect.poll(() => handled.size, { timeout: 5_000, interval: 50 }).toBeGreaterThanOrEqual(8);
    const second = await drain(newDriver(), slow); // starts 1.6 s into the first cycle's batch
    const report = await first;
    expect(second.reclaimed).toBe(0);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(handled.size).toBe(16);
    expect(report.acked).toBe(16);
  });

  it('a message handed out late in a batch is not taken over while its handler runs within nine tenths of the visibility timeout', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    await publishBatch(newDriver(), topic, [{ data: 'first' }, { data: 'second' }]);
    const handled: string[] = [];
    let secondStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      secondStarted = resolve;
    });
    const slow = {
      group: 'g',
      topic,
      blockMs: 20,
      idleExitMs: 100,
      budgetMs: 10_000,
      visibilityTimeoutMs: 1_000,
      logger: silentLogger,
      // 450 ms, then 800 ms: the second starts 450 ms after the batch was read and runs 800 ms,
      // 1,250 ms in all — its hold must have been renewed when it was handed out.
      handler: async (m: { data: unknown }) => {
        handled.push(String(m.data));
        if (m.data === 'second') secondStarted();
        await new Promise((r) => setTimeout(r, m.data === 'first' ? 450 : 800));
      },
    };
    const first = drain(newDriver(), slow);
    await started;
    await new Promise((r) => setTimeout(r, 600)); // 1,050 ms after the read: past the timeout from it
    const overlapping = await drain(newDriver(), {
      ...slow,
      handler: (m: { data: unknown }) => void handled.push(`again ${m.data}`),
    });
    expect((await first).acked).toBe(2);
    expect(overlapping.reclaimed).toBe(0);
    expect(handled).toEqual(['first', 'second']);
  });

  it('the consumer list stays bounded over 1,000 cycles, and a consumer holding entries is kept', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    // A consumer that died holding an entry: it must survive tidying until its entry is reclaimed.
    await redis.xadd(stream, '*', 'orphan', '1');
    await redis.xreadgroup('GROUP', 'g', 'crashed', 'COUNT', 1, 'STREAMS', stream, '>');
    const driver = newDriver();
    let most = 0;
    for (let i = 0; i < 1_000; i++) {
      if (i % 50 === 0) await publishBatch(driver, topic, [{ data: i }]);
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

describe.each([
  { name: 'ioredis', connect: (server: RedisServer): Driver => ioredisDriver(server.url) },
  {
    name: 'upstash',
    connect: (_server: RedisServer, rest?: RestServer): Driver =>
      upstashDriver({ url: rest?.url, token: rest?.token }),
  },
])('Redis commands (REST: requests) over $name', ({ name, connect }) => {
  let server: RedisServer;
  let rest: RestServer | undefined;
  let admin: Redis;
  let driver: Driver;
  beforeAll(async () => {
    server = await startRedisServer();
    if (name === 'upstash') rest = await startRestServer({ redisUrl: server.url, token: 'bench-token' });
    admin = new Redis(server.url);
    driver = connect(server, rest);
  });
  afterAll(async () => {
    await driver.close();
    admin.disconnect();
    await rest?.stop();
    await server.stop();
  });

  /** Calls per command since `RESETSTAT`, leaving out the admin connection's own. */
  async function calls(): Promise<Map<string, number>> {
    const stats = new Map<string, number>();
    for (const line of (await admin.info('commandstats')).split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
      if (m && m[1] !== 'config' && m[1] !== 'info') stats.set(m[1] as string, Number(m[2]));
    }
    return stats;
  }

  async function arrange() {
    const topic = randomTopic();
    await admin.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '$', 'MKSTREAM');
    // Warm: the group is cached, the scripts loaded.
    await drain(driver, {
      topic,
      group: 'g',
      blockMs: 1,
      idleExitMs: 0,
      logger: silentLogger,
      handler: () => {},
    });
    return topic;
  }

  it('a no-op handler costs at most 3 commands per batch read and nothing per message', async () => {
    const topic = await arrange();
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
    const total = [...(await calls()).values()].reduce((sum, n) => sum + n, 0);
    const batches = Math.ceil(5_000 / 100) + 1; // plus the empty read that ends the cycle
    expect(report.acked).toBe(5_000);
    expect(total).toBeLessThanOrEqual(3 * batches);
    expect(total / 5_000).toBeLessThanOrEqual(0.03);
  });

  it('an idle cycle costs what the README says: polls back off to one per blockMs when the driver cannot block', async () => {
    const topic = await arrange();
    const { roundTripMs, timerLagMs } = await measureLatency(driver, streamKeys({ topic }).stream);
    // The fewest reads: one per blockMs and round trip (as slow as measured now, twice over) in the 2 s, less two.
    const fewest = Math.floor(2_000 / (200 + 2 * roundTripMs + 2 * timerLagMs)) - 2;
    await admin.config('RESETSTAT');
    const report = await drain(driver, {
      topic,
      group: 'g',
      blockMs: 200,
      idleExitMs: 2_000,
      logger: silentLogger,
      handler: () => {},
    });
    const stats = await calls();
    const reads = stats.get('xreadgroup') ?? 0;
    expect(report.stoppedBy).toBe('idle');
    if (name === 'upstash') {
      // Polls at 0, 50, 150, 350 ms, then every 200 ms until 2 s: about 12.
      expect(reads, `fewest ${fewest}`).toBeGreaterThanOrEqual(fewest);
      expect(reads).toBeLessThanOrEqual(15);
    } else {
      // Blocking reads of up to 200 ms: about 10, no back-off needed.
      expect(reads, `fewest ${fewest}`).toBeGreaterThanOrEqual(fewest);
      expect(reads).toBeLessThanOrEqual(12);
    }
    // Besides the reads: one reclaim, one tidy and one history script per cycle. The topic's layout
    // (read every cycle while no partition count is recorded: it may yet be declared) is read by the
    // reclaim script itself. Its XAUTOCLAIM (one page, nothing pending) is counted apart, run inside it.
    expect(stats.get('evalsha') ?? 0).toBeLessThanOrEqual(3);
    expect(stats.get('xautoclaim') ?? 0).toBe(1);
  });
});
