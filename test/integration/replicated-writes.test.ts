/**
 * Replicated writes (Kafka's acks=all): `replicas: n` waits with Redis WAIT until n replicas have
 * the write, or fails with a ReplicationError — on a master with a real replica, started here.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { InvalidOptionError, ReplicationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { newRestDriver, randomTopic } from '../support/fixtures.js';

let master: RedisServer;
let replica: RedisServer;
let raw: Redis;

/** Resolves once the replica reports its link to the master up (polled: replication has no event to await). */
async function linkUp(port: number): Promise<void> {
  const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    for (let tries = 0; tries < 400; tries++) {
      const info = await client.info('replication');
      if (/master_link_status:up/.test(info)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the replica never linked up');
  } finally {
    client.disconnect();
  }
}

beforeAll(async () => {
  // No diskless-sync delay: the replica's first sync starts at once (the default waits 5 s for more replicas).
  master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
  replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await linkUp(replica.port);
  raw = new Redis(master.url);
});

afterAll(async () => {
  raw?.disconnect();
  await replica?.stop();
  await master?.stop();
});

describe('replicated writes', () => {
  it('replicas: 1 answers once the replica has the message; the replica can read it', async () => {
    const driver = ioredisDriver(master.url);
    const topic = randomTopic();
    const one = await publish(driver, topic, { data: 'a' }, { replicas: 1 });
    const batch = await publishBatch(driver, topic, [{ data: 'b' }, { data: 'c', idempotencyKey: 'c' }], {
      replicas: 1,
    });
    const reader = new Redis(replica.url);
    const ids = (await reader.xrange(`sluice:{${topic}}`, '-', '+')).map(([id]) => id);
    reader.disconnect();
    expect(ids).toEqual([one.id, ...batch.map((r) => r.id)]);
    await driver.close();
  });

  it('more replicas than answer in time: a ReplicationError naming the counts; a retry with the idempotency key writes once', async () => {
    const driver = ioredisDriver(master.url);
    const topic = randomTopic();
    const attempt = () =>
      publish(driver, topic, { data: 'x', idempotencyKey: 'k' }, { replicas: 2, replicaTimeoutMs: 50 });
    const error = await attempt().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicationError);
    expect(error).toMatchObject({ replicas: 2, acknowledged: 1, timeoutMs: 50 });
    expect((error as Error).message).toMatch(/only 1 of 2 replica\(s\) acknowledged it within 50 ms/);
    await expect(attempt()).rejects.toThrow(ReplicationError);
    const again = await publish(driver, topic, { data: 'x', idempotencyKey: 'k' }, { replicas: 1 });
    expect(again.duplicate).toBe(true);
    expect(await raw.xlen(`sluice:{${topic}}`)).toBe(1);
    await driver.close();
  });

  it('the publish endpoint answers 503 with Retry-After when replicas do not confirm', async () => {
    const driver = ioredisDriver(master.url);
    const topic = randomTopic();
    const endpoint = createPublishEndpoint({
      driver,
      topics: [topic],
      token: 'secret',
      replicas: 2,
      replicaTimeoutMs: 50,
      logger: silentLogger,
    });
    const answer = await endpoint({
      method: 'POST',
      topic,
      headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
      body: JSON.stringify({ data: 1, idempotencyKey: 'once' }),
    });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(JSON.parse(answer.body).error).toMatch(/replica.*retry with the same idempotency key/);
    await driver.close();
  });

  it('bad values and drivers that cannot wait are refused before anything is written', async () => {
    const driver = ioredisDriver(master.url);
    const topic = randomTopic();
    await expect(publish(driver, topic, { data: 1 }, { replicas: -1 })).rejects.toThrow(/`replicas`/);
    await expect(publish(driver, topic, { data: 1 }, { replicas: 1, replicaTimeoutMs: 0 })).rejects.toThrow(
      /`replicaTimeoutMs`/,
    );
    const rest = newRestDriver();
    const refused = await publish(rest, topic, { data: 1 }, { replicas: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidOptionError);
    expect((refused as Error).message).toMatch(/upstash driver cannot wait for replicas/);
    expect(() => createPublishEndpoint({ driver: rest, topics: [topic], token: 't', replicas: 1 })).toThrow(
      /cannot wait for replicas/,
    );
    expect(await raw.exists(`sluice:{${topic}}`)).toBe(0);
    await driver.close();
  });
});
