/** Test fixtures: drivers on the run's redis-server, random topic names, a raw client for assertions, cleanup. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import type { Driver } from '../../src/core/driver.js';
import { silentLogger } from '../../src/core/logger.js';
import type { DrainOptions } from '../../src/core/options.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';

export function redisUrl(): string {
  return inject('redisUrl');
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

/** A driver over the local Upstash REST server in front of the test redis-server (or the server at `url`). */
export function newRestDriver(url = inject('restUrl'), token = inject('restToken')): Driver {
  return upstashDriver({ url, token, requestTimeoutMs: 5_000 });
}

/** One entry per driver: the conformance suite runs every test over each (`describe.each(DRIVERS)`). */
export interface DriverKind {
  readonly name: 'ioredis' | 'upstash';
  /** A fresh driver (its own connection where the driver has connections). */
  create(): Driver;
  /** A driver whose Redis cannot be reached. */
  unreachable(): Driver;
}

export const DRIVERS: readonly DriverKind[] = [
  { name: 'ioredis', create: () => newDriver(), unreachable: () => newDriver('redis://127.0.0.1:1') },
  {
    name: 'upstash',
    create: () => newRestDriver(),
    unreachable: () =>
      upstashDriver({ url: 'http://127.0.0.1:1', token: 'x', config: { retry: { retries: 0 } } }),
  },
];

/** A plain ioredis client for arranging and asserting Redis state, closed after the file's tests. */
export function rawClient(url = redisUrl()): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  closers.push(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/** Deletes every key of a topic (stream, dead letters, idempotency keys). */
export async function dropTopic(client: Redis, topic: string): Promise<void> {
  const keys = await client.keys(`sluice:{${topic}}*`);
  if (keys.length > 0) await client.del(...keys);
}

/** A fake Lambda context. */
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
  handler: DrainOptions<T>['handler'],
  extra: Partial<DrainOptions<T>> = {},
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
