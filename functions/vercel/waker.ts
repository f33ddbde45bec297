/**
 * How the Vercel functions wake a drain (event-driven draining, on unless SLUICE_WAKE=false): through
 * QStash when QSTASH_TOKEN is set (to SLUICE_DRAIN_URL: the QStash drain route), else with a request
 * to the cron drain route (SLUICE_DRAIN_URL, CRON_SECRET) kept alive by Vercel's waitUntil. No
 * SLUICE_DRAIN_URL: drains still end idle ticks at once, and nothing is woken.
 */
// From its own module: src/adapters/qstash.ts imports @upstash/qstash, whose CommonJS neverthrow
// (6 KiB) a bundle keeps even when nothing of the package is used.
import { qstashWaker } from '../../src/adapters/qstash-waker.js';
import { loadCronSecret, vercelWaker } from '../../src/adapters/vercel.js';
import type { EndpointConfig } from '../../src/http/index.js';
import type { Waker } from '../../src/index.js';

export function wakerOf(config: EndpointConfig, env: NodeJS.ProcessEnv): Waker | undefined {
  const { enabled, drainUrl } = config.wake;
  if (!enabled || drainUrl === undefined) return undefined;
  const token = env.QSTASH_TOKEN?.trim();
  if (token) return qstashWaker({ token, drainUrl, qstashUrl: env.QSTASH_URL?.trim() || undefined });
  return vercelWaker({ url: drainUrl, cronSecret: loadCronSecret(env) });
}

/** The drain's `wake` option: probe first, helpers and successors through {@link wakerOf}. */
export function drainWake(config: EndpointConfig, env: NodeJS.ProcessEnv) {
  return config.wake.enabled
    ? { waker: wakerOf(config, env), maxConcurrentDrains: config.wake.maxConcurrentDrains }
    : undefined;
}
