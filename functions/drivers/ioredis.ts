import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { ConfigurationError, type EndpointConfig } from '../../src/http/index.js';
import type { Driver } from '../../src/index.js';

/**
 * The ioredis (TCP) driver from the configuration: one server (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). Says so plainly when the environment asks for Upstash: on Lambda, deploy
 * with SLUICE_DRIVER=upstash to get the REST build of the functions.
 */
export function ioredisFromConfig(config: EndpointConfig): Driver {
  if (config.driver.kind === 'ioredis-cluster') return ioredisClusterDriver(config.driver.nodes);
  if (config.driver.kind !== 'ioredis') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      'this function is built for the ioredis driver: set REDIS_URL (redis:// or rediss://) or REDIS_CLUSTER_NODES (host:port,…), or deploy with SLUICE_DRIVER=upstash for the REST build',
    );
  }
  return ioredisDriver(config.driver.url);
}
