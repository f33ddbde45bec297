/**
 * Which driver the environment selects: `SLUICE_DRIVER`, `REDIS_URL`, `REDIS_CLUSTER_NODES`,
 * `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`.
 */

import { ConfigurationError, maskCredentials } from '../core/errors.js';
import { parseClusterNodes } from '../drivers/cluster-nodes.js';
import { type Env, text } from './env.js';

export type DriverConfig =
  | { readonly kind: 'ioredis'; readonly url: string }
  /** A Redis Cluster over ioredis (the ioredis build of the functions): its seed nodes. */
  | { readonly kind: 'ioredis-cluster'; readonly nodes: readonly string[] }
  | { readonly kind: 'upstash'; readonly url: string; readonly token: string };

/** The connection variables, trimmed (unset or blank: undefined). */
interface Connection {
  readonly redisUrl: string | undefined;
  readonly clusterNodes: string | undefined;
  readonly restUrl: string | undefined;
  readonly restToken: string | undefined;
}

/**
 * Which driver the environment selects, validated as `loadConfig` does: for tools that need only
 * a connection (the CLI).
 *
 * `SLUICE_DRIVER` picks the build: `upstash` ignores the TCP variables; `ioredis` (or unset, with
 * a TCP variable set) takes `REDIS_CLUSTER_NODES` for a Redis Cluster or `REDIS_URL` for one server
 * — never both, which would leave it unclear which Redis holds the data.
 */
export function driverConfig(env: Env): DriverConfig {
  const connection: Connection = {
    redisUrl: text(env, 'REDIS_URL'),
    clusterNodes: text(env, 'REDIS_CLUSTER_NODES'),
    restUrl: text(env, 'UPSTASH_REDIS_REST_URL'),
    restToken: text(env, 'UPSTASH_REDIS_REST_TOKEN'),
  };
  const kind = driverKind(text(env, 'SLUICE_DRIVER'), connection);
  if (kind === 'upstash') return upstashConfig(connection);
  if (connection.clusterNodes !== undefined)
    return clusterConfig(connection.clusterNodes, connection.redisUrl);
  const { redisUrl } = connection;
  if (redisUrl === undefined || !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    throw new ConfigurationError(
      'REDIS_URL',
      `REDIS_URL must be a redis:// or rediss:// URL, got ${redisUrl === undefined ? 'nothing' : JSON.stringify(maskCredentials(redisUrl))}`,
    );
  }
  return { kind, url: redisUrl };
}

/** `SLUICE_DRIVER`, else the kind whose variables are set (TCP first). */
function driverKind(forced: string | undefined, connection: Connection): 'ioredis' | 'upstash' {
  if (forced !== undefined && forced !== 'ioredis' && forced !== 'upstash') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      `SLUICE_DRIVER must be "ioredis" or "upstash", got ${JSON.stringify(forced)}`,
    );
  }
  const { redisUrl, clusterNodes, restUrl, restToken } = connection;
  const kind =
    forced ??
    (redisUrl !== undefined || clusterNodes !== undefined
      ? 'ioredis'
      : restUrl !== undefined || restToken !== undefined
        ? 'upstash'
        : undefined);
  if (kind === undefined) {
    throw new ConfigurationError(
      'REDIS_URL',
      'No Redis configured: set REDIS_URL (redis://host:port) for the TCP driver, REDIS_CLUSTER_NODES (host:port,host:port,…) for a Redis Cluster, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN for Upstash over HTTP',
    );
  }
  return kind;
}

function clusterConfig(clusterNodes: string, redisUrl: string | undefined): DriverConfig {
  if (redisUrl !== undefined) {
    throw new ConfigurationError(
      'REDIS_CLUSTER_NODES',
      'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_CLUSTER_NODES for a Redis Cluster or REDIS_URL for one server, not both',
    );
  }
  const nodes = clusterNodes.split(',').map((node) => node.trim());
  const parsed = parseClusterNodes(nodes);
  if (typeof parsed === 'string') {
    throw new ConfigurationError(
      'REDIS_CLUSTER_NODES',
      `REDIS_CLUSTER_NODES must be a comma list of host:port (or redis:// / rediss:// URLs): ${parsed}`,
    );
  }
  return { kind: 'ioredis-cluster', nodes: Object.freeze(nodes.filter((node) => node !== '')) };
}

function upstashConfig({ restUrl, restToken }: Connection): DriverConfig {
  if (restUrl === undefined || !/^https?:\/\/[^\s]+$/.test(restUrl)) {
    throw new ConfigurationError(
      'UPSTASH_REDIS_REST_URL',
      `UPSTASH_REDIS_REST_URL must be an http(s):// URL, got ${restUrl === undefined ? 'nothing' : JSON.stringify(maskCredentials(restUrl))}`,
    );
  }
  if (restToken === undefined)
    throw new ConfigurationError('UPSTASH_REDIS_REST_TOKEN', 'UPSTASH_REDIS_REST_TOKEN is not set');
  return { kind: 'upstash', url: restUrl, token: restToken };
}
