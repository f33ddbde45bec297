/**
 * Drain driven by an Upstash QStash schedule (`POST /api/qstash-drain`): one bounded cycle per
 * signed request. The schedule's JSON body may override `topic` (one of `SLUICE_TOPICS`), `group`
 * (only `SLUICE_GROUP`) and `budgetMs`.
 * Configuration: the table of docs/configuration.md, plus `QSTASH_CURRENT_SIGNING_KEY`, `QSTASH_NEXT_SIGNING_KEY`
 * and, when the public URL differs from the one the function sees, `SLUICE_QSTASH_URL`.
 */

import { loadQStashConfig, qstashDrainHandler } from '../../src/adapters/qstash.js';
import { loadConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { handleMessage } from '../orders-handler.js';
import { MAX_DURATION_SECONDS } from './max-duration.js';
import { drainWake } from './waker.js';

const config = loadConfig(process.env);

export const POST = qstashDrainHandler({
  driver: upstashFromConfig(config),
  ...loadQStashConfig(process.env),
  topic: config.topic,
  group: config.group,
  allowedTopics: config.topics, // the body may name a topic of SLUICE_TOPICS, no other
  ...config.drain,
  wake: drainWake(config, process.env),
  maxDurationSeconds: MAX_DURATION_SECONDS,
  handler: handleMessage,
});
