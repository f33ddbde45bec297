/**
 * A publish request's body into messages: its content type, JSON, one message or a batch, each
 * message's fields and limits, the Idempotency-Key and traceparent headers. Every problem is a
 * {@link Refusal} (400, 413 too large, 415 not JSON) naming what is wrong; nothing here writes.
 */
import {
  checkKey,
  DATA_JSON,
  deliveryOf,
  isTraceparent,
  LONE_SURROGATE,
  type OutgoingMessage,
} from '../../core/envelope.js';
import { bodyText, header, isPlainObject, mediaType, notJson, Refusal } from '../answers.js';
import type { PublishContext, PublishRequest } from './context.js';

const MESSAGE_FIELDS = new Set(['data', 'key', 'idempotencyKey', 'delayMs', 'deliverAt']);

/** The limits {@link messageOfJson} checks a message against. */
export interface MessageLimits {
  readonly maxDepth: number;
  readonly maxMessageBytes: number;
  /** The longest `delayMs` (or `deliverAt` ahead of now). */
  readonly maxDelayMs: number;
}

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

/** Checks `delayMs` / `deliverAt` as the publish will, as a 400; undefined fields are left out. */
function delayFields(
  value: Record<string, unknown>,
  where: string,
  maxDelayMs: number,
): Pick<OutgoingMessage, 'delayMs' | 'deliverAt'> {
  const { delayMs, deliverAt } = value as Pick<OutgoingMessage, 'delayMs' | 'deliverAt'>;
  try {
    deliveryOf({ data: null, delayMs, deliverAt }, maxDelayMs, Date.now(), where);
  } catch (error) {
    throw new Refusal(400, (error as Error).message);
  }
  return {
    ...(delayMs === undefined ? {} : { delayMs }),
    ...(deliverAt === undefined ? {} : { deliverAt }),
  };
}

/**
 * One message of a publish body (`{"data": …, "key"?, "idempotencyKey"?, "delayMs"?,
 * "deliverAt"?}`), checked as the
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
        `${where}unknown field ${JSON.stringify(field)}; allowed: data, key, idempotencyKey, delayMs, deliverAt`,
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
  const delay = delayFields(value, where, settings.maxDelayMs);
  return { data: value.data, key, idempotencyKey: own ?? idempotencyKey, ...delay, [DATA_JSON]: json };
}

/** The Idempotency-Key header: 1 to 200 characters of valid Unicode, or absent. */
function idempotencyKeyHeader(request: PublishRequest): string | undefined {
  const key = header(request.headers, 'idempotency-key');
  if (key !== undefined && (key.length === 0 || key.length > 200)) {
    throw new Refusal(400, 'Idempotency-Key header must be 1 to 200 characters');
  }
  if (key !== undefined && LONE_SURROGATE.test(key))
    throw new Refusal(400, 'Idempotency-Key header is not valid Unicode: it holds a lone surrogate');
  return key;
}

/** The body as JSON: 415 unless its type is JSON, 413 too large, 400 empty or malformed. */
function jsonBody(context: PublishContext, request: PublishRequest): unknown {
  const contentType = mediaType(request.headers);
  if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType))
    throw notJson(contentType);
  const text = bodyText(request.body, context.settings.maxBodyBytes);
  if (text.trim() === '')
    throw new Refusal(400, 'body is empty; expected {"data": …} or {"messages": [ … ]}');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Refusal(400, `body is not valid JSON: ${(error as Error).message}`);
  }
}

/** What a body publishes: its messages, the batch's idempotency key, and whether it was a batch body. */
export interface RequestMessages {
  readonly messages: OutgoingMessage[];
  readonly batchKey: string | undefined;
  /** `{"messages": [ … ]}` rather than one message. */
  readonly batch: boolean;
}

/** The messages of a body, and the key that stands for the whole batch (the Idempotency-Key header of a batch). */
function toMessages(context: PublishContext, body: unknown, headerKey: string | undefined): RequestMessages {
  const { settings } = context;
  if (!isPlainObject(body))
    throw new Refusal(400, 'body must be a JSON object: {"data": …} or {"messages": [ … ]}');
  if (!Object.hasOwn(body, 'messages'))
    return { messages: [messageOfJson(body, '', settings, headerKey)], batchKey: undefined, batch: false };
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
    batch: true,
  };
}

/**
 * The messages a request publishes (each carrying its traceparent), and the batch's idempotency key.
 * Checks, in order: the Idempotency-Key header, the body's type and size, its JSON, its messages.
 */
export function requestMessages(context: PublishContext, request: PublishRequest): RequestMessages {
  const headerKey = idempotencyKeyHeader(request);
  // A W3C traceparent header travels with every message to its handler; an invalid one is
  // ignored, as the Trace Context spec asks of receivers.
  const traceparent = header(request.headers, 'traceparent')?.trim().toLowerCase();
  const { messages, batchKey, batch } = toMessages(context, jsonBody(context, request), headerKey);
  return {
    messages: messages.map((message) => (isTraceparent(traceparent) ? { ...message, traceparent } : message)),
    batchKey,
    batch,
  };
}
