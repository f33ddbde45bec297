/**
 * Steps 2 and 3 of `npm start`, start Redis and start REST: a private redis-server (append-only,
 * data in `.sluice/redis`) unless a Redis is given, and for the upstash build a local server that
 * speaks the Upstash REST protocol in front of it unless a real Upstash database is given. Then the
 * consumer group, created through the functions' own kind of driver before anyone can publish.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import type { SluiceConfig } from '../../src/http/index.js';
import type { Driver } from '../../src/index.js';
import { ensureGroup, topicLayout } from '../../src/ops/index.js';
import type { Build } from './build.js';
import { fail, redact, stateDir } from './common.js';
import type { Ports } from './preflight.js';

/** The servers this run started (none when it uses a Redis or an Upstash database of the user's). */
export interface Servers {
  readonly redis: RedisServer | undefined;
  readonly redisUrl: string | undefined;
  readonly rest: RestServer | undefined;
  readonly restUrl: string | undefined;
  readonly restToken: string | undefined;
}

/** The Redis the stack uses: a private redis-server started now, REDIS_URL's, or none (a cluster, Upstash). */
export async function startRedis(
  build: Build,
  ports: Ports,
): Promise<{ redis: RedisServer | undefined; redisUrl: string | undefined }> {
  if (build.needsRedis && build.externalRedis === undefined) {
    const redisPort = ports.redisPort ?? (await freePort());
    let redis: RedisServer;
    try {
      redis = await startRedisServer({ port: redisPort, dir: join(stateDir, 'redis'), appendOnly: true });
    } catch (error) {
      fail(`could not start redis-server on port ${redisPort}: ${(error as Error).message}`);
    }
    console.log(`sluice: redis-server ${redis.url} (pid ${redis.pid}), append-only data in .sluice/redis`);
    return { redis, redisUrl: redis.url };
  }
  if (build.externalRedis !== undefined) {
    console.log(`sluice: using REDIS_URL ${redact(build.externalRedis)}`);
  } else if (build.externalCluster !== undefined) {
    console.log(`sluice: using the Redis Cluster at ${redact(build.externalCluster)} (REDIS_CLUSTER_NODES)`);
  }
  return { redis: undefined, redisUrl: build.externalRedis };
}

/** The REST API the upstash build uses: the user's Upstash database, or a local REST server started now. */
export async function startRest(
  build: Build,
  ports: Ports,
  { redis, redisUrl }: Awaited<ReturnType<typeof startRedis>>,
): Promise<Servers> {
  const none = { redis, redisUrl, rest: undefined };
  if (build.externalRest !== undefined) {
    console.log(`sluice: using the Upstash database at ${build.externalRest.url} (UPSTASH_REDIS_REST_URL)`);
    return { ...none, restUrl: build.externalRest.url, restToken: build.externalRest.token };
  }
  if (!build.upstash || redisUrl === undefined) return { ...none, restUrl: undefined, restToken: undefined };
  let rest: RestServer;
  try {
    rest = await startRestServer({
      redisUrl,
      token: randomBytes(24).toString('base64url'),
      port: ports.restPort ?? 0,
    });
  } catch (error) {
    await redis?.stop();
    fail(`could not start the local Upstash REST server: ${(error as Error).message}`);
  }
  console.log(`sluice: local Upstash REST server ${rest.url} in front of ${redact(redisUrl)}`);
  return { redis, redisUrl, rest, restUrl: rest.url, restToken: rest.token };
}

/** Stops what this run started. */
export async function stopServers(servers: Servers): Promise<void> {
  await servers.rest?.stop();
  await servers.redis?.stop();
}

/**
 * The drain reads new messages only (group start `$`), and its first cycle may run a minute from
 * now: the group is created before anyone can publish, so that no early message is skipped.
 * Through the same driver as the functions, so that a wrong REST URL or token shows up now.
 */
export async function createGroup(build: Build, config: SluiceConfig, servers: Servers): Promise<void> {
  const { redisUrl, restUrl, restToken } = servers;
  const where = build.upstash
    ? `the Upstash REST API at ${restUrl}`
    : config.driver.kind === 'ioredis-cluster'
      ? `the Redis Cluster at ${redact(build.externalCluster ?? '')}`
      : `Redis at ${redact(redisUrl ?? '')}`;
  const driver: Driver = build.upstash
    ? upstashDriver({ url: restUrl ?? '', token: restToken ?? '', requestTimeoutMs: 10_000 })
    : config.driver.kind === 'ioredis-cluster'
      ? ioredisClusterDriver(config.driver.nodes)
      : ioredisDriver(redisUrl ?? '');
  try {
    // On a partitioned topic (SLUICE_PARTITIONS), the count is recorded first and the group
    // created on every partition.
    const layout = await topicLayout(driver, config.topic, config.drain.partitions);
    const created = await Promise.all(
      Array.from({ length: layout.partitions }, (_, i) =>
        ensureGroup(driver, layout.keys(i).stream, config.group),
      ),
    );
    if (created.some(Boolean)) {
      const where = layout.partitions === 1 ? '' : ` (${layout.partitions} partitions)`;
      console.log(`sluice: created consumer group ${config.group} on topic ${config.topic}${where}`);
    }
  } catch (error) {
    await stopServers(servers);
    fail(`cannot reach ${where}: ${(error as Error).message}`);
  } finally {
    // Bounded, and with a timer keeping the process up: the driver unrefs its idle socket.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([driver.close(), new Promise((done) => (timer = setTimeout(done, 2_000)))]);
    clearTimeout(timer);
  }
}
