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
import { drainWake } from './waker.js';

const config = loadConfig(process.env);

const handle = vercelDrainHandler({
  driver: upstashFromConfig(config),
  topic: config.topic,
  group: config.group,
  allowedTopics: config.topics, // the query may name a topic of SLUICE_TOPICS, no other
  ...config.drain,
  // An idle cron run ends at once; a drain with backlog wakes helpers, its successor when work is left.
  wake: drainWake(config, process.env),
  maxDurationSeconds: MAX_DURATION_SECONDS,
  cronSecret: loadCronSecret(process.env),
  handler: handleMessage,
});

/** Vercel Cron calls GET; a wake (a publish, or a drain waking helpers) POSTs its payload. */
export const GET = handle;
export const POST = handle;
