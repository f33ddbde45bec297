/**
 * The HTTP publish endpoint, independent of any platform: `POST /topics/{topic}/messages`.
 * Platform adapters (Lambda, Vercel) translate their request into {@link PublishRequest} and the
 * {@link PublishResponse} back.
 *
 * Authentication: `Authorization: Bearer <token>`, or — when signing secrets are configured — a
 * `Sluice-Signature` over the raw body (see `signature.ts`): fresh, matching, and not seen before.
 * With neither a token nor a secret configured, every request is refused.
 *
 * Statuses: 202 published (ids in order; a delayed message's is its schedule id, with its due time
 * in `deliverAt`) · 400 malformed (or failing its topic's schema: `issues`) · 401 unauthenticated (or publishing
 * disabled) · 404 unknown topic · 405 not POST · 413 too large · 415 not JSON · 500 Redis refused
 * the credentials (a configuration error: no Retry-After) · 503 Redis unavailable (with Retry-After). A batch is written whole or not at all; a refused request
 * writes nothing.
 */

import { checkGroupNames } from '../core/declare.js';
import type { Driver } from '../core/driver.js';
import { InvalidMessageError, InvalidOptionError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { checkPublished, MessageSchemaError, type StandardSchemaV1, schemaOption } from '../core/schema.js';
import { checkInteger } from '../core/validate.js';
import { PUBLISH_DEFAULTS, type PublishOptions, resolvePublishOptions } from '../publish/options.js';
import { failureAnswer, jsonAnswer, Refusal } from './answers.js';
import { bearerCheck } from './bearer.js';
import { authenticate, challengeOf } from './publish-routes/auth.js';
import type { PublishContext, PublishRequest, PublishResponse } from './publish-routes/context.js';
import { requestMessages } from './publish-routes/messages.js';
import { writeMessages } from './publish-routes/write.js';
import { SIGNATURE_DEFAULTS, SignatureError } from './signature.js';

export type { PublishRequest, PublishResponse } from './publish-routes/context.js';
export { type MessageLimits, messageOfJson } from './publish-routes/messages.js';

export interface PublishEndpointOptions extends Omit<PublishOptions, 'groups' | 'schema'> {
  readonly driver: Driver;
  /** Topics this endpoint accepts; others get 404. */
  readonly topics: readonly string[];
  /**
   * Consumer groups declared per topic (`{ orders: ['payment-processors'] }`): created before the
   * first message of this container is written, so none misses a message published before its
   * first drain (see `declareTopic`). Groups declared in Redis for a topic are created too.
   * @default {}
   */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  /**
   * A schema per topic (`{ orders: OrderSchema }`, any Standard Schema: zod, valibot, arktype…):
   * each message's `data` is validated before anything is written; one invalid message refuses the
   * request with 400 and `issues: [{ path, message }]` (paths into the body: `["data", "amount"]`,
   * `["messages", 3, "data", "amount"]`). Topics without one are not validated.
   * @default {}
   */
  readonly schemas?: Readonly<Record<string, StandardSchemaV1>>;
  /**
   * The bearer token callers may send. With neither a token nor `signingSecrets`, every request is
   * refused (401).
   */
  readonly token: string | undefined;
  /**
   * Secrets for HMAC body signatures (`Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
   * "<t>.<raw body>">`), accepted as well as the bearer token. Several for rotation: a signature made
   * with any of them is accepted. Empty or undefined: signatures are not accepted.
   */
  readonly signingSecrets?: readonly string[] | undefined;
  /**
   * Largest distance, either side, between a signature's timestamp and the server's clock.
   * @default 300
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * The clock that judges signature timestamps, in ms since the epoch (for tests).
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Largest request body.
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * Largest payload of one message, as JSON.
   * @default 262144 (256 KiB)
   */
  readonly maxMessageBytes?: number;
  /**
   * Most messages in one batch.
   * @default 500
   */
  readonly maxBatchMessages?: number;
  /**
   * Deepest nesting of a payload.
   * @default 64
   */
  readonly maxDepth?: number;
  /**
   * Seconds a 503 asks the caller to wait (Retry-After).
   * @default 1
   */
  readonly retryAfterSeconds?: number;
  readonly logger?: Logger;
}

/** Checks the endpoint's `groups` option: group names, for topics the endpoint accepts. */
function declaredGroupsOption(
  groups: PublishEndpointOptions['groups'],
  topics: readonly string[],
): Readonly<Record<string, readonly string[]>> {
  if (groups === undefined) return {};
  if (typeof groups !== 'object' || groups === null || Array.isArray(groups)) {
    throw new InvalidOptionError('groups', 'Expected `groups` to map topic names to arrays of group names');
  }
  for (const [topic, names] of Object.entries(groups)) {
    if (!topics.includes(topic)) {
      throw new InvalidOptionError(
        'groups',
        `\`groups\` names topic ${JSON.stringify(topic)}, which is not in \`topics\` (${topics.join(', ')})`,
      );
    }
    checkGroupNames(`groups.${topic}`, names);
  }
  return groups;
}

export const PUBLISH_ENDPOINT_DEFAULTS = Object.freeze({
  maxBodyBytes: 1_048_576,
  maxMessageBytes: 262_144,
  maxBatchMessages: 500,
  maxDepth: 64,
  maxDelayMs: PUBLISH_DEFAULTS.maxDelayMs,
  retryAfterSeconds: 1,
  signatureToleranceSeconds: SIGNATURE_DEFAULTS.toleranceSeconds,
});

const LIMITS = [
  'maxBodyBytes',
  'maxMessageBytes',
  'maxBatchMessages',
  'maxDepth',
  'retryAfterSeconds',
  'signatureToleranceSeconds',
] as const;

/** The signing secrets option: an array of non-empty strings (none by default). */
function secretsOption(secrets: PublishEndpointOptions['signingSecrets']): readonly string[] {
  const list = secrets ?? [];
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidOptionError(
      'signingSecrets',
      'Expected `signingSecrets` to be an array of non-empty strings',
    );
  }
  return list;
}

/** Checks the endpoint's `schemas` option: a Standard Schema per topic the endpoint accepts. */
function schemasOption(
  schemas: PublishEndpointOptions['schemas'],
  topics: readonly string[],
): Map<string, StandardSchemaV1> {
  const checked = new Map<string, StandardSchemaV1>();
  if (schemas === undefined) return checked;
  if (typeof schemas !== 'object' || schemas === null || Array.isArray(schemas))
    throw new InvalidOptionError('schemas', 'Expected `schemas` to map topic names to Standard Schemas');
  for (const [topic, schema] of Object.entries(schemas)) {
    if (!topics.includes(topic))
      throw new InvalidOptionError(
        'schemas',
        `\`schemas\` names topic ${JSON.stringify(topic)}, which is not in \`topics\` (${topics.join(', ')})`,
      );
    checked.set(topic, schemaOption(`schemas.${topic}`, schema) as StandardSchemaV1);
  }
  return checked;
}

/** Each topic's publish options, checked now: bad ones fail the cold start, not every request. */
function topicPublishOptions(options: PublishEndpointOptions): Map<string, PublishOptions> {
  const groups = declaredGroupsOption(options.groups, options.topics);
  for (const topic of options.topics) {
    if (!isTopicName(topic)) {
      throw new InvalidOptionError(
        'topics',
        `Expected \`topics\` to hold topic names matching ${TOPIC_PATTERN}, got ${JSON.stringify(topic)}`,
      );
    }
  }
  const publishOptions = new Map<string, PublishOptions>();
  for (const topic of options.topics) {
    const own: PublishOptions = { ...options, groups: groups[topic] ?? [] };
    resolvePublishOptions(options.driver, own);
    publishOptions.set(topic, own);
  }
  return publishOptions;
}

/** The endpoint built from its options: defaults applied, every option checked (InvalidOptionError). */
function checkedContext(options: PublishEndpointOptions): PublishContext {
  const settings = {
    ...PUBLISH_ENDPOINT_DEFAULTS,
    ...options,
    maxDelayMs: options.maxDelayMs ?? PUBLISH_DEFAULTS.maxDelayMs,
  };
  for (const name of LIMITS) {
    const problem = checkInteger(name, settings[name], 1);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  if (!Array.isArray(options.topics))
    throw new InvalidOptionError('topics', 'Expected `topics` to be an array of topic names');
  const secrets = secretsOption(options.signingSecrets);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new InvalidOptionError('now', 'Expected `now` to be a function returning ms since the epoch');
  const publishOptions = topicPublishOptions(options);
  const authorized = options.token ? bearerCheck(options.token) : undefined;
  return {
    driver: options.driver,
    settings,
    publishOptions,
    schemas: schemasOption(options.schemas, options.topics),
    authorized,
    secrets,
    challenge: challengeOf(authorized !== undefined, secrets.length > 0),
    now,
    logger: options.logger ?? jsonLogger(),
  };
}

/** `POST /topics/{topic}/messages`: the method, who sends it, the topic, the messages, the write. */
async function handle(context: PublishContext, request: PublishRequest): Promise<PublishResponse> {
  if (request.method.toUpperCase() !== 'POST')
    throw new Refusal(405, `method ${request.method} is not allowed; use POST`, { allow: 'POST' });
  const nowMs = context.now();
  const signature = authenticate(context, request, nowMs);
  const topic = request.topic ?? '';
  if (!context.publishOptions.has(topic))
    throw new Refusal(404, `unknown topic ${JSON.stringify(topic.slice(0, 120))}`);
  const { messages, batchKey, batch } = requestMessages(context, request);
  const schema = context.schemas.get(topic);
  // Checked before the signature is claimed and anything written: a refusal costs nothing more.
  if (schema !== undefined)
    await checkPublished(schema, messages, (i) => (batch ? ['messages', i, 'data'] : ['data']));
  return await writeMessages(context, { topic, messages, batchKey, signature, nowMs });
}

/**
 * Builds the publish endpoint. Validates its options at once (cold start), so a misconfigured
 * function fails to start instead of failing requests.
 */
export function createPublishEndpoint(
  options: PublishEndpointOptions,
): (request: PublishRequest) => Promise<PublishResponse> {
  const context = checkedContext(options);
  return async function handlePublish(request: PublishRequest): Promise<PublishResponse> {
    try {
      return await handle(context, request);
    } catch (error) {
      if (error instanceof Refusal) return jsonAnswer(error.status, { error: error.message }, error.headers);
      if (error instanceof SignatureError) {
        // Only a replay gets here (the rest are refused before): worth an operator's eye.
        context.logger.warn('publish refused: signature replayed', { topic: request.topic });
        return jsonAnswer(401, { error: error.message }, context.challenge);
      }
      if (error instanceof MessageSchemaError)
        return jsonAnswer(400, { error: error.message, issues: error.issues });
      if (error instanceof InvalidMessageError) return jsonAnswer(400, { error: error.message });
      return failureAnswer(error, 'publish', context.settings.retryAfterSeconds, context.logger);
    }
  };
}
