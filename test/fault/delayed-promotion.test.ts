/**
 * Delayed messages move from the schedule into the stream in the reclaim script, atomically. Kill
 * -9 of drain children right before and right after that script, and of redis-server (append-only
 * file, `appendfsync always`) while drains move thousands of them: every delayed message reaches
 * the stream exactly once, is processed, and nothing is left scheduled.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { publishBatch } from '../../src/publish/batch.js';
import type { DrainChildConfig } from '../support/drain-child.js';
import { groupState, killAllChildren, scaled, spawnDrainChild, until } from '../support/fault-kit.js';
import { seededRandom } from '../support/seeded-random.js';

const GROUP = 'g';
/** Long enough that no publish of the batch moves an earlier one into the stream (publishes move due ones). */
const DELAY_MS = 3_000;

let server: RedisServer;
let admin: Redis;
let driver: Driver;

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: true });
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  driver = ioredisDriver(server.url, { commandTimeoutMs: 1_000 });
});

afterEach(() => killAllChildren());

afterAll(async () => {
  await driver?.close().catch(() => {});
  admin?.disconnect();
  await server?.stop();
});

/** Publishes `count` delayed messages (data: their number) to a fresh topic with its group declared. */
async function scheduleMany(name: string, count: number) {
  const topic = `${name}-${Math.random().toString(36).slice(2, 10)}`;
  const keys = streamKeys({ topic });
  for (let from = 0; from < count; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - from) }, (_, i) => ({
      data: from + i,
      delayMs: DELAY_MS,
    }));
    await publishBatch(driver, topic, batch, { groups: [GROUP] });
  }
  expect((await admin.zcard(keys.scheduled)) + (await admin.xlen(keys.stream))).toBe(count);
  // Due: the server's clock past the last one's time.
  const [last] = await admin.zrange(keys.scheduled, -1, -1, 'WITHSCORES').then((r) => [Number(r[1])]);
  await until(
    async () => {
      const [seconds] = await admin.time();
      return Number(seconds) * 1000 > (last as number) + 1_000;
    },
    10_000,
    'the last delayed message to be due',
  );
  return { topic, keys };
}

/** What the stream holds: how many entries carry each message number. */
async function copiesInStream(stream: string): Promise<Map<number, number>> {
  const copies = new Map<number, number>();
  for (const [, fields] of (await admin.xrange(stream, '-', '+')) as [string, string[]][]) {
    const n = JSON.parse(fields[fields.indexOf('data') + 1] as string) as number;
    copies.set(n, (copies.get(n) ?? 0) + 1);
  }
  return copies;
}

/**
 * Drains in-process (recording each id handled in `seen`) until every delayed message is in the
 * stream and the group has read and acknowledged all of it.
 */
async function drainAll(topic: string, seen: Set<string>, count: number) {
  const { stream } = streamKeys({ topic });
  await until(
    async () => {
      await drain(driver, {
        topic,
        group: GROUP,
        handler: (m) => void seen.add(m.id),
        visibilityTimeoutMs: 200,
        budgetMs: 3_000,
        idleExitMs: 200,
        blockMs: 50,
        logger: silentLogger,
      }).catch(() => {});
      const state = await groupState(admin, stream, GROUP).catch(() => undefined);
      return (await admin.xlen(stream)) === count && state?.lag === 0 && state.pending.size === 0;
    },
    60_000,
    `all ${count} messages in the stream and acknowledged`,
  );
}

/** Every entry of the stream was processed: by the in-process drains (`seen`) or a child (its log). */
async function expectAllProcessed(stream: string, seen: Set<string>, logKey?: string) {
  const logged = new Set(logKey ? await admin.lrange(logKey, 0, -1) : []);
  const entries = (await admin.xrange(stream, '-', '+')) as [string, string[]][];
  expect(entries.filter(([id]) => !seen.has(id) && !logged.has(id)).map(([id]) => id)).toEqual([]);
}

function expectExactlyOnce(copies: Map<number, number>, count: number) {
  expect(copies.size).toBe(count);
  expect([...copies.values()].filter((c) => c !== 1)).toEqual([]);
}

describe('kill -9 while delayed messages move into the stream', () => {
  it('drain children killed right before and right after the moving script: each message in the stream once, all processed', {
    timeout: 120_000,
  }, async () => {
    const count = scaled(3_000, 1_500);
    const { topic, keys } = await scheduleMany('promote-child', count);
    const random = seededRandom('delayed-promotion');
    const base: DrainChildConfig = {
      url: server.url,
      topic,
      group: GROUP,
      logKey: `${keys.stream}:log`,
      concurrency: 1,
      batchSize: 100,
      visibilityTimeoutMs: 200,
      maxDeliveries: 50,
      budgetMs: 20_000,
      blockMs: 50,
      workMs: 0,
    };
    const kills = scaled(6, 3);
    for (let k = 0; k < kills; k++) {
      // Alternate: frozen after the script ran (Redis moved a page; the child never learns), and before it is sent.
      const when = k % 2 === 0 ? 'after' : 'before';
      const child = spawnDrainChild({ ...base, killAt: { op: 'reclaim', when, nth: 1 + random.int(2) } });
      await child.waitForLine((line) => line.startsWith('K '), 20_000);
      await child.kill();
    }
    const seen = new Set<string>();
    await drainAll(topic, seen, count);
    expectExactlyOnce(await copiesInStream(keys.stream), count);
    await expectAllProcessed(keys.stream, seen, base.logKey);
    expect(await admin.zcard(keys.scheduled)).toBe(0);
    expect(await admin.hlen(keys.scheduledMessages)).toBe(0);
  });

  it('redis-server killed while drains move them, restarted from its append-only file: each message in the stream once, all processed', {
    timeout: 120_000,
  }, async () => {
    const count = scaled(20_000, 5_000);
    const { topic, keys } = await scheduleMany('promote-restart', count);
    const seen = new Set<string>();
    const draining = drainAll(topic, seen, count);
    // Some moved, most still scheduled: kill it now.
    await until(async () => (await admin.xlen(keys.stream).catch(() => 0)) > 0, 10_000, 'a first page moved');
    await server.kill();
    await server.restart();
    await draining;
    expectExactlyOnce(await copiesInStream(keys.stream), count);
    await expectAllProcessed(keys.stream, seen);
    expect(await admin.zcard(keys.scheduled)).toBe(0);
    expect(await admin.hlen(keys.scheduledMessages)).toBe(0);
  });
});
