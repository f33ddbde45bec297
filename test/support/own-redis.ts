/**
 * Redis of a test's own, for tests that pause, stall or kill it. The run-wide redis-server, the
 * REST server in front of it and the run's cluster are shared by the test files running side by
 * side: freezing one of them would stall the deadlines of every other file.
 */
import { randomUUID } from 'node:crypto';
import { ask, startRedisCluster } from '../../dev/redis-cluster.js';
import { startRedisServer } from '../../dev/redis-server.js';
import { startRestServer } from '../../dev/upstash-rest-server.js';
import type { Driver } from '../../src/core/driver.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import type { DriverKind } from './fixtures.js';

export interface OwnRedis {
  readonly kind: DriverKind['name'];
  /** A driver of this kind on the test's own server(s). */
  readonly driver: Driver;
  /** Holds every client command for `ms` (CLIENT PAUSE … ALL) on every node; answers at once. */
  pause(ms: number): Promise<void>;
  /** Closes the driver, then stops the servers. */
  stop(): Promise<void>;
}

/**
 * A private redis-server (with a private REST server in front of it for `upstash`), or a private
 * 3-master cluster for `ioredis-cluster` (no replicas, a long node timeout: a pause never fails a
 * master over).
 */
export async function ownRedis(kind: DriverKind['name']): Promise<OwnRedis> {
  if (kind === 'ioredis-cluster') {
    const cluster = await startRedisCluster({ masters: 3, nodeTimeoutMs: 15_000 });
    const driver = ioredisClusterDriver(cluster.seeds);
    return {
      kind,
      driver,
      async pause(ms) {
        await Promise.all(cluster.nodes.map((node) => ask(node.port, 'CLIENT', 'PAUSE', ms, 'ALL')));
      },
      async stop() {
        await driver.close().catch(() => {});
        await cluster.stop();
      },
    };
  }
  const server = await startRedisServer();
  const rest =
    kind === 'upstash' ? await startRestServer({ redisUrl: server.url, token: randomUUID() }) : undefined;
  const driver = rest
    ? upstashDriver({ url: rest.url, token: rest.token, requestTimeoutMs: 5_000 })
    : ioredisDriver(server.url);
  return {
    kind,
    driver,
    async pause(ms) {
      await ask(server.port, 'CLIENT', 'PAUSE', ms, 'ALL');
    },
    async stop() {
      await driver.close().catch(() => {});
      await rest?.stop();
      await server.stop();
    },
  };
}
