/**
 * What the Web-standard adapters (Vercel, QStash) share: JSON responses, and one drain cycle per
 * request with its deadline derived from the function's maximum duration. Internal to the adapters.
 */
import { drain } from '../consume/drain.js';
import { withInvocation } from '../consume/invocation.js';
import { type DrainSettings, type Handling, resolveDrainOptions } from '../consume/options.js';
import type { Driver } from '../core/driver.js';
import { describeError, InvalidOptionError } from '../core/errors.js';
import { jsonLogger } from '../core/logger.js';
import { checkInteger } from '../core/validate.js';
import { type BodyLimits, type Refusal, readBody } from '../http/answers.js';
import {
  type DrainOverrides,
  type OverrideAllowList,
  OverrideNotAllowedError,
  overrideGuard,
} from './overrides.js';

/** Drain options of a function invoked over HTTP, which has no remaining-time call. */
export type RequestDrainOptions<T = unknown> = Omit<DrainSettings, 'remainingTimeMs'> &
  Handling<T> &
  RequestDrainWiring;

/** What a drain function invoked over HTTP adds to the drain options. */
export interface RequestDrainWiring extends OverrideAllowList {
  readonly driver: Driver;
  /**
   * The function's maximum duration (Vercel's `maxDuration`), in seconds. The cycle's deadline is at
   * most this long after the request arrived, less `safetyMarginMs`; `budgetMs` defaults to fit in it.
   */
  readonly maxDurationSeconds?: number | undefined;
}

/** The longest a function runs anywhere sluice is deployed (Lambda: 15 minutes; Vercel: 800 s). */
const MAX_DURATION_SECONDS = 900;

/** A JSON response that no cache keeps. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

export { isPlainObject } from '../http/answers.js';

/** The answer to a {@link Refusal} (JSON `{ "error": … }`, with its headers). */
export function refusalResponse(refusal: Refusal): Response {
  return json(refusal.status, { error: refusal.message }, refusal.headers);
}

/**
 * Checks `maxBodyBytes` and `bodyTimeoutMs` at cold start, and returns what reads a request's body
 * within them: its bytes, or a {@link Refusal} thrown (413 too large, 408 too slow, 400 unreadable).
 */
export function bodyReader(limits: BodyLimits): (request: Request) => Promise<Uint8Array> {
  for (const name of ['maxBodyBytes', 'bodyTimeoutMs'] as const) {
    const problem = checkInteger(name, limits[name], 1);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  return (request) => readBody(request.body, request.headers.get('content-length'), limits);
}

/** Lets go of a body that will not be read (a refused request), so the platform can drop it. */
export function discardBody(request: Request): void {
  if (request.body !== null && !request.bodyUsed) request.body.cancel().catch(() => {});
}

/**
 * Validates the options at once (so a bad one fails the cold start) and returns what runs one cycle
 * for a request that arrived at `startedAt` (ms since the epoch). It answers 200 with the
 * DrainReport, or 500 with it when the cycle stopped on an error (Redis unreachable, …): a scheduler
 * then marks the run failed, and nothing is lost, since whatever was not acknowledged stays pending.
 * An override of a topic or group outside the allow lists gets 403 (`source`, e.g. `query`, names
 * where the overrides came from), and nothing is created in Redis.
 */
export function requestDrain<T>(
  options: RequestDrainOptions<T>,
  source: string,
): (overrides: DrainOverrides, startedAt: number) => Promise<Response> {
  const { driver, maxDurationSeconds, allowedTopics, allowedGroups, ...drainOptions } = options;
  const guard = overrideGuard(options);
  let maxDurationMs: number | undefined;
  if (maxDurationSeconds !== undefined) {
    const problem = checkInteger('maxDurationSeconds', maxDurationSeconds, 1, MAX_DURATION_SECONDS);
    if (problem) throw new InvalidOptionError('maxDurationSeconds', problem);
    maxDurationMs = maxDurationSeconds * 1000;
  }
  // Resolved once, at cold start: a bad option fails it, not the first request.
  let resolved = resolveDrainOptions(drainOptions);
  if (maxDurationMs !== undefined) {
    const room = maxDurationMs - resolved.safetyMarginMs;
    if (room < 1) {
      throw new InvalidOptionError(
        'maxDurationSeconds',
        `Expected \`maxDurationSeconds\` (${maxDurationSeconds} s) to leave time after \`safetyMarginMs\` (${resolved.safetyMarginMs} ms)`,
      );
    }
    // Unset, the budget is all the function's time but the margin (not the library's 50 s default).
    if (drainOptions.budgetMs === undefined) resolved = withInvocation(resolved, { budgetMs: room });
  }
  const logger = drainOptions.logger ?? jsonLogger();

  return async (overrides, startedAt) => {
    try {
      guard(overrides, source);
    } catch (error) {
      if (!(error instanceof OverrideNotAllowedError)) throw error;
      logger.warn('drain request refused: override not allowed', { error: error.message });
      return json(403, { error: error.message });
    }
    try {
      const report = await drain(
        driver,
        withInvocation(resolved, {
          ...overrides,
          ...(maxDurationMs === undefined
            ? {}
            : { remainingTimeMs: () => startedAt + (maxDurationMs as number) - Date.now() }),
        }),
      );
      return json(report.stoppedBy === 'error' ? 500 : 200, report);
    } catch (error) {
      logger.error('drain request failed', { error: describeError(error) });
      return json(500, { error: describeError(error) });
    }
  };
}
