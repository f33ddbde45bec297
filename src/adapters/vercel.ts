/**
 * Vercel adapters, Web-standard (`Request` → `Response`): a cron drain handler and a publish
 * handler. Build them at module scope, once per warm instance, and export them as `GET` / `POST`
 * from a file in `api/`.
 *
 * The cron drain:
 * - Vercel Cron calls the path with `GET` and `Authorization: Bearer $CRON_SECRET`. The secret is
 *   compared in constant time; a missing or wrong one gets 401, and with no secret configured every
 *   request gets 401 (the route is never open).
 * - Vercel has no remaining-time call, so the deadline comes from the function's `maxDuration`:
 *   `min(budgetMs, maxDurationSeconds * 1000 - safetyMarginMs)` after the request arrived, and
 *   `budgetMs` defaults to fill that. Cold-start time before the handler runs is not seen: the
 *   safety margin covers it.
 * - Answers 200 with the DrainReport; 500 with it when the cycle stopped on an error (Vercel then
 *   shows the run as failed; it does not retry crons, and nothing is lost: what was not acknowledged
 *   stays pending for the next run); 400 for a bad override; 405 for a method other than GET or POST.
 * - The query may override `topic`, `group`, `budgetMs` and `assignedPartitions` for one run
 *   (`/api/drain?topic=refunds&budgetMs=20000&assignedPartitions=0,1`); other parameters are ignored.
 *   A `topic` or `group` other than the configured ones, or those in `allowedTopics` /
 *   `allowedGroups`, gets 403 naming the allowed values.
 *
 * @example
 * ```ts
 * // api/drain.ts — with "functions": { "api/drain.ts": { "maxDuration": 60 } } in vercel.json
 * import { loadCronSecret, vercelDrainHandler } from 'sluice/vercel';
 * import { upstashDriver } from 'sluice/upstash';
 *
 * const driver = upstashDriver({ url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN });
 * export const GET = vercelDrainHandler({
 *   driver,
 *   topic: 'orders',
 *   group: 'billing',
 *   maxDurationSeconds: 60,
 *   cronSecret: loadCronSecret(process.env),
 *   handler: async (message) => {},
 * });
 * ```
 */

import type { Env } from '../app/env.js';
import { ConfigurationError, InvalidOptionError } from '../core/errors.js';
import { jsonLogger } from '../core/logger.js';
import type { Waker } from '../core/waker.js';
import { BODY_TIMEOUT_MS, Refusal } from '../http/answers.js';
import { bearerCheck } from '../http/bearer.js';
import {
  createPublishEndpoint,
  PUBLISH_ENDPOINT_DEFAULTS,
  type PublishEndpointOptions,
} from '../http/publish-endpoint.js';
import { parseSignatureHeader, SIGNATURE_HEADER } from '../http/signature.js';
import { httpWaker } from './http-waker.js';
import { type DrainOverrides, drainOverrides } from './overrides.js';
import {
  bodyReader,
  discardBody,
  json,
  type RequestDrainOptions,
  refusalResponse,
  requestDrain,
} from './web.js';

export { type HttpWakerOptions, httpWaker } from './http-waker.js';

/**
 * Wakes the drain route (`url`, e.g. `https://my-app.vercel.app/api/drain`, with `CRON_SECRET`)
 * from a Vercel function, the request kept alive past the function's response (Vercel's
 * `waitUntil`): a publish answers at once, its wake goes on.
 */
export function vercelWaker(options: {
  readonly url: string;
  readonly cronSecret: string | undefined;
}): Waker {
  if (options.cronSecret === undefined)
    throw new InvalidOptionError('cronSecret', 'vercelWaker needs the drain route’s CRON_SECRET');
  return httpWaker({
    url: options.url,
    token: options.cronSecret,
    waitUntil: (promise) => {
      const waitUntil = vercelWaitUntil();
      if (waitUntil !== undefined) waitUntil(promise);
    },
  });
}

/** The options of {@link vercelDrainHandler}: a drain's over HTTP, and the route's own. */
export type VercelDrainOptions<T = unknown> = RequestDrainOptions<T> & VercelDrainRoute;

/** What the route adds to the options of a drain over HTTP. */
export interface VercelDrainRoute {
  /** The function's `maxDuration` (vercel.json `functions`), in seconds: the deadline is derived from it. */
  readonly maxDurationSeconds: number;
  /**
   * The secret Vercel Cron sends as `Authorization: Bearer …` (`CRON_SECRET`). Undefined or empty:
   * every request is refused (401).
   */
  readonly cronSecret: string | undefined;
}

const DRAIN_METHODS = new Set(['GET', 'POST']);
const OVERRIDE_PARAMETERS = ['topic', 'group', 'budgetMs', 'assignedPartitions'] as const;

/**
 * `CRON_SECRET` from the environment: undefined when unset or empty (the drain route then refuses
 * every request). Throws a {@link ConfigurationError} naming the variable when it holds whitespace,
 * which no `Authorization` header could match.
 */
export function loadCronSecret(env: Env): string | undefined {
  const value = env.CRON_SECRET;
  if (value === undefined || value === '') return undefined;
  if (/\s/.test(value)) {
    throw new ConfigurationError(
      'CRON_SECRET',
      'CRON_SECRET must not contain whitespace (a line break pasted with it?): Vercel sends it in an Authorization header',
    );
  }
  return value;
}

/** Overrides from the query: each parameter at most once; `budgetMs` in decimal digits. */
function queryOverrides(url: string): DrainOverrides {
  const query = new URL(url).searchParams;
  const input: Record<string, unknown> = {};
  for (const name of OVERRIDE_PARAMETERS) {
    const values = query.getAll(name);
    if (values.length === 0) continue;
    if (values.length > 1) {
      throw new InvalidOptionError(
        name,
        `Expected at most one \`${name}\` query parameter, got ${values.length}`,
      );
    }
    const value = values[0] as string;
    input[name] = name === 'budgetMs' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  }
  return drainOverrides(input, 'query');
}

/**
 * A Vercel cron route that runs one drain cycle per request. Validates its options at once, so a
 * misconfigured function fails its cold start instead of its runs.
 */
export function vercelDrainHandler<T = unknown>(
  options: VercelDrainOptions<T>,
): (request: Request) => Promise<Response> {
  const { cronSecret, ...drainOptions } = options;
  if (drainOptions.maxDurationSeconds === undefined) {
    throw new InvalidOptionError(
      'maxDurationSeconds',
      'Expected `maxDurationSeconds`: the maxDuration of the function in vercel.json, in seconds',
    );
  }
  if (cronSecret !== undefined && (typeof cronSecret !== 'string' || /\s/.test(cronSecret))) {
    throw new InvalidOptionError('cronSecret', 'Expected `cronSecret` to be a string without whitespace');
  }
  const runDrain = requestDrain(drainOptions, 'query');
  const authorized = cronSecret ? bearerCheck(cronSecret) : undefined;
  const logger = options.logger ?? jsonLogger();

  return async function vercelDrain(request: Request): Promise<Response> {
    const startedAt = Date.now(); // the function's time runs from here (cold start aside)
    if (!DRAIN_METHODS.has(request.method)) {
      return json(405, { error: `method ${request.method} is not allowed; use GET` }, { allow: 'GET, POST' });
    }
    if (!authorized) {
      logger.warn('drain request refused: CRON_SECRET is not set');
      return json(
        401,
        { error: 'draining over HTTP is disabled: no cron secret is configured (CRON_SECRET)' },
        { 'www-authenticate': 'Bearer' },
      );
    }
    if (!authorized(request.headers.get('authorization'))) {
      logger.warn('drain request refused: missing or invalid bearer token');
      return json(401, { error: 'missing or invalid bearer token' }, { 'www-authenticate': 'Bearer' });
    }
    let overrides: DrainOverrides;
    try {
      overrides = request.method === 'POST' ? await wakeOverrides(request) : {};
      if (overrides.drainId === undefined) overrides = queryOverrides(request.url);
    } catch (error) {
      if (error instanceof InvalidOptionError) return json(400, { error: error.message });
      throw error;
    }
    // A wake (httpWaker) is answered at once and drained after the answer, while Vercel keeps the
    // function alive (waitUntil): the publish that woke it waits for one short request only.
    const waitUntil = overrides.drainId === undefined ? undefined : vercelWaitUntil();
    if (waitUntil === undefined) return runDrain(overrides, startedAt);
    waitUntil(runDrain(overrides, startedAt));
    return json(202, { woken: overrides.drainId });
  };
}

/** A POST's wake payload as overrides (a small JSON body), or none. */
async function wakeOverrides(request: Request): Promise<DrainOverrides> {
  const text = request.headers.get('content-type')?.includes('json') ? await request.text() : '';
  if (text.length === 0 || text.length > 4_096) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidOptionError('body', 'a wake body must be JSON: {"sluice": "wake", …}');
  }
  return drainOverrides(body, 'body');
}

/**
 * Vercel's `waitUntil` of the current request (what `@vercel/functions` reads), or undefined outside
 * Vercel: work handed to it goes on after the response, within the function's maxDuration.
 */
function vercelWaitUntil(): ((promise: Promise<unknown>) => void) | undefined {
  const context = (globalThis as { [key: symbol]: unknown })[Symbol.for('@vercel/request-context')] as
    | { get?: () => { waitUntil?: (promise: Promise<unknown>) => void } | undefined }
    | undefined;
  const waitUntil = context?.get?.()?.waitUntil;
  return typeof waitUntil === 'function' ? waitUntil : undefined;
}

/** `/…/topics/{topic}/messages`, under any prefix (`/api`, none, …), nothing after. */
const TOPIC_PATH = /^(?:\/[^/]+)*\/topics\/([^/]+)\/messages$/;

/**
 * The topic of a publish request: from a path of the shape `…/topics/{topic}/messages` (what a
 * rewrite keeps, since Vercel passes the URL the caller asked for), else from one `topic` query
 * parameter (`/api/publish?topic=orders`, or what a rewrite appends). Undefined → 404.
 */
function topicOf(url: string): string | undefined {
  const parsed = new URL(url);
  const segment = TOPIC_PATH.exec(parsed.pathname)?.[1];
  if (segment !== undefined) {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment; // malformed escapes: no topic has that name (404)
    }
  }
  const fromQuery = parsed.searchParams.getAll('topic');
  return fromQuery.length === 1 ? fromQuery[0] : undefined;
}

/** Options of {@link vercelPublishHandler}: the publish endpoint's, and how long its body may take. */
export interface VercelPublishOptions extends PublishEndpointOptions {
  /**
   * Longest time for the whole request body to arrive, from its first byte read; a slower one is
   * refused with 408 (a client trickling bytes cannot hold the function).
   * @default 10000
   */
  readonly bodyTimeoutMs?: number;
}

/**
 * A Vercel route for `POST /topics/{topic}/messages`: the platform-neutral publish endpoint over a
 * Web `Request`.
 *
 * The body is read only once the headers make the request worth it — a valid bearer token, or (with
 * signing secrets) a well-formed `Sluice-Signature`, which covers the body and is checked after —
 * else the request is refused 401 unread. It is read as bytes (invalid UTF-8 is refused, 400, not
 * replaced), at most `maxBodyBytes` of it (413 as soon as more arrive, before the topic is looked
 * at) and within `bodyTimeoutMs` (408). Statuses: see `createPublishEndpoint` (202, 400, 401, 404,
 * 405, 413, 415, 503), and 408.
 */
export function vercelPublishHandler(options: VercelPublishOptions): (request: Request) => Promise<Response> {
  const { bodyTimeoutMs = BODY_TIMEOUT_MS, ...endpointOptions } = options;
  const endpoint = createPublishEndpoint(endpointOptions);
  const read = bodyReader({
    maxBodyBytes: options.maxBodyBytes ?? PUBLISH_ENDPOINT_DEFAULTS.maxBodyBytes,
    bodyTimeoutMs,
  });
  const bearer = options.token ? bearerCheck(options.token) : undefined;
  const signed = (options.signingSecrets ?? []).length > 0;
  /** Whether the headers alone could authenticate the request: else the endpoint refuses it unread. */
  function worthReading(request: Request): boolean {
    if (bearer?.(request.headers.get('authorization'))) return true;
    if (!signed) return false;
    try {
      parseSignatureHeader(request.headers.get(SIGNATURE_HEADER));
      return true;
    } catch {
      return false;
    }
  }

  return async function vercelPublish(request: Request): Promise<Response> {
    let body: Uint8Array | undefined;
    // Only a POST is read: the endpoint answers anything else 405 without looking at the body.
    if (request.method === 'POST' && request.body !== null && worthReading(request)) {
      try {
        body = await read(request);
      } catch (error) {
        if (error instanceof Refusal) return refusalResponse(error);
        throw error;
      }
    } else {
      discardBody(request);
    }
    const response = await endpoint({
      method: request.method,
      topic: topicOf(request.url),
      headers: Object.fromEntries(request.headers),
      body,
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  };
}
