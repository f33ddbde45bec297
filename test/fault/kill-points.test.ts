/**
 * kill -9 at chosen and random points of the drain cycle (reclaim, read, handler, between handler
 * and acknowledgement, dead-lettering), 20 times per driver over thousands of messages, some of them
 * poison; later cycles finish the work. Nothing is lost, nothing acknowledged unprocessed, dead
 * letters only for the poison messages. The scenario and its checks: test/support/kill-scenario.ts.
 *
 * A private redis-server (and, for the REST driver, a local Upstash REST server in front of it), so
 * that MONITOR sees this file's traffic only and the heavy load stays off the run's shared servers.
 * Over the REST driver the children talk to the REST server; MONITOR watches the redis-server behind
 * it, so the acknowledgement check is the same. Over the cluster driver the children drain a private
 * Redis Cluster; MONITOR, the recorder and the state checks use the master that serves the topic's
 * slot (every key of a topic shares it).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startRedisCluster } from '../../dev/redis-cluster.js';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { cleanupsAfterEach, killAllChildren, scaled } from '../support/fault-kit.js';
import { runKillScenario } from '../support/kill-scenario.js';

let server: RedisServer;
let rest: RestServer;
let redis: Redis;
const drivers: Driver[] = [];
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  server = await startRedisServer();
  rest = await startRestServer({ redisUrl: server.url, token: `rest-${randomUUID()}` });
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
});

afterAll(async () => {
  await killAllChildren();
  await Promise.allSettled(drivers.map((d) => d.close()));
  redis?.disconnect();
  await rest?.stop();
  await server?.stop();
});

function driver<D extends Driver>(d: D): D {
  drivers.push(d);
  return d;
}

const KILLS = scaled(20, 2);
const TIMEOUT_MS = scaled(60_000, 30_000);

describe('kill -9 at points of the cycle', () => {
  it(
    `ioredis: ${KILLS} kills over ${scaled(3_000, 200)} messages, poison included`,
    async () => {
      await runKillScenario({
        name: 'ioredis',
        child: { driver: 'ioredis' },
        url: server.url,
        redis,
        driver: driver(ioredisDriver(server.url)),
        messages: scaled(3_000, 200),
        kills: KILLS,
        poisonEvery: 50,
        cleanups,
      });
    },
    TIMEOUT_MS,
  );

  it(
    `upstash REST: ${KILLS} kills over ${scaled(2_000, 200)} messages, poison included`,
    async () => {
      await runKillScenario({
        name: 'upstash REST',
        child: { driver: 'upstash', restUrl: rest.url, restToken: rest.token },
        url: server.url,
        redis,
        driver: driver(upstashDriver({ url: rest.url, token: rest.token, requestTimeoutMs: 5_000 })),
        messages: scaled(2_000, 200),
        kills: KILLS,
        poisonEvery: 50,
        cleanups,
      });
    },
    TIMEOUT_MS,
  );

  it(
    `ioredis-cluster: ${KILLS} kills over ${scaled(2_000, 200)} messages, poison included`,
    async () => {
      // nodeTimeoutMs long: a busy machine must not fail a master over while children are killed.
      const cluster = await startRedisCluster({ masters: 3, nodeTimeoutMs: 15_000 });
      cleanups.push(() => cluster.stop());
      const topic = `kill-${randomUUID().slice(0, 8)}`;
      const master = await cluster.masterFor(streamKeys({ topic }).stream);
      const onMaster = new Redis(master.url, { maxRetriesPerRequest: 1 });
      onMaster.on('error', () => {});
      cleanups.push(() => onMaster.disconnect());
      const clusterDriver = ioredisClusterDriver([...cluster.seeds]);
      cleanups.push(() => clusterDriver.close());
      await runKillScenario({
        name: 'ioredis-cluster',
        topic,
        child: { driver: 'ioredis-cluster', clusterNodes: cluster.seeds },
        url: master.url,
        redis: onMaster,
        driver: clusterDriver,
        messages: scaled(2_000, 200),
        kills: KILLS,
        poisonEvery: 50,
        cleanups,
      });
    },
    TIMEOUT_MS,
  );
});
