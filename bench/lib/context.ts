/** What every bench section is given. */
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import type { Driver } from '../../src/index.js';
import { streamKeys } from '../../src/ops/index.js';
import type { BenchServers, RestEndpoint } from './servers.js';

export interface BenchContext {
  readonly servers: BenchServers;
  readonly quick: boolean;
  /** sluice over ioredis, built once like a warm container's. */
  readonly tcp: Driver;
  /** sluice over @upstash/redis through the local REST server. */
  readonly rest: Driver;
  /** A plain ioredis client for the hand-written loops (its own connection). */
  readonly raw: Redis;
  /** A plain @upstash/redis client for the hand-written SDK loop. */
  readonly sdk: UpstashRedis;
  log(line: string): void;
  /** A fresh topic name and its stream key, so that no run sees another's data. */
  topic(kind: string): { readonly topic: string; readonly stream: string };
}

let counter = 0;

export function createContext(servers: BenchServers, quick: boolean): BenchContext {
  return {
    servers,
    quick,
    tcp: ioredisDriver(servers.redis.url),
    rest: upstashDriver({ url: servers.rest.url, token: servers.rest.token }),
    // The same settings sluice's driver gives ioredis.
    raw: new Redis(servers.redis.url, { maxRetriesPerRequest: 1, enableAutoPipelining: false }),
    sdk: new UpstashRedis({
      url: servers.rest.url,
      token: servers.rest.token,
      automaticDeserialization: false,
      enableTelemetry: false,
    }),
    log: (line) => process.stderr.write(`${line}\n`),
    topic(kind) {
      const topic = `bench-${kind}-${++counter}`;
      return { topic, stream: streamKeys({ topic }).stream };
    },
  };
}

/** The same context over another REST endpoint (e.g. one that delays every request). */
export function withRest(context: BenchContext, rest: RestEndpoint): BenchContext {
  return {
    ...context,
    servers: { ...context.servers, rest },
    rest: upstashDriver({ url: rest.url, token: rest.token }),
    sdk: new UpstashRedis({
      url: rest.url,
      token: rest.token,
      automaticDeserialization: false,
      enableTelemetry: false,
    }),
  };
}

export async function closeContext(context: BenchContext): Promise<void> {
  await context.tcp.close();
  await context.rest.close();
  context.raw.disconnect();
}
