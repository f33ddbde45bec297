/**
 * Event-driven draining when things fail: a drain killed with SIGKILL while it counts among its
 * group's live drains holds back wakes only until its entry expires (its deadline and a margin);
 * an Invoke endpoint that is down or slow leaves publishes answering 202 at once, and the scheduled
 * drain catches up on everything.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { lambdaWaker } from '../../src/adapters/aws-lambda.js';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import type { WakeRequest, Waker } from '../../src/core/waker.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publish } from '../../src/publish/publish.js';
import { killAllChildren, spawnTsx, until } from '../support/fault-kit.js';
import { randomTopic } from '../support/fixtures.js';

const CHILD = fileURLToPath(new URL('../support/wake-drain-child.ts', import.meta.url));
const TOKEN = 'publish-token-0123456789abcdef';

let server: RedisServer;
let redis: Redis;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});

afterEach(() => killAllChildren());

afterAll(async () => {
  for (const close of closers) await close();
  redis?.disconnect();
  await server?.stop();
});

async function serverNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('event-driven draining under faults', () => {
  it('a drain killed while counted live holds back wakes until its entry expires, then publishes wake again', {
    timeout: 60_000,
  }, async () => {
    const topic = randomTopic('wake-kill');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
    const driver = ioredisDriver(server.url);
    closers.push(() => driver.close());
    await publish(driver, topic, { data: 'first' });
    const child = spawnTsx(CHILD, [JSON.stringify({ url: server.url, topic, group: 'g', budgetMs: 2_000 })]);
    await child.waitForLine((line) => line.startsWith('H '), 20_000);
    const [member, score] = await redis.zrange(keys.drains('g'), 0, -1, 'WITHSCORES');
    expect(member).toBeDefined();
    await child.kill();

    const requests: WakeRequest[] = [];
    const waker: Waker = { name: 'recording', wake: async (request) => void requests.push(request) };
    await publish(driver, topic, { data: 'while it is counted' }, { wake: { waker, groups: ['g'] } });
    expect(requests).toEqual([]);
    // Its entry expires by its score (deadline + 5 s): then a publish wakes a drain.
    await until(async () => (await serverNow()) > Number(score), 20_000, 'the dead drain’s entry to expire');
    await publish(driver, topic, { data: 'after' }, { wake: { waker, groups: ['g'] } });
    expect(requests).toHaveLength(1);
    expect(await redis.zscore(keys.drains('g'), member as string)).toBeNull();
    // The woken drain takes all three (the killed one's message once idle past the visibility timeout).
    const seen: unknown[] = [];
    await until(
      async () => {
        await drain(driver, {
          topic,
          group: 'g',
          visibilityTimeoutMs: 500,
          idleExitMs: 100,
          logger: silentLogger,
          wake: { drainId: requests[0]?.drainId },
          handler: (m) => void seen.push(m.data),
        });
        return seen.length >= 3;
      },
      20_000,
      'every message handled',
    );
    expect([...seen].sort()).toEqual(['after', 'first', 'while it is counted']);
  });

  it('an Invoke endpoint that is down or slow: publishes answer 202 at once; the schedule catches up', {
    timeout: 60_000,
  }, async () => {
    const topic = randomTopic('wake-down');
    const keys = streamKeys({ topic });
    const driver = ioredisDriver(server.url);
    closers.push(() => driver.close());
    // Down: nothing listens on the port. Slow: accepts and never answers.
    const slow: Server = createServer(() => {});
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    closers.push(() => slow.close());
    const endpoints = [
      `http://127.0.0.1:${await freePort()}`,
      `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
    ];
    let published = 0;
    for (const endpoint of endpoints) {
      const publishes = createPublishEndpoint({
        driver,
        topics: [topic],
        token: TOKEN,
        groups: { [topic]: ['g'] },
        logger: silentLogger,
        wake: { waker: lambdaWaker({ functionName: 'drain', endpoint, region: 'eu-west-1' }), groups: ['g'] },
      });
      for (let i = 0; i < 5; i++) {
        // The wake entry expires so that each endpoint is tried again.
        await redis.del(keys.drains('g'));
        const started = Date.now();
        const response = await publishes({
          method: 'POST',
          topic,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ data: { n: published } }),
        });
        expect(response.status).toBe(202);
        // The waker gives up after its 1 s timeout: the publish still answers well within 2 s.
        expect(Date.now() - started).toBeLessThan(2_000);
        published++;
      }
    }
    // The schedule's drain (no waker) catches up on everything.
    const seen: unknown[] = [];
    const report = await drain(driver, {
      topic,
      group: 'g',
      idleExitMs: 100,
      logger: silentLogger,
      wake: {},
      handler: (m) => void seen.push(m.data),
    });
    expect(report.acked).toBe(published);
    expect(seen).toHaveLength(published);
  });
});
