/**
 * HTTP publish: POST /topics/{topic}/messages (rewritten to /api/publish by vercel.json).
 */

import { vercelPublishHandler } from '../../src/adapters/vercel.js';
import { loadConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';

const config = loadConfig(process.env);

export const POST = vercelPublishHandler({
  driver: upstashFromConfig(config),
  topics: config.topics,
  token: config.publishToken,
  signingSecrets: config.signingSecrets,
  ...config.publish,
});
