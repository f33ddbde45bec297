import { upstashDriver } from '../../src/drivers/upstash.js';
import { ConfigurationError, type EndpointConfig } from '../../src/http/index.js';
import type { Driver } from '../../src/index.js';

/**
 * The Upstash REST driver from the configuration: for functions built without ioredis (Vercel, and
 * Lambda deployed with SLUICE_DRIVER=upstash). Says so plainly when the environment asks for TCP.
 */
export function upstashFromConfig(config: EndpointConfig): Driver {
  if (config.driver.kind !== 'upstash') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      'this function is built for the Upstash REST driver: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (and not REDIS_URL, REDIS_CLUSTER_NODES or SLUICE_DRIVER=ioredis)',
    );
  }
  return upstashDriver({ url: config.driver.url, token: config.driver.token });
}
