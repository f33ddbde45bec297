/**
 * HTTP publish: POST /topics/{topic}/messages (rewritten to /api/publish by vercel.json).
 */

import { vercelPublishHandler } from '../../src/adapters/vercel.js';
import { loadConfig } from '../../src/index.js';
import { restDriver } from './driver.js';

const config = loadConfig(process.env);

export const POST = vercelPublishHandler({
  driver: restDriver(config),
  topics: config.topics,
  token: config.publishToken,
});
