/**
 * Scheduled drain (EventBridge): one bounded cycle per invocation. The schedule's input may
 * override `topic`, `group` and `budgetMs`. Configuration: see the README's table.
 */

import { lambdaDrainHandler } from '../../src/adapters/aws-lambda.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { loadConfig } from '../../src/index.js';
import { handleMessage } from '../orders-handler.js';
import { driverUrl } from './driver-url.js';

const config = loadConfig(process.env);
const driver = ioredisDriver(driverUrl(config));

export const handler = lambdaDrainHandler({
  driver,
  topic: config.topic,
  group: config.group,
  ...config.drain,
  handler: handleMessage,
});
