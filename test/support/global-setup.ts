/**
 * Starts one private redis-server for the whole run, a local Upstash REST server in front of it,
 * and a private 3-master Redis Cluster, so every conformance test runs over every driver. Tests
 * isolate by random key names.
 */
import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startRedisCluster } from '../../dev/redis-cluster.js';
import { startRedisServer } from '../../dev/redis-server.js';
import { startRestServer } from '../../dev/upstash-rest-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    restUrl: string;
    restToken: string;
    /** Seed nodes (`host:port`) of the run's Redis Cluster. */
    clusterNodes: string[];
  }
}

export default async function setup(project: TestProject) {
  const [redisStart, clusterStart] = await Promise.allSettled([
    startRedisServer(),
    // No replicas (a failed master stays failed): a long node timeout, so that a busy machine never
    // has a master failed by mistake. Failover tests start clusters of their own.
    startRedisCluster({ masters: 3, nodeTimeoutMs: 15_000 }),
  ]);
  if (redisStart.status === 'rejected' || clusterStart.status === 'rejected') {
    if (redisStart.status === 'fulfilled') await redisStart.value.stop();
    if (clusterStart.status === 'fulfilled') await clusterStart.value.stop();
    throw redisStart.status === 'rejected'
      ? redisStart.reason
      : (clusterStart as PromiseRejectedResult).reason;
  }
  const redis = redisStart.value;
  const cluster = clusterStart.value;
  const rest = await startRestServer({ redisUrl: redis.url, token: randomUUID() });
  project.provide('redisUrl', redis.url);
  project.provide('restUrl', rest.url);
  project.provide('restToken', rest.token);
  project.provide('clusterNodes', [...cluster.seeds]);
  return async () => {
    await rest.stop();
    await Promise.all([redis.stop(), cluster.stop()]);
  };
}
