/**
 * The HTTP publish endpoint, independent of any platform: `POST /topics/{topic}/messages`.
 * Platform adapters (Lambda, Vercel) translate their request into {@link PublishRequest} and the
 * {@link PublishResponse} back.
 *
 * Authentication: `Authorization: Bearer <token>`, or — when signing secrets are configured — a
 * `Sluice-Signature` over the raw body (see `signature.ts`): fresh, matching, and not seen before.
 * With neither a token nor a secret configured, every request is refused.
 *
 * Statuses: 202 published (ids in order) · 400 malformed · 401 unauthenticated (or publishing
 * disabled) · 404 unknown topic · 405 not POST · 413 too large · 415 not JSON · 500 Redis refused
 * the credentials (a configuration error: no Retry-After) · 503 Redis unavailable (with Retry-After). A batch is written whole or not at all; a refused request
 * writes nothing.
 */

import { randomUUID } from 'node:crypto';
import { checkGroupNames } from '../core/declare.js';
import type { Driver } from '../core/driver.js';
import {
  checkKey,
  DATA_JSON,
  isTraceparent,
  LONE_SURROGATE,
  type OutgoingMessage,
} from '../core/envelope.js';
import { InvalidMessageError, InvalidOptionError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { checkInteger } from '../core/validate.js';
import { publishBatch } from '../publish/batch.js';
import { type PublishOptions, type PublishResult, resolvePublishOptions } from '../publish/options.js';
import { bodyText, failureAnswer, header, isPlainObject, jsonAnswer, Refusal } from './answers.js';
import { bearerCheck } from './bearer.js';
import {
  claimSignature,
  SIGNATURE_DEFAULTS,
  SIGNATURE_HEADER,
  SignatureError,
  type VerifiedSignature,
  verifySignature,
} from './signature.js';

export interface PublishRequest {
  readonly method: string;
  /** The `{topic}` path parameter. */
  readonly topic: string | undefined;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body: text, or bytes (checked to be UTF-8). */
  readonly body: string | Uint8Array | undefined;
}

export interface PublishResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON text. */
  readonly body: string;
}

export interface PublishEndpointOptions extends Omit<PublishOptions, 'groups'> {
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
  retryAfterSeconds: 1,
  signatureToleranceSeconds: SIGNATURE_DEFAULTS.toleranceSeconds,
});

const MESSAGE_FIELDS = new Set(['data', 'key', 'idempotencyKey']);

const json = jsonAnswer;

/** What a JSON value is, in a word, without serialising it (it may be huge or deeply nested). */
/** Checks a key field before anything is serialised; the encoder's own check, as a 400. */
function checkKeyField(value: unknown, name: 'key' | 'idempotencyKey', where: string): string | undefined {
  try {
    return checkKey(value, name, where);
  } catch (error) {
    throw new Refusal(400, (error as Error).message);
  }
}

/** Nesting depth of a JSON value, without recursion. */
function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** The limits {@link messageOfJson} checks a message against. */
export interface MessageLimits {
  readonly maxDepth: number;
  readonly maxMessageBytes: number;
}

/**
 * One message of a publish body (`{"data": …, "key"?, "idempotencyKey"?}`), checked as the
 * endpoint checks it; a {@link Refusal} (400, or 413 when too large) names what is wrong, prefixed
 * by `where`. Shared with the CLI's `publish --batch`, so both refuse the same input alike.
 */
export function messageOfJson(
  value: unknown,
  where: string,
  settings: MessageLimits,
  idempotencyKey?: string,
): OutgoingMessage {
  if (!isPlainObject(value)) throw new Refusal(400, `${where || 'body '}must be an object with \`data\``);
  for (const field of Object.keys(value)) {
    if (!MESSAGE_FIELDS.has(field))
      throw new Refusal(
        400,
        `${where}unknown field ${JSON.stringify(field)}; allowed: data, key, idempotencyKey`,
      );
  }
  if (!Object.hasOwn(value, 'data')) throw new Refusal(400, `${where}\`data\` is missing`);
  if (depthOf(value.data, settings.maxDepth) > settings.maxDepth) {
    throw new Refusal(400, `${where}\`data\` is nested deeper than ${settings.maxDepth} levels`);
  }
  const json = JSON.stringify(value.data);
  const size = Buffer.byteLength(json);
  if (size > settings.maxMessageBytes) {
    throw new Refusal(
      413,
      `${where}\`data\` is ${size} bytes as JSON; the limit is ${settings.maxMessageBytes}`,
    );
  }
  const key = checkKeyField(value.key, 'key', where);
  const own = checkKeyField(value.idempotencyKey, 'idempotencyKey', where);
  if (own !== undefined && idempotencyKey !== undefined && own !== idempotencyKey) {
    throw new Refusal(400, `${where}\`idempotencyKey\` differs from the Idempotency-Key header`);
  }
  return { data: value.data, key, idempotencyKey: own ?? idempotencyKey, [DATA_JSON]: json };
}

/**
 * Builds the publish endpoint. Validates its options at once (cold start), so a misconfigured
 * function fails to start instead of failing requests.
 */
export function createPublishEndpoint(
  options: PublishEndpointOptions,
): (request: PublishRequest) => Promise<PublishResponse> {
  const settings = { ...PUBLISH_ENDPOINT_DEFAULTS, ...options };
  for (const name of [
    'maxBodyBytes',
    'maxMessageBytes',
    'maxBatchMessages',
    'maxDepth',
    'retryAfterSeconds',
    'signatureToleranceSeconds',
  ] as const) {
    const problem = checkInteger(name, settings[name], 1);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  if (!Array.isArray(options.topics))
    throw new InvalidOptionError('topics', 'Expected `topics` to be an array of topic names');
  const secrets = options.signingSecrets ?? [];
  if (!Array.isArray(secrets) || !secrets.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidOptionError(
      'signingSecrets',
      'Expected `signingSecrets` to be an array of non-empty strings',
    );
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new InvalidOptionError('now', 'Expected `now` to be a function returning ms since the epoch');
  const groups = declaredGroupsOption(options.groups, options.topics);
  for (const topic of options.topics) {
    if (!isTopicName(topic)) {
      throw new InvalidOptionError(
        'topics',
        `Expected \`topics\` to hold topic names matching ${TOPIC_PATTERN}, got ${JSON.stringify(topic)}`,
      );
    }
  }
  // Each topic's publish options, checked now: bad ones fail the cold start, not every request.
  const publishOptions = new Map<string, PublishOptions>();
  for (const topic of options.topics) {
    const own: PublishOptions = { ...options, groups: groups[topic] ?? [] };
    resolvePublishOptions(options.driver, own);
    publishOptions.set(topic, own);
  }
  const topics = new Set(options.topics);
  const authorized = options.token ? bearerCheck(options.token) : undefined;
  const logger = options.logger ?? jsonLogger();
  const challenge = {
    'www-authenticate': [authorized ? 'Bearer' : '', secrets.length > 0 ? SIGNATURE_HEADER : '']
      .filter((scheme) => scheme !== '')
      .join(', '),
  };

  /**
   * Authenticated by the bearer token, or by a body signature (returned, for the replay guard that
   * runs once the request is known to be publishable). Pure: nothing here touches Redis.
   */
  function authenticate(request: PublishRequest, nowMs: number): VerifiedSignature | undefined {
    if (!authorized && secrets.length === 0) {
      throw new Refusal(
        401,
        'publishing is disabled: no publish token (SLUICE_PUBLISH_TOKEN) or signing secret (SLUICE_SIGNING_SECRET) is configured',
      );
    }
    // Constant time, whatever was sent.
    if (authorized?.(header(request.headers, 'authorization'))) return undefined;
    if (secrets.length === 0) throw new Refusal(401, 'missing or invalid bearer token', challenge);
    const signature = header(request.headers, SIGNATURE_HEADER.toLowerCase());
    if (signature === undefined && authorized) {
      throw new Refusal(401, `missing or invalid bearer token, and no ${SIGNATURE_HEADER} header`, challenge);
    }
    try {
      return verifySignature(signature, request.body ?? '', {
        secrets,
        nowMs,
        toleranceSeconds: settings.signatureToleranceSeconds,
      });
    } catch (error) {
      if (error instanceof SignatureError) throw new Refusal(401, error.message, challenge);
      throw error;
    }
  }

  function readBody(request: PublishRequest): unknown {
    const contentType =
      (header(request.headers, 'content-type') ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType)) {
      throw new Refusal(
        415,
        `expected Content-Type: application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`,
      );
    }
    const text = bodyText(request.body, settings.maxBodyBytes);
    if (text.trim() === '')
      throw new Refusal(400, 'body is empty; expected {"data": …} or {"messages": [ … ]}');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Refusal(400, `body is not valid JSON: ${(error as Error).message}`);
    }
  }

  /** The messages of a body, and the key that stands for the whole batch (the Idempotency-Key header of a batch). */
  function toMessages(
    body: unknown,
    headerKey: string | undefined,
  ): { messages: OutgoingMessage[]; batchKey: string | undefined } {
    if (!isPlainObject(body))
      throw new Refusal(400, 'body must be a JSON object: {"data": …} or {"messages": [ … ]}');
    if (!Object.hasOwn(body, 'messages'))
      return { messages: [messageOfJson(body, '', settings, headerKey)], batchKey: undefined };
    const extra = Object.keys(body).filter((k) => k !== 'messages');
    if (extra.length > 0)
      throw new Refusal(400, `a batch body has only \`messages\`; unexpected ${JSON.stringify(extra[0])}`);
    const list = body.messages;
    if (!Array.isArray(list) || list.length === 0)
      throw new Refusal(400, '`messages` must be a non-empty array');
    if (list.length > settings.maxBatchMessages) {
      throw new Refusal(413, `batch has ${list.length} messages; the limit is ${settings.maxBatchMessages}`);
    }
    // One Idempotency-Key header stands for the whole batch: message i is remembered under (key, i),
    // a namespace no message's own idempotencyKey can reach (see publishBatch).
    return {
      messages: list.map((item, i) => messageOfJson(item, `messages[${i}]: `, settings)),
      batchKey: headerKey,
    };
  }

  return async function handlePublish(request: PublishRequest): Promise<PublishResponse> {
    try {
      if (request.method.toUpperCase() !== 'POST')
        throw new Refusal(405, `method ${request.method} is not allowed; use POST`, { allow: 'POST' });
      const nowMs = now();
      const signature = authenticate(request, nowMs);
      const topic = request.topic ?? '';
      if (!topics.has(topic)) throw new Refusal(404, `unknown topic ${JSON.stringify(topic.slice(0, 120))}`);
      const headerKey = header(request.headers, 'idempotency-key');
      if (headerKey !== undefined && (headerKey.length === 0 || headerKey.length > 200)) {
        throw new Refusal(400, 'Idempotency-Key header must be 1 to 200 characters');
      }
      if (headerKey !== undefined && LONE_SURROGATE.test(headerKey))
        throw new Refusal(400, 'Idempotency-Key header is not valid Unicode: it holds a lone surrogate');
      // A W3C traceparent header travels with every message to its handler; an invalid one is
      // ignored, as the Trace Context spec asks of receivers.
      const traceparent = header(request.headers, 'traceparent')?.trim().toLowerCase();
      const { messages: parsed, batchKey } = toMessages(readBody(request), headerKey);
      const messages = parsed.map((message) =>
        isTraceparent(traceparent) ? { ...message, traceparent } : message,
      );
      // Everything is checked: only now is the signature claimed, so a refusal writes nothing.
      const release = signature
        ? await claimSignature(options.driver, topic, signature, {
            nowMs,
            toleranceSeconds: settings.signatureToleranceSeconds,
            claimId: randomUUID(),
          })
        : undefined;
      let results: PublishResult[];
      try {
        results = await publishBatch(options.driver, topic, messages, {
          ...publishOptions.get(topic),
          idempotencyKey: batchKey,
        });
      } catch (error) {
        // Not published (or not known to be): give the claim back, so that a retry of the same
        // signed bytes is not refused as a replay. Best effort — Redis may be what failed.
        await release?.().catch(() => {});
        throw error;
      }
      return json(202, {
        topic,
        ids: results.map((r) => r.id),
        // On a partitioned topic ids are unique per partition: say which one each went to.
        ...(results[0]?.partition === undefined ? {} : { partitions: results.map((r) => r.partition) }),
        duplicates: results.filter((r) => r.duplicate).length,
      });
    } catch (error) {
      if (error instanceof Refusal) return json(error.status, { error: error.message }, error.headers);
      if (error instanceof SignatureError) {
        // Only a replay gets here (the rest are refused before): worth an operator's eye.
        logger.warn('publish refused: signature replayed', { topic: request.topic });
        return json(401, { error: error.message }, challenge);
      }
      if (error instanceof InvalidMessageError) return json(400, { error: error.message });
      return failureAnswer(error, 'publish', settings.retryAfterSeconds, logger);
    }
  };
}
