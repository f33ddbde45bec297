/**
 * Test fixtures: drivers on the run's redis-server and Redis Cluster, random topic names, raw
 * clients for assertions, cleanup.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import type { DrainSettings, Handler } from '../../src/consume/options.js';
import type { DrainReport } from '../../src/consume/report.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { type Logger, silentLogger } from '../../src/core/logger.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { publishBatch } from '../../src/publish/batch.js';

export function redisUrl(): string {
  return inject('redisUrl');
}

/** Seed nodes (`host:port`) of the run's Redis Cluster. */
export function clusterNodes(): readonly string[] {
  return inject('clusterNodes');
}

/** A topic name no other test uses. */
export function randomTopic(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

/** A driver on the test redis-server (or `url`), closed after the file's tests. */
export function newDriver(url = redisUrl()): Driver {
  const driver = ioredisDriver(url);
  closers.push(() => driver.close());
  return driver;
}

/** A cluster driver on the run's Redis Cluster (or the cluster of `nodes`), closed after the file's tests. */
export function newClusterDriver(nodes = clusterNodes()): Driver {
  const driver = ioredisClusterDriver(nodes);
  closers.push(() => driver.close());
  return driver;
}

/** A driver over the local Upstash REST server in front of the test redis-server (or the server at `url`). */
export function newRestDriver(url = inject('restUrl'), token = inject('restToken')): Driver {
  return upstashDriver({ url, token, requestTimeoutMs: 5_000 });
}

/** A plain ioredis client for arranging and asserting Redis state: one node, or a cluster. */
export type RawClient = Redis | Cluster;

/** One entry per driver: the conformance suite runs every test over each (`describe.each(DRIVERS)`). */
export interface DriverKind {
  readonly name: 'ioredis' | 'ioredis-cluster' | 'upstash';
  /** A fresh driver (its own connection where the driver has connections). */
  create(): Driver;
  /** A driver whose Redis cannot be reached. */
  unreachable(): Driver;
  /**
   * A raw client on the Redis this kind's drivers use, for arranging and asserting: one per test
   * file, closed after its tests. On the cluster it is an ioredis `Cluster`: send it commands on
   * keys (all keys of one topic share a slot), not keyless ones (KEYS, SCAN, INFO).
   */
  redis(): RawClient;
}

/** `make()` once per test file, on first use. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

const singleNodeClient = once(() => rawClient());

export const DRIVERS: readonly DriverKind[] = [
  {
    name: 'ioredis',
    create: () => newDriver(),
    unreachable: () => newDriver('redis://127.0.0.1:1'),
    redis: singleNodeClient,
  },
  {
    name: 'upstash',
    create: () => newRestDriver(),
    unreachable: () =>
      upstashDriver({ url: 'http://127.0.0.1:1', token: 'x', config: { retry: { retries: 0 } } }),
    redis: singleNodeClient,
  },
  {
    name: 'ioredis-cluster',
    create: () => newClusterDriver(),
    unreachable: () => newClusterDriver(['127.0.0.1:1']),
    redis: once(() => rawClusterClient()),
  },
];

/** A plain ioredis client for arranging and asserting Redis state, closed after the file's tests. */
export function rawClient(url = redisUrl()): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  closers.push(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/** A plain ioredis Cluster client on the run's Redis Cluster (or `nodes`), closed after the file's tests. */
export function rawClusterClient(nodes = clusterNodes()): Cluster {
  const client = new Cluster(
    nodes.map((node) => {
      const [host, port] = node.split(':');
      return { host, port: Number(port) };
    }),
    { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } },
  );
  client.on('error', () => {});
  closers.push(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/**
 * The keys matching `pattern`, from every master of a cluster (KEYS sees one node only), or from
 * the one server.
 */
export async function keysOf(client: RawClient, pattern: string): Promise<string[]> {
  if (!(client instanceof Cluster)) return client.keys(pattern);
  // Answered once the cluster is ready, with its slot map (and so its masters) loaded.
  await client.ping();
  const found = await Promise.all(client.nodes('master').map((node) => node.keys(pattern)));
  return found.flat();
}

/** Redis's view of one group (XINFO GROUPS) as a record. */
export async function groupInfo(
  client: RawClient,
  stream: string,
  group: string,
): Promise<Record<string, unknown>> {
  const groups = (await client.xinfo('GROUPS', stream)) as unknown[][];
  for (const row of groups) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i += 2) record[row[i] as string] = row[i + 1];
    if (record.name === group) return record;
  }
  throw new Error(`no group ${group}`);
}

/** Deletes every key of a topic (stream, dead letters, idempotency keys: one slot on a cluster). */
export async function dropTopic(client: RawClient, topic: string): Promise<void> {
  const keys = await keysOf(client, `sluice:{${topic}}*`);
  if (keys.length > 0) await client.del(...keys);
}

/** A fake Lambda context. */
/**
 * A fresh topic whose group `g` is created at `$`, then `count` messages published to it (data 0,
 * 1, …): the ids answered, in order.
 */
export async function numberedTopic(kind: DriverKind, prefix: string, count: number) {
  const topic = randomTopic(prefix);
  const { stream } = streamKeys({ topic });
  await kind.redis().xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
  const messages = Array.from({ length: count }, (_, i) => ({ data: i }));
  const ids = (await publishBatch(kind.create(), topic, messages)).map((r) => r.id);
  return { topic, stream, ids };
}

/**
 * Runs `another` drain cycle after cycle, 100 ms apart, until the `running` one ends (a takeover
 * test: none of them may get what `running` holds): its report and theirs.
 */
export async function cyclesMeanwhile(
  running: Promise<DrainReport>,
  another: () => Promise<DrainReport>,
): Promise<{ report: DrainReport; others: DrainReport[] }> {
  let done = false;
  const ended = running.finally(() => {
    done = true;
  });
  const others: DrainReport[] = [];
  while (!done) {
    others.push(await another());
    await Promise.race([ended, delay(100)]);
  }
  return { report: await ended, others };
}

export function lambdaContext(remainingMs: number) {
  const end = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => end - Date.now() };
}

/**
 * Drain options for tests: a short budget, short blocking reads, and an idle exit so a cycle ends
 * soon after the topic is drained; `extra` overrides any of them.
 */
export function testDrainOptions<T>(
  topic: string,
  group: string,
  handler: Handler<T>,
  extra: Partial<DrainSettings> = {},
) {
  return {
    topic,
    group,
    handler,
    budgetMs: 5_000,
    blockMs: 20,
    idleExitMs: 100,
    logger: silentLogger,
    ...extra,
  };
}

/** A logger that keeps every line it is given, for assertions on what was logged. */
export function recordingLogger() {
  const lines: { level: keyof Logger; message: string; fields: Record<string, unknown> | undefined }[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}
