/**
 * How the Lambda functions are put together, whatever the driver: each entry file builds its
 * driver and passes it here, so a bundle holds only the driver it uses.
 */
import { lambdaDrainHandler, lambdaOpsHandler, lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { lambdaWaker } from '../../src/adapters/lambda-waker.js';
import {
  type EndpointConfig,
  type Env,
  loadConfig,
  loadEndpointConfig,
  type SluiceConfig,
} from '../../src/http/index.js';
import type { Driver } from '../../src/index.js';
import { handleMessage } from '../orders-handler.js';

/**
 * A handler built at cold start (module scope: once per warm container) from the configuration in
 * the environment, read by `load`: {@link loadConfig} for a drain, {@link loadEndpointConfig} for
 * the others (which leaves the drain's settings and their validator out of the bundle).
 * When the configuration or the driver cannot be built, every invocation fails with
 * that error instead of the import: the platform reports the message and the process ends, where a
 * throw at import leaves `serverless invoke local` (serverless-esbuild) hanging.
 */
export function coldStart<C, A extends unknown[], R>(
  load: (env: Env) => C,
  build: (config: C) => (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  try {
    return build(load(process.env));
  } catch (error) {
    return async () => {
      throw error;
    };
  }
}

/** Event-driven draining: the drain function started by an asynchronous Invoke (`SLUICE_DRAIN_FUNCTION`). */
function waker(config: EndpointConfig) {
  const { enabled, drainFunction, lambdaEndpoint } = config.wake;
  return enabled && drainFunction !== undefined
    ? lambdaWaker({ functionName: drainFunction, endpoint: lambdaEndpoint })
    : undefined;
}

export function drainFunction(driver: Driver, config: SluiceConfig) {
  return lambdaDrainHandler({
    driver,
    topic: config.topic,
    group: config.group,
    allowedTopics: config.topics, // the schedule's input may name a topic of SLUICE_TOPICS, no other
    ...config.drain,
    // An idle tick ends at once; a drain with backlog wakes helpers, and its successor when work is left.
    wake: config.wake.enabled
      ? { waker: waker(config), maxConcurrentDrains: config.wake.maxConcurrentDrains }
      : undefined,
    handler: handleMessage,
  });
}

export function publishFunction(driver: Driver, config: EndpointConfig) {
  const wakes = waker(config);
  return lambdaPublishHandler({
    driver,
    topics: config.topics,
    token: config.publishToken,
    signingSecrets: config.signingSecrets,
    ...config.publish,
    // A publish wakes a drain of each group declared for its topic (SLUICE_GROUP on SLUICE_TOPIC) when none is live.
    wake: wakes === undefined ? undefined : { waker: wakes },
  });
}

export function opsFunction(driver: Driver, config: EndpointConfig) {
  return lambdaOpsHandler({
    driver,
    topics: config.topics,
    token: config.adminToken,
  });
}
