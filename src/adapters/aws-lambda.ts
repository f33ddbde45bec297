/**
 * AWS Lambda adapters: a scheduled drain handler (EventBridge), a publish handler and an ops handler
 * (API Gateway HTTP API, payload format 2.0). Build them at module scope, once per warm container.
 *
 * @example
 * ```ts
 * import { lambdaDrainHandler } from 'sluice/aws-lambda';
 * import { ioredisDriver } from 'sluice/ioredis';
 *
 * const driver = ioredisDriver(process.env.REDIS_URL);
 * export const handler = lambdaDrainHandler({ driver, topic: 'orders', group: 'billing', handler: async (m) => {} });
 * ```
 */
import { type DrainReport, drain } from '../consume/drain.js';
import { withInvocation } from '../consume/invocation.js';
import { type DrainOptions, resolveDrainOptions } from '../consume/options.js';
import { shutdownSignal } from '../consume/shutdown.js';
import type { Driver } from '../core/driver.js';
import { createOpsEndpoint, type OpsEndpointOptions } from '../http/ops-endpoint.js';
import { createPublishEndpoint, type PublishEndpointOptions } from '../http/publish-endpoint.js';
import { emfDocument } from './cloudwatch-emf.js';
import type { LambdaContextLike, LambdaHttpEvent, LambdaHttpResult } from './lambda-types.js';
import { drainOverrides, type OverrideAllowList, overrideGuard } from './overrides.js';

export type { LambdaContextLike, LambdaHttpEvent, LambdaHttpResult } from './lambda-types.js';
export { type LambdaWakerOptions, lambdaWaker } from './lambda-waker.js';
export { type DrainOverrides, drainOverrides, OverrideNotAllowedError } from './overrides.js';

/** The options of {@link lambdaDrainHandler}: the drain's, and what the function adds to them. */
export type LambdaDrainOptions<T = unknown> = DrainOptions<T> & LambdaDrainWiring;

/** What a Lambda drain function adds to the drain options. */
export interface LambdaDrainWiring extends OverrideAllowList {
  readonly driver: Driver;
  /**
   * Where each cycle's CloudWatch Embedded Metric Format line goes (lag, processed, failed,
   * dead-lettered, duration…, by topic and group); `false` for none.
   * @default a line on stdout, which CloudWatch Logs turns into metrics in namespace `Sluice`
   */
  readonly metrics?: false | ((line: string) => void);
}

/**
 * A Lambda handler that runs one drain cycle per invocation. The deadline honours both `budgetMs`
 * and the function's remaining time (less `safetyMarginMs`). Resolves the cycle's report, and
 * writes its metrics in CloudWatch Embedded Metric Format. The event may override `topic`, `group`,
 * `budgetMs` and `assignedPartitions`; a topic or group outside the configured ones and
 * `allowedTopics` / `allowedGroups` throws an `OverrideNotAllowedError` before anything runs.
 *
 * While a cycle runs, SIGTERM or SIGINT shuts it down gracefully (`shutdownGraceMs`; see `drain`'s
 * `signal`) and the invocation resolves its report with `stoppedBy: "signal"`. Lambda sends the
 * runtime SIGTERM only when an extension is registered, at shutdown, with 500 ms (one internal
 * extension) to 2 s (external ones) before SIGKILL: keep `shutdownGraceMs` below that there. The
 * cycle ends before the function's timeout, so a shutdown rarely finds one running.
 */
export function lambdaDrainHandler<T = unknown>(
  options: LambdaDrainOptions<T>,
): (event: unknown, context?: LambdaContextLike) => Promise<DrainReport> {
  const { driver, metrics, allowedTopics, allowedGroups, ...drainOptions } = options;
  // Resolved once, at cold start: a bad option fails it, not the first invocation.
  const resolved = resolveDrainOptions(drainOptions);
  const guard = overrideGuard(options);
  const emit =
    metrics === false ? undefined : (metrics ?? ((line: string) => process.stdout.write(`${line}\n`)));
  return async (event, context) => {
    const overrides = drainOverrides(event);
    guard(overrides, 'event');
    // SIGTERM (SIGINT when run by hand) while the cycle runs shuts it down gracefully; between
    // invocations the signals keep their default effect.
    const shutdown = shutdownSignal();
    const report = await drain(
      driver,
      withInvocation(resolved, {
        ...overrides,
        ...(context && typeof context.getRemainingTimeInMillis === 'function'
          ? { remainingTimeMs: () => context.getRemainingTimeInMillis() }
          : {}),
        signal: resolved.signal ? AbortSignal.any([resolved.signal, shutdown.signal]) : shutdown.signal,
      }),
    ).finally(() => shutdown.dispose());
    emit?.(JSON.stringify(emfDocument(report)));
    return report;
  };
}

/** The raw body of an HTTP API event: bytes when API Gateway base64-encoded it (a null body is none). */
function eventBody(event: LambdaHttpEvent): string | Uint8Array | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
}

/** A Lambda handler for `POST /topics/{topic}/messages` on an API Gateway HTTP API (payload 2.0). */
export function lambdaPublishHandler(
  options: PublishEndpointOptions,
): (event: LambdaHttpEvent) => Promise<LambdaHttpResult> {
  const endpoint = createPublishEndpoint(options);
  return async (event) => {
    const response = await endpoint({
      method: event.requestContext?.http?.method ?? 'POST',
      topic: event.pathParameters?.topic,
      headers: event.headers ?? {},
      body: eventBody(event),
    });
    return { statusCode: response.status, headers: response.headers, body: response.body };
  };
}

/**
 * A Lambda handler for the ops routes (`GET /ops`, `GET /ops/{proxy+}`, `POST /ops/{proxy+}`) on an
 * API Gateway HTTP API (payload 2.0): statistics, dead letters, redrive, and the dashboard page.
 * Routes, authentication and statuses: see `createOpsEndpoint`.
 */
export function lambdaOpsHandler(
  options: OpsEndpointOptions,
): (event: LambdaHttpEvent) => Promise<LambdaHttpResult> {
  const endpoint = createOpsEndpoint(options);
  return async (event) => {
    const response = await endpoint({
      method: event.requestContext?.http?.method ?? 'GET',
      path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
      query: event.rawQueryString,
      headers: event.headers ?? {},
      body: eventBody(event),
    });
    return { statusCode: response.status, headers: response.headers, body: response.body };
  };
}
