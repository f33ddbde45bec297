/**
 * The ready app's event-driven draining settings: on unless `SLUICE_WAKE=false`. A publish wakes
 * the drain function (Lambda: `SLUICE_DRAIN_FUNCTION`; Vercel and QStash: `SLUICE_DRAIN_URL`), a
 * drain with backlog wakes helpers up to `SLUICE_MAX_CONCURRENT_DRAINS`, and an idle scheduled
 * tick ends at once. The schedule stays as the safety net.
 */
import { ConfigurationError } from '../core/errors.js';
import { type Env, flag, text, wholeNumber } from './env.js';

export interface WakeSettings {
  /** `SLUICE_WAKE` (default true). */
  readonly enabled: boolean;
  /** `SLUICE_MAX_CONCURRENT_DRAINS`: most drains of a group on a stream at once (default 4). */
  readonly maxConcurrentDrains: number;
  /** `SLUICE_DRAIN_FUNCTION`: the Lambda drain function a publish invokes (serverless.yml sets it). */
  readonly drainFunction: string | undefined;
  /** `SLUICE_DRAIN_URL`: the drain route a publish wakes on Vercel or through QStash (absolute http(s) URL). */
  readonly drainUrl: string | undefined;
  /** `SLUICE_LAMBDA_ENDPOINT`: another Lambda Invoke endpoint (the local stack's serverless offline). */
  readonly lambdaEndpoint: string | undefined;
}

export function wakeSettings(env: Env): WakeSettings {
  const drainUrl = url(env, 'SLUICE_DRAIN_URL', "the drain route's");
  const lambdaEndpoint = url(env, 'SLUICE_LAMBDA_ENDPOINT', 'the Lambda Invoke endpoint’s');
  return Object.freeze({
    enabled: text(env, 'SLUICE_WAKE') === undefined ? true : flag(env, 'SLUICE_WAKE'),
    maxConcurrentDrains: wholeNumber(env, 'SLUICE_MAX_CONCURRENT_DRAINS', 4, 1, 1_000),
    drainFunction: text(env, 'SLUICE_DRAIN_FUNCTION'),
    drainUrl,
    lambdaEndpoint,
  });
}

function url(env: Env, name: string, what: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !/^https?:\/\/[^\s/]+\S*$/.test(value)) {
    throw new ConfigurationError(
      name,
      `${name} must be ${what} absolute http(s) URL, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
