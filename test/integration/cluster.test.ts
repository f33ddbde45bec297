/**
 * The cluster driver on a Redis Cluster of this file's own (3 masters, a replica each, a 1 s node
 * timeout: it stops and kills masters): a topic's keys share one slot; a slot migration is followed
 * (MOVED); a command that gets no answer fails within the command timeout and the driver starts
 * afresh; while a master is down, commands fail as unavailable and a cycle ends with `error`,
 * losing nothing; after the failover the next cycle goes on. The conformance suite runs over the
 * run's cluster too (`ioredis-cluster` in DRIVERS).
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisCluster, slotOf, startRedisCluster } from '../../dev/redis-cluster.js';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { InvalidOptionError, PermanentError, RedisUnavailableError } from '../../src/core/errors.js';
import { ensureGroup } from '../../src/core/group.js';
import { streamKeys } from '../../src/core/keys.js';
import { partitionCountKey } from '../../src/core/partitions.js';
import { type IoredisClusterDriverOptions, ioredisClusterDriver } from '../../src/drivers/ioredis.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { lambdaContext, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { describeSlack, measureLatency, slackMs } from '../support/latency.js';

let cluster: RedisCluster;
const drivers: Driver[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
});

afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.close()));
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

function clusterDriver(options?: IoredisClusterDriverOptions): Driver {
  const driver = ioredisClusterDriver(cluster.seeds, options);
  drivers.push(driver);
  return driver;
}

/** A plain connection to one node (not a cluster client: it sees that node's keys only). */
function nodeClient(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

const options = testDrainOptions;

/** `attempt()`'s answer, trying again while it fails as unavailable (5 s at most). */
async function answered<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof RedisUnavailableError) || Date.now() > deadline) throw error;
    }
  }
}

describe('the cluster driver', () => {
  it('keeps every key of a topic in its stream’s slot, on one master', async () => {
    const driver = clusterDriver();
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    await ensureGroup(driver, keys.stream, 'g', '0');
    await publish(driver, topic, { data: 'poison', idempotencyKey: 'once' });
    const report = await drain(
      driver,
      options(topic, 'g', () => {
        throw new PermanentError('no');
      }),
    );
    expect(report.deadLettered).toBe(1);

    const owner = await cluster.masterFor(keys.stream);
    const found = await Promise.all(
      (await cluster.masters()).map(async (node) => ({
        port: node.port,
        keys: await nodeClient(node.port).keys(`*${topic}*`),
      })),
    );
    const holders = found.filter((f) => f.keys.length > 0);
    expect(holders.map((h) => h.port)).toEqual([owner.port]);
    const held = holders[0]?.keys ?? [];
    expect(held.sort()).toEqual(
      [
        keys.stream,
        keys.deadLetters('g'),
        `${keys.stream}:idem:once`,
        partitionCountKey(topic),
        keys.history('g'),
        keys.reports('g'),
      ].sort(),
    );
    expect(new Set(held.map(slotOf))).toEqual(new Set([slotOf(keys.stream)]));
  });

  it('follows a slot migration (MOVED) with the slot map it had', async () => {
    const driver = clusterDriver();
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await ensureGroup(driver, stream, 'g', '0');
    await publish(driver, topic, { data: 'before' });
    const from = await cluster.masterFor(stream);
    const to = (await cluster.masters()).find((m) => m.port !== from.port);
    if (to === undefined) throw new Error('no other master');
    await cluster.moveSlot(slotOf(stream), to.port);

    await publish(driver, topic, { data: 'after' });
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      options(topic, 'g', (m) => void seen.push(m.data)),
    );
    expect(seen).toEqual(['before', 'after']);
    expect(report).toMatchObject({ acked: 2, stoppedBy: 'idle' });
    expect(await nodeClient(to.port).xlen(stream)).toBe(2);
  });

  it('a command that gets no answer fails within the command timeout; the driver answers again after', async () => {
    const driver = clusterDriver({ commandTimeoutMs: 300 });
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    // Connected and routed before the stall (a busy machine may need more than 300 ms for that).
    await answered(() => driver.add(stream, ['n', '1']));
    const latency = await measureLatency(driver, stream);
    const master = await cluster.masterFor(stream);
    const pid = master.pid as number;
    const started = Date.now();
    process.kill(pid, 'SIGSTOP'); // well under the node timeout: no failover
    try {
      await expect(driver.add(stream, ['n', '2'])).rejects.toThrow(/did not answer XADD within 300 ms/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // By the timeout, plus a slack measured on this run (at most 350 ms): not held until SIGCONT.
    expect(Date.now() - started, describeSlack(latency, 2)).toBeLessThanOrEqual(300 + slackMs(latency, 2));
    // Its connections were dropped: the next commands connect again, and are answered.
    await expect(answered(() => driver.add(stream, ['n', '3']))).resolves.toMatch(/^\d+-\d+$/);
  });

  it('refuses bad seed nodes naming the option; a Cluster of the caller’s stays open after close()', async () => {
    expect(() => ioredisClusterDriver(['10.0.0.1'])).toThrow(InvalidOptionError);
    expect(() => ioredisClusterDriver([])).toThrow(/no node given/);
    expect(() => ioredisClusterDriver(['h:1'], { commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/);
    const own = new Cluster(
      cluster.seeds.map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
    );
    try {
      const driver = ioredisClusterDriver(own);
      await driver.add('sluice:{own}', ['n', '1']);
      await driver.close();
      expect(await own.xlen('sluice:{own}')).toBe(1);
    } finally {
      own.disconnect();
    }
  });

  it('the Lambda functions (ioredis build) reach the cluster from REDIS_CLUSTER_NODES', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    for (const [name, value] of Object.entries({
      REDIS_URL: undefined,
      UPSTASH_REDIS_REST_URL: undefined,
      UPSTASH_REDIS_REST_TOKEN: undefined,
      SLUICE_DRIVER: undefined,
      REDIS_CLUSTER_NODES: cluster.seeds.join(','),
      SLUICE_TOPIC: topic,
      SLUICE_PUBLISH_TOKEN: 'cluster-token-0123456789',
      SLUICE_IDLE_EXIT_MS: '50',
    }))
      vi.stubEnv(name, value);
    // The example handler logs each order, the drain function its metrics: not in the test's output.
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const metrics = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const publishFunction = await import('../../functions/aws/publish.js');
      const drainFunction = await import('../../functions/aws/drain.js');
      await ensureGroup(clusterDriver(), stream, 'payment-processors', '0');
      const response = await publishFunction.handler({
        version: '2.0',
        routeKey: 'POST /topics/{topic}/messages',
        rawPath: `/topics/${topic}/messages`,
        rawQueryString: '',
        headers: { authorization: 'Bearer cluster-token-0123456789', 'content-type': 'application/json' },
        pathParameters: { topic },
        requestContext: { http: { method: 'POST' } },
        body: JSON.stringify({ data: { orderId: 7 } }),
        isBase64Encoded: false,
      } as never);
      expect(response).toMatchObject({ statusCode: 202 });
      const report = await drainFunction.handler({ budgetMs: 2_000 }, lambdaContext(10_000));
      metrics.mockRestore();
      expect(report).toMatchObject({ read: 1, acked: 1 });
      expect(await nodeClient((await cluster.masterFor(stream)).port).xlen(stream)).toBe(1);
    } finally {
      vi.unstubAllEnvs();
      vi.restoreAllMocks();
    }
  });

  it('while a master is down: unavailable, a cycle ends with error and loses nothing; after the failover the next cycle goes on', async () => {
    const driver = clusterDriver();
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await ensureGroup(driver, stream, 'g', '0');
    // Replicated before the master dies (WAIT on the master's connection): the replica has them.
    const published = await publishBatch(
      driver,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ data: i })),
    );
    expect(await driver.waitForReplicas?.(stream, 1, 5_000)).toBe(1);

    const killed = await cluster.killMaster(stream);
    const started = Date.now();
    await expect(publish(driver, topic, { data: 'during' })).rejects.toThrow(RedisUnavailableError);
    expect(Date.now() - started).toBeLessThan(3_000);
    const seen: unknown[] = [];
    const during = await drain(
      driver,
      options(topic, 'g', (m) => void seen.push(m.data)),
    );
    expect(during).toMatchObject({ stoppedBy: 'error', acked: 0 });
    expect(during.error).toMatch(/RedisUnavailableError/);

    const promoted = await cluster.waitForFailover(killed);
    expect(promoted.port).not.toBe(killed.port);
    const after = await drain(
      driver,
      options(topic, 'g', (m) => void seen.push(m.data)),
    );
    expect(after).toMatchObject({ acked: 20, stoppedBy: 'idle' });
    expect(seen).toEqual(published.map((_, i) => i));
    await publish(driver, topic, { data: 'later' });
    expect(await nodeClient(promoted.port).xlen(stream)).toBe(21);
  });
});
