/**
 * Starts one private redis-server for the whole run, and a local Upstash REST server in front of
 * it, so every conformance test runs over both drivers. Tests isolate by random key names.
 */
import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redis-server.js';
import { startRestServer } from './upstash-rest-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    restUrl: string;
    restToken: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = await startRedisServer();
  const rest = await startRestServer({ redisUrl: redis.url, token: randomUUID() });
  project.provide('redisUrl', redis.url);
  project.provide('restUrl', rest.url);
  project.provide('restToken', rest.token);
  return async () => {
    await rest.stop();
    await redis.stop();
  };
}
