/**
 * Event-driven draining through the platforms: the Lambda, Vercel and QStash wakers send what each
 * platform expects (checked against local HTTP servers standing in for the Lambda Invoke API, a
 * drain route and QStash), and the drain adapters run a wake payload's drain under its id.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { lambdaDrainHandler, lambdaWaker } from '../../src/adapters/aws-lambda.js';
import { httpWaker } from '../../src/adapters/http-waker.js';
import { qstashWaker } from '../../src/adapters/qstash.js';
import { vercelDrainHandler } from '../../src/adapters/vercel.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { type WakeRequest, wakePayload } from '../../src/core/waker.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { publish } from '../../src/publish/publish.js';
import { randomTopic } from '../support/fixtures.js';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A local HTTP server that records each request and answers `status`. */
async function recorder(
  status: number,
  delayMs = 0,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body });
      setTimeout(() => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end('{}');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const REQUEST: WakeRequest = {
  topic: 'orders',
  stream: 'sluice:{orders}',
  group: 'billing',
  drainId: 'w-abc123',
  reason: 'publish',
};

let redisServer: RedisServer;
let redis: Redis;
const servers: Server[] = [];

beforeAll(async () => {
  redisServer = await startRedisServer();
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  for (const server of servers) server.close();
  redis?.disconnect();
  await redisServer?.stop();
});

describe('wakers', () => {
  it('lambdaWaker: an asynchronous Invoke (InvocationType Event) of the drain function with the wake payload', async () => {
    const lambda = await recorder(202);
    servers.push(lambda.server);
    await lambdaWaker({ functionName: 'sluice-dev-drain', endpoint: lambda.url, region: 'eu-west-1' }).wake(
      REQUEST,
    );
    const [call] = lambda.received;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/2015-03-31/functions/sluice-dev-drain/invocations');
    expect(call?.headers['x-amz-invocation-type']).toBe('Event');
    expect(call?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(JSON.parse(call?.body ?? '')).toEqual(wakePayload(REQUEST));
  });

  it('lambdaWaker: an Invoke endpoint that does not accept, or is slow, fails the wake within its timeout', async () => {
    const refusing = await recorder(500);
    const slow = await recorder(202, 3_000);
    servers.push(refusing.server, slow.server);
    await expect(
      lambdaWaker({ functionName: 'f', endpoint: refusing.url, region: 'eu-west-1' }).wake(REQUEST),
    ).rejects.toThrow();
    const started = Date.now();
    await expect(
      lambdaWaker({ functionName: 'f', endpoint: slow.url, region: 'eu-west-1', timeoutMs: 300 }).wake(
        REQUEST,
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(() => lambdaWaker({ functionName: '' })).toThrow(/functionName/);
  });

  it('httpWaker: a POST of the payload with the bearer secret; with waitUntil it resolves at once and hands the request over', async () => {
    const route = await recorder(202, 200);
    servers.push(route.server);
    await httpWaker({ url: `${route.url}/api/drain`, token: 'cron-secret' }).wake(REQUEST);
    expect(route.received[0]).toMatchObject({ method: 'POST', url: '/api/drain' });
    expect(route.received[0]?.headers.authorization).toBe('Bearer cron-secret');
    expect(JSON.parse(route.received[0]?.body ?? '')).toEqual(wakePayload(REQUEST));

    const kept: Promise<unknown>[] = [];
    const started = Date.now();
    await httpWaker({
      url: `${route.url}/api/drain`,
      token: 'cron-secret',
      waitUntil: (p) => kept.push(p),
    }).wake(REQUEST);
    expect(Date.now() - started).toBeLessThan(150);
    expect(kept).toHaveLength(1);
    await kept[0];
    expect(route.received).toHaveLength(2);
    expect(() => httpWaker({ url: 'drain', token: 't' })).toThrow(/absolute URL/);
  });

  it('qstashWaker: a message to the drain URL through QStash, deduplicated by the drain id', async () => {
    const qstash = await recorder(201);
    servers.push(qstash.server);
    await qstashWaker({
      token: 'qstash-token',
      drainUrl: 'https://app.example/api/qstash-drain',
      qstashUrl: qstash.url,
    }).wake(REQUEST);
    const [call] = qstash.received;
    expect(call?.url).toBe('/v2/publish/https://app.example/api/qstash-drain');
    expect(call?.headers.authorization).toBe('Bearer qstash-token');
    expect(call?.headers['upstash-deduplication-id']).toBe('w-abc123');
    expect(JSON.parse(call?.body ?? '')).toEqual(wakePayload(REQUEST));
  });
});

describe('drain adapters given a wake payload', () => {
  async function arrange() {
    const topic = randomTopic('wake-adapter');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'billing', '$', 'MKSTREAM');
    const driver = ioredisDriver(redisServer.url);
    await publish(driver, topic, { data: 'hello' });
    return { topic, keys, driver };
  }

  it('the Lambda drain handler drains the payload’s topic and group under its drain id', async () => {
    const { topic, keys, driver } = await arrange();
    const live: string[] = [];
    const handler = lambdaDrainHandler({
      driver,
      topic,
      group: 'billing',
      logger: silentLogger,
      metrics: false,
      wake: {},
      idleExitMs: 50,
      handler: async () => void live.push(...(await redis.zrange(keys.drains('billing'), 0, -1))),
    });
    const report = await handler({ ...wakePayload({ ...REQUEST, topic, stream: keys.stream }) });
    expect(report).toMatchObject({ read: 1, acked: 1 });
    expect(live).toEqual(['w-abc123']);
    // A payload naming a topic the drain may not serve is refused.
    await expect(handler(wakePayload({ ...REQUEST, topic: 'other-topic' }))).rejects.toThrow(/allowed/);
    await driver.close();
  });

  it('the Vercel drain route: a POSTed wake answers 202 at once and drains after the answer (waitUntil)', async () => {
    const { topic, keys, driver } = await arrange();
    const kept: Promise<unknown>[] = [];
    const context = Symbol.for('@vercel/request-context');
    (globalThis as Record<symbol, unknown>)[context] = {
      get: () => ({ waitUntil: (p: Promise<unknown>) => kept.push(p) }),
    };
    try {
      const route = vercelDrainHandler({
        driver,
        topic,
        group: 'billing',
        logger: silentLogger,
        maxDurationSeconds: 10,
        cronSecret: 'cron-secret',
        wake: {},
        idleExitMs: 50,
        handler: () => {},
      });
      const response = await route(
        new Request('https://app.example/api/drain', {
          method: 'POST',
          headers: { authorization: 'Bearer cron-secret', 'content-type': 'application/json' },
          body: JSON.stringify(wakePayload({ ...REQUEST, topic, stream: keys.stream })),
        }),
      );
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ woken: 'w-abc123' });
      expect(kept).toHaveLength(1);
      const drained = (await kept[0]) as Response;
      expect(await drained.json()).toMatchObject({ read: 1, acked: 1 });
      const bad = await route(
        new Request('https://app.example/api/drain', {
          method: 'POST',
          headers: { authorization: 'Bearer cron-secret', 'content-type': 'application/json' },
          body: '{"sluice":"wake","topic":"x"}',
        }),
      );
      expect(bad.status).toBe(400);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[context];
      await driver.close();
    }
  });
});
