/**
 * Upstash QStash adapter, Web-standard (`Request` → `Response`): a drain route that a QStash
 * schedule calls. Build it at module scope, once per warm instance.
 *
 * - Every request must carry a valid `Upstash-Signature` (a JWT QStash signs with your current or
 *   next signing key), checked by @upstash/qstash's `Receiver`: issuer `Upstash`, not expired, not
 *   before its `nbf`, its subject the URL called, its body claim the SHA-256 of the body received.
 *   Missing, wrong, expired, other URL, other body → 401. The Receiver never falls back to
 *   QStash's public development keys (`devMode: false`), whatever `QSTASH_DEV` says.
 * - The body is read only under a signature made with one of the keys (checked from the header
 *   first: a forged one gets 401 unread), at most `maxBodyBytes` of it (413) and within
 *   `bodyTimeoutMs` (408).
 * - One cycle per request. QStash holds the connection open until the response, up to the plan's
 *   limit (Upstash lists 15 minutes on the free plan, 2 hours pay-as-you-go; older plans 2 and 5
 *   minutes) or the schedule's `Upstash-Timeout`, whichever is shorter; the function hosting the
 *   route has its own limit too. Keep `budgetMs` under all of them, and give `maxDurationSeconds`
 *   when the host has no remaining-time call (Vercel): the deadline is then also at most
 *   `maxDurationSeconds * 1000 - safetyMarginMs` after the request arrived. A cycle cut short by
 *   a timeout loses nothing (unacknowledged messages stay pending), but QStash counts it failed.
 * - Answers 200 with the DrainReport; 500 with it when the cycle stopped on an error, which QStash
 *   retries (set `Upstash-Retries: 0` on the schedule to leave it to the next tick); 400 for a body
 *   that is not a JSON object of overrides; 405 for a method other than POST or GET.
 * - The schedule's body may override `topic`, `group` and `budgetMs` for its runs, as JSON
 *   (`{"topic": "refunds", "budgetMs": 20000}`); empty means no override. A `topic` or `group`
 *   other than the configured ones, or those in `allowedTopics` / `allowedGroups`, gets 403. A replayed request (within
 *   the signature's lifetime) only runs another cycle, which concurrent cycles tolerate.
 *
 * @example
 * ```ts
 * import { loadQStashConfig, qstashDrainHandler } from 'sluice/qstash';
 * import { upstashDriver } from 'sluice/upstash';
 *
 * const driver = upstashDriver({ url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN });
 * export const POST = qstashDrainHandler({
 *   driver,
 *   ...loadQStashConfig(process.env), // QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY
 *   topic: 'orders',
 *   group: 'billing',
 *   budgetMs: 50_000,
 *   maxDurationSeconds: 60,
 *   handler: async (message) => {},
 * });
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Receiver } from '@upstash/qstash';
import type { Env } from '../app/env.js';
import { ConfigurationError, describeError, InvalidOptionError } from '../core/errors.js';
import { jsonLogger } from '../core/logger.js';
import { checkInteger } from '../core/validate.js';
import { BODY_TIMEOUT_MS, bodyText, Refusal } from '../http/answers.js';
import { type DrainOverrides, drainOverrides } from './overrides.js';

export { type QStashWakerOptions, qstashWaker } from './qstash-waker.js';

import {
  bodyReader,
  discardBody,
  isPlainObject,
  json,
  type RequestDrainOptions,
  refusalResponse,
  requestDrain,
} from './web.js';

/** The options of {@link qstashDrainHandler}: a drain's over HTTP, and the route's own. */
export type QStashDrainOptions<T = unknown> = RequestDrainOptions<T> & QStashDrainRoute;

/** What the route adds to the options of a drain over HTTP. */
export interface QStashDrainRoute {
  /** The current signing key (`QSTASH_CURRENT_SIGNING_KEY`). */
  readonly currentSigningKey: string;
  /** The next signing key (`QSTASH_NEXT_SIGNING_KEY`), accepted too so that keys can be rotated. */
  readonly nextSigningKey: string;
  /**
   * The URL the schedule calls, which the signature's subject must equal. Set it when the request's
   * own URL differs from the public one (a proxy in front, another host name).
   * @default the request's URL
   */
  readonly url?: string | undefined;
  /**
   * Clock difference tolerated on the signature's `exp` and `nbf`, in seconds.
   * @default 0
   */
  readonly clockToleranceSeconds?: number;
  /**
   * Largest request body (a schedule's overrides are a few dozen bytes): past it the request is
   * refused with 413 and the rest is never read.
   * @default 65536
   */
  readonly maxBodyBytes?: number;
  /**
   * Longest time for the whole request body to arrive, from its first byte read; a slower one is
   * refused with 408.
   * @default 10000
   */
  readonly bodyTimeoutMs?: number;
}

/** What {@link loadQStashConfig} reads from the environment. */
export interface QStashConfig {
  readonly currentSigningKey: string;
  readonly nextSigningKey: string;
  /** `SLUICE_QSTASH_URL`; undefined → the request's URL. */
  readonly url: string | undefined;
}

const DRAIN_METHODS = new Set(['POST', 'GET']);
const OVERRIDE_FIELDS = new Set(['topic', 'group', 'budgetMs']);
/** The default `maxBodyBytes`: room for any overrides, nothing to chew on. */
const MAX_BODY_BYTES = 65_536;
/** Longest `Upstash-Signature` looked at: a JWT of a URL and a hash is a few hundred characters. */
const MAX_SIGNATURE_LENGTH = 4_096;
const JWT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/**
 * Whether `signature` is a JWT that QStash could have made: HS256, signed with one of `keys`. All
 * that can be checked before the body is read (every key tried, in constant time each); the
 * Receiver checks the rest (issuer, times, URL, the body's hash) once the body is read.
 */
function signedWithKey(signature: string, keys: readonly Uint8Array[]): boolean {
  const parts = signature.length <= MAX_SIGNATURE_LENGTH ? JWT.exec(signature) : null;
  if (parts === null) return false;
  const [, head, claims, mac] = parts as unknown as [string, string, string, string];
  try {
    if (JSON.parse(Buffer.from(head, 'base64url').toString('utf8'))?.alg !== 'HS256') return false;
  } catch {
    return false;
  }
  const given = Buffer.from(mac, 'base64url');
  let matched = false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(`${head}.${claims}`).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}

function signingKey(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') {
    throw new ConfigurationError(
      name,
      `${name} is not set: copy it from the Upstash console (QStash → Signing Keys)`,
    );
  }
  if (/\s/.test(value)) throw new ConfigurationError(name, `${name} must not contain whitespace`);
  return value;
}

/**
 * Reads `QSTASH_CURRENT_SIGNING_KEY`, `QSTASH_NEXT_SIGNING_KEY` (both required) and
 * `SLUICE_QSTASH_URL` (optional: the public URL the schedule calls). A missing or bad value throws a
 * {@link ConfigurationError} that names the variable.
 */
export function loadQStashConfig(env: Env): QStashConfig {
  const currentSigningKey = signingKey(env, 'QSTASH_CURRENT_SIGNING_KEY');
  const nextSigningKey = signingKey(env, 'QSTASH_NEXT_SIGNING_KEY');
  const url = env.SLUICE_QSTASH_URL?.trim() || undefined;
  if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) {
    throw new ConfigurationError(
      'SLUICE_QSTASH_URL',
      `SLUICE_QSTASH_URL must be the http(s):// URL the QStash schedule calls, got ${JSON.stringify(url)}`,
    );
  }
  return Object.freeze({ currentSigningKey, nextSigningKey, url });
}

/** Overrides from a schedule's body: empty, or a JSON object with only `topic`, `group`, `budgetMs`. */
function bodyOverrides(body: string): DrainOverrides {
  if (body.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    throw new InvalidOptionError('body', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(input)) {
    throw new InvalidOptionError(
      'body',
      'body must be empty or a JSON object: {"topic"?, "group"?, "budgetMs"?}',
    );
  }
  // A wake (qstashWaker): the topic, group, partition and drain id it names.
  if (input.sluice === 'wake') return drainOverrides(input, 'body');
  const unknown = Object.keys(input).find((field) => !OVERRIDE_FIELDS.has(field));
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      unknown,
      `body has unknown field ${JSON.stringify(unknown)}; allowed: topic, group, budgetMs`,
    );
  }
  return drainOverrides(input, 'body');
}

/** Checks the signature options at cold start; a bad one throws an InvalidOptionError naming it. */
function checkReceiverOptions(
  options: Pick<QStashDrainOptions, 'currentSigningKey' | 'nextSigningKey' | 'url'>,
  clockToleranceSeconds: number,
): void {
  for (const name of ['currentSigningKey', 'nextSigningKey'] as const) {
    const key: unknown = options[name];
    if (typeof key !== 'string' || key === '') {
      throw new InvalidOptionError(name, `Expected \`${name}\`: a QStash signing key`);
    }
  }
  const { url } = options;
  if (url !== undefined && (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url))) {
    throw new InvalidOptionError('url', 'Expected `url` to be the http(s):// URL the QStash schedule calls');
  }
  const problem = checkInteger('clockToleranceSeconds', clockToleranceSeconds, 0, 300);
  if (problem) throw new InvalidOptionError('clockToleranceSeconds', problem);
}

/**
 * A route that runs one drain cycle per signed QStash request. Validates its options at once, so a
 * misconfigured function fails its cold start instead of its runs.
 */
export function qstashDrainHandler<T = unknown>(
  options: QStashDrainOptions<T>,
): (request: Request) => Promise<Response> {
  const {
    currentSigningKey,
    nextSigningKey,
    url,
    clockToleranceSeconds = 0,
    maxBodyBytes = MAX_BODY_BYTES,
    bodyTimeoutMs = BODY_TIMEOUT_MS,
    ...drainOptions
  } = options;
  checkReceiverOptions(options, clockToleranceSeconds);
  const read = bodyReader({ maxBodyBytes, bodyTimeoutMs });
  const runDrain = requestDrain(drainOptions, 'body');
  // devMode: false: never the public development keys, whatever QSTASH_DEV says.
  const receiver = new Receiver({ currentSigningKey, nextSigningKey, devMode: false });
  const keys = [currentSigningKey, nextSigningKey].map((key) => new TextEncoder().encode(key));
  const logger = options.logger ?? jsonLogger();

  return async function qstashDrain(request: Request): Promise<Response> {
    const startedAt = Date.now();
    if (!DRAIN_METHODS.has(request.method)) {
      return json(
        405,
        { error: `method ${request.method} is not allowed; use POST` },
        { allow: 'POST, GET' },
      );
    }
    const signature = request.headers.get('upstash-signature');
    if (!signature) {
      discardBody(request);
      logger.warn('drain request refused: no Upstash-Signature header');
      return json(401, { error: 'missing Upstash-Signature header' });
    }
    if (!signedWithKey(signature, keys)) {
      // Not made with either signing key: the body, which it would cover, is not worth reading.
      discardBody(request);
      logger.warn('drain request refused: invalid Upstash-Signature');
      return json(401, { error: 'invalid Upstash-Signature' });
    }
    let body: string;
    try {
      body = bodyText(await read(request), maxBodyBytes);
    } catch (error) {
      if (error instanceof Refusal) return refusalResponse(error);
      throw error;
    }
    try {
      await receiver.verify({
        signature,
        body,
        url: url ?? request.url,
        clockTolerance: clockToleranceSeconds,
      });
    } catch (error) {
      logger.warn('drain request refused: invalid Upstash-Signature', { error: describeError(error) });
      return json(401, { error: 'invalid Upstash-Signature' });
    }
    let overrides: DrainOverrides;
    try {
      overrides = bodyOverrides(body);
    } catch (error) {
      if (error instanceof InvalidOptionError) return json(400, { error: error.message });
      throw error;
    }
    return runDrain(overrides, startedAt);
  };
}
