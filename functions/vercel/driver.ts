import { upstashDriver } from '../../src/drivers/upstash.js';
import { ConfigurationError, type Driver, type SluiceConfig } from '../../src/index.js';

/**
 * The Vercel functions run on the Upstash REST driver (no sockets, no ioredis in the bundle); say so
 * plainly when the environment asks for another.
 */
export function restDriver(config: SluiceConfig): Driver {
  if (config.driver.kind !== 'upstash') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      'the Vercel functions use the Upstash REST driver: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (and not REDIS_URL or SLUICE_DRIVER=ioredis)',
    );
  }
  return upstashDriver({ url: config.driver.url, token: config.driver.token });
}
