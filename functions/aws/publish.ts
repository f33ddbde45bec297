/**
 * HTTP publish (API Gateway HTTP API): POST /topics/{topic}/messages.
 */

import { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { loadConfig } from '../../src/index.js';
import { driverUrl } from './driver-url.js';

const config = loadConfig(process.env);

export const handler = lambdaPublishHandler({
  driver: ioredisDriver(driverUrl(config)),
  topics: config.topics,
  token: config.publishToken,
});
