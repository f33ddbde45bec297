/**
 * How the Lambda functions are put together, whatever the driver: each entry file builds its
 * driver and passes it here, so a bundle holds only the driver it uses.
 */
import { lambdaDrainHandler, lambdaOpsHandler, lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { loadConfig, type SluiceConfig } from '../../src/http/index.js';
import type { Driver } from '../../src/index.js';
import { handleMessage } from '../orders-handler.js';

/**
 * A handler built at cold start (module scope: once per warm container) from the configuration in
 * the environment. When the configuration or the driver cannot be built, every invocation fails with
 * that error instead of the import: the platform reports the message and the process ends, where a
 * throw at import leaves `serverless invoke local` (serverless-esbuild) hanging.
 */
export function coldStart<A extends unknown[], R>(
  build: (config: SluiceConfig) => (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  try {
    return build(loadConfig(process.env));
  } catch (error) {
    return async () => {
      throw error;
    };
  }
}

export function drainFunction(driver: Driver, config: SluiceConfig) {
  return lambdaDrainHandler({
    driver,
    topic: config.topic,
    group: config.group,
    allowedTopics: config.topics, // the schedule's input may name a topic of SLUICE_TOPICS, no other
    ...config.drain,
    handler: handleMessage,
  });
}

export function publishFunction(driver: Driver, config: SluiceConfig) {
  return lambdaPublishHandler({
    driver,
    topics: config.topics,
    token: config.publishToken,
    signingSecrets: config.signingSecrets,
    ...config.publish,
  });
}

export function opsFunction(driver: Driver, config: SluiceConfig) {
  return lambdaOpsHandler({
    driver,
    topics: config.topics,
    token: config.adminToken,
  });
}
