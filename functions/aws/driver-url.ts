import { ConfigurationError, type SluiceConfig } from '../../src/index.js';

/** The Lambda functions run on the TCP driver; say so plainly when the environment asks for another. */
export function driverUrl(config: SluiceConfig): string {
  if (config.driver.kind !== 'ioredis') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      'the AWS functions use the ioredis driver: set REDIS_URL (redis:// or rediss://)',
    );
  }
  return config.driver.url;
}
