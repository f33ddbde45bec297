/**
 * Cron drain (Vercel Cron, `GET /api/drain` every minute): one bounded cycle per run. The query may
 * override `topic` (one of `SLUICE_TOPICS`), `group` (only `SLUICE_GROUP`) and `budgetMs`.
 * Configuration: the table of docs/configuration.md, plus `CRON_SECRET`.
 */

import { loadCronSecret, vercelDrainHandler } from '../../src/adapters/vercel.js';
import { loadConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { handleMessage } from '../orders-handler.js';
import { MAX_DURATION_SECONDS } from './max-duration.js';

const config = loadConfig(process.env);

export const GET = vercelDrainHandler({
  driver: upstashFromConfig(config),
  topic: config.topic,
  group: config.group,
  allowedTopics: config.topics, // the query may name a topic of SLUICE_TOPICS, no other
  ...config.drain,
  maxDurationSeconds: MAX_DURATION_SECONDS,
  cronSecret: loadCronSecret(process.env),
  handler: handleMessage,
});
