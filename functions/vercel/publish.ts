/**
 * HTTP publish: POST /topics/{topic}/messages (rewritten to /api/publish by vercel.json).
 */

import { vercelPublishHandler } from '../../src/adapters/vercel.js';
import { loadEndpointConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { wakerOf } from './waker.js';

const config = loadEndpointConfig(process.env);
// Event-driven draining: a publish wakes a drain of each group declared for its topic when none is live.
const waker = wakerOf(config, process.env);

export const POST = vercelPublishHandler({
  driver: upstashFromConfig(config),
  topics: config.topics,
  token: config.publishToken,
  signingSecrets: config.signingSecrets,
  ...config.publish,
  wake: waker === undefined ? undefined : { waker },
});
