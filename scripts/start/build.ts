/**
 * Step 1 of `npm start`, pick the build: which build of the functions runs (SLUICE_DRIVER) and
 * which Redis it reaches (REDIS_URL, REDIS_CLUSTER_NODES, a real Upstash database, or ours); then
 * the functions' whole configuration checked with the kind of settings they will get.
 */
import { loadConfig, type SluiceConfig } from '../../src/http/index.js';
import { fail } from './common.js';
import type { Tokens } from './env-file.js';

export interface Build {
  /** SLUICE_DRIVER: `ioredis` (default) or `upstash`. */
  readonly driverSetting: 'ioredis' | 'upstash';
  readonly upstash: boolean;
  /** A real Upstash database: no Redis of ours, no REST server. */
  readonly externalRest: { readonly url: string; readonly token: string } | undefined;
  /** A Redis Cluster of the user's: the ioredis build only (the local REST server fronts one server). */
  readonly externalCluster: string | undefined;
  /** Whether a single Redis (ours or REDIS_URL's) is needed: not in front of a real Upstash database, nor with a cluster. */
  readonly needsRedis: boolean;
  /** REDIS_URL, when a single Redis is needed. */
  readonly externalRedis: string | undefined;
}

/** Where the functions' Redis is, as far as it is known. */
export interface RedisTarget {
  readonly redisUrl?: string | undefined;
  readonly restUrl?: string | undefined;
  readonly restToken?: string | undefined;
}

/** Reads the build and its Redis from the environment; fails on settings that contradict each other. */
export function pickBuild(env: NodeJS.ProcessEnv): Build {
  const driverSetting = env.SLUICE_DRIVER?.trim() || 'ioredis';
  if (driverSetting !== 'ioredis' && driverSetting !== 'upstash') {
    fail(`SLUICE_DRIVER must be "ioredis" or "upstash", got ${JSON.stringify(driverSetting)}`);
  }
  const upstash = driverSetting === 'upstash';
  const restUrlSetting = env.UPSTASH_REDIS_REST_URL?.trim() || undefined;
  const restTokenSetting = env.UPSTASH_REDIS_REST_TOKEN?.trim() || undefined;
  if (upstash && (restUrlSetting === undefined) !== (restTokenSetting === undefined)) {
    fail(
      `${restUrlSetting === undefined ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN'} is not set: set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to use an Upstash database, or neither to run a local REST server in front of Redis.`,
    );
  }
  const externalRest =
    upstash && restUrlSetting !== undefined && restTokenSetting !== undefined
      ? { url: restUrlSetting, token: restTokenSetting }
      : undefined;
  const clusterSetting = env.REDIS_CLUSTER_NODES?.trim() || undefined;
  const externalCluster = upstash ? undefined : clusterSetting;
  if (upstash && clusterSetting !== undefined) {
    console.log(
      'sluice: REDIS_CLUSTER_NODES is set but not used by the upstash build; npm start (the ioredis build) uses it.',
    );
  }
  if (externalCluster !== undefined && env.REDIS_URL?.trim()) {
    fail(
      'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_CLUSTER_NODES for a Redis Cluster or REDIS_URL for one server, not both.',
    );
  }
  if (!upstash && restUrlSetting !== undefined) {
    console.log(
      'sluice: UPSTASH_REDIS_REST_URL is set but not used by the ioredis build; SLUICE_DRIVER=upstash npm start uses it.',
    );
  }
  const needsRedis = externalRest === undefined && externalCluster === undefined;
  const externalRedis = needsRedis ? env.REDIS_URL?.trim() || undefined : undefined;
  return { driverSetting, upstash, externalRest, externalCluster, needsRedis, externalRedis };
}

/** How the functions reach Redis: exactly one driver's settings (see src/app/driver-config.ts). */
export function driverEnv(build: Build, target: RedisTarget): Record<string, string | undefined> {
  if (build.upstash) {
    return {
      SLUICE_DRIVER: 'upstash',
      UPSTASH_REDIS_REST_URL: target.restUrl,
      UPSTASH_REDIS_REST_TOKEN: target.restToken,
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: undefined,
    };
  }
  const none = { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined };
  return build.externalCluster !== undefined
    ? { SLUICE_DRIVER: 'ioredis', REDIS_CLUSTER_NODES: build.externalCluster, REDIS_URL: undefined, ...none }
    : { SLUICE_DRIVER: 'ioredis', REDIS_URL: target.redisUrl, REDIS_CLUSTER_NODES: undefined, ...none };
}

/** Validates the whole configuration now, with the kind of settings the functions will get. */
export function checkedConfig(build: Build, tokens: Tokens): SluiceConfig {
  try {
    return loadConfig({
      ...process.env,
      ...driverEnv(build, {
        redisUrl: build.externalRedis ?? 'redis://127.0.0.1:6379',
        restUrl: build.externalRest?.url ?? 'http://127.0.0.1:8079',
        restToken: build.externalRest?.token ?? 'local',
      }),
      SLUICE_PUBLISH_TOKEN: tokens.token,
      SLUICE_ADMIN_TOKEN: tokens.adminToken,
    });
  } catch (error) {
    fail((error as Error).message);
  }
}
