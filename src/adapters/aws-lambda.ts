/**
 * AWS Lambda adapters: a scheduled drain handler (EventBridge) and a publish handler (API Gateway
 * HTTP API, payload format 2.0). Build them at module scope, once per warm container.
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
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type DrainReport, drain } from '../core/drain.js';
import type { Driver } from '../core/driver.js';
import { InvalidOptionError } from '../core/errors.js';
import { createPublishEndpoint, type PublishEndpointOptions } from '../core/http-publish.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { type DrainOptions, resolveDrainOptions } from '../core/options.js';
import { checkInteger, describeGot } from '../core/validate.js';

/** The part of the Lambda context sluice reads. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/** What a schedule's input may override for one invocation. */
export interface DrainOverrides {
  readonly topic?: string;
  readonly group?: string;
  readonly budgetMs?: number;
}

/**
 * Overrides from a scheduled event's input (`{ "topic": …, "group": …, "budgetMs": … }`). A plain
 * EventBridge event (`detail-type: Scheduled Event`) overrides nothing. Bad values throw.
 */
export function drainOverrides(event: unknown): DrainOverrides {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return {};
  const input = event as Record<string, unknown>;
  const overrides: { topic?: string; group?: string; budgetMs?: number } = {};
  if (input.topic !== undefined) {
    if (!isTopicName(input.topic))
      throw new InvalidOptionError(
        'topic',
        `Expected event \`topic\` to match ${TOPIC_PATTERN}, got ${describeGot(input.topic)}`,
      );
    overrides.topic = input.topic;
  }
  if (input.group !== undefined) {
    if (!isTopicName(input.group))
      throw new InvalidOptionError(
        'group',
        `Expected event \`group\` to match ${TOPIC_PATTERN}, got ${describeGot(input.group)}`,
      );
    overrides.group = input.group;
  }
  if (input.budgetMs !== undefined) {
    const problem = checkInteger('budgetMs', input.budgetMs, 1, 900_000);
    if (problem) throw new InvalidOptionError('budgetMs', `Event ${problem}`);
    overrides.budgetMs = input.budgetMs as number;
  }
  return overrides;
}

/**
 * A Lambda handler that runs one drain cycle per invocation. The deadline honours both `budgetMs`
 * and the function's remaining time (less `safetyMarginMs`). Resolves the cycle's report.
 */
export function lambdaDrainHandler<T = unknown>(
  options: DrainOptions<T> & { readonly driver: Driver },
): (event: unknown, context?: LambdaContextLike) => Promise<DrainReport> {
  const { driver, ...drainOptions } = options;
  resolveDrainOptions(drainOptions); // fail the cold start, not the first invocation
  return async (event, context) => {
    const overrides = drainOverrides(event);
    const base = overrides.topic !== undefined ? { ...drainOptions, stream: undefined } : drainOptions;
    return drain(driver, {
      ...base,
      ...overrides,
      ...(context && typeof context.getRemainingTimeInMillis === 'function'
        ? { remainingTimeMs: () => context.getRemainingTimeInMillis() }
        : {}),
    });
  };
}

/** A Lambda handler for `POST /topics/{topic}/messages` on an API Gateway HTTP API (payload 2.0). */
export function lambdaPublishHandler(
  options: PublishEndpointOptions,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const endpoint = createPublishEndpoint(options);
  return async (event) => {
    const response = await endpoint({
      method: event.requestContext?.http?.method ?? 'POST',
      topic: event.pathParameters?.topic,
      headers: event.headers ?? {},
      body:
        event.body === undefined
          ? undefined
          : event.isBase64Encoded
            ? Buffer.from(event.body, 'base64')
            : event.body,
    });
    return { statusCode: response.status, headers: response.headers, body: response.body };
  };
}
