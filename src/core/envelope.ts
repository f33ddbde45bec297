/**
 * The message envelope: how a payload becomes a stream entry and back.
 *
 * sluice writes flat fields: `sluice` (format version, `1`), `data` (the payload as JSON) and, when
 * given, `key`. The publish time is the millisecond part of the entry id. An entry with other
 * fields — XADDed by some other service — is still consumable: it arrives as a `foreign` message
 * whose `data` is undefined and whose raw `fields` the handler reads.
 */
import { InvalidMessageError, PermanentError } from './errors.js';
import { fieldsToRecord, type RawEntry } from './replies.js';
import { idTime } from './stream-ids.js';
import { describeGot } from './validate.js';

export const FORMAT_FIELD = 'sluice';
export const FORMAT_VERSION = '1';
export const DATA_FIELD = 'data';
export const KEY_FIELD = 'key';
export const TRACEPARENT_FIELD = 'traceparent';

/** A W3C Trace Context `traceparent` (version 00 layout; other versions keep its first four fields). */
export const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;

/** True for a usable `traceparent` (the all-zero trace and span ids, and version ff, are invalid). */
export function isTraceparent(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 256 &&
    TRACEPARENT_PATTERN.test(value) &&
    !value.startsWith('ff-') &&
    value.slice(3, 35) !== '0'.repeat(32) &&
    value.slice(36, 52) !== '0'.repeat(16)
  );
}

/** A message as a handler receives it. */
export interface Message<T = unknown> {
  /** The stream entry id (`<ms>-<seq>`), unique within the stream. */
  readonly id: string;
  /** The stream key the message was read from. */
  readonly stream: string;
  /** `sluice` when published through sluice, `foreign` when written by anyone else. */
  readonly format: 'sluice' | 'foreign';
  /**
   * The payload (parsed JSON, on first access) of a sluice message; `undefined` for a foreign one.
   * Reading it throws a `PermanentError` when an entry marked as sluice's holds no valid JSON, so
   * such a message is dead-lettered at once.
   */
  readonly data: T;
  /** The partitioning/ordering key given at publish, if any. */
  readonly key: string | undefined;
  /** The W3C `traceparent` of the publish, if one was given: continue the trace from it. */
  readonly traceparent: string | undefined;
  /** When the message was added to the stream (ms since the epoch, from its id). */
  readonly publishedAt: number;
  /** How many times this message has been handed to a consumer of this group, this time included. */
  readonly deliveries: number;
  /** The raw fields of the entry, exactly as stored. */
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * A message may carry its payload already serialised under this key (the HTTP endpoint measured
 * the JSON to enforce its size limit): the encoder uses it instead of serialising `data` again.
 */
export const DATA_JSON: unique symbol = Symbol('sluice.dataJson');

/** What one publish carries. */
export interface OutgoingMessage<T = unknown> {
  /** Any JSON-serialisable value. */
  readonly data: T;
  /** Optional key (routing and ordering in partitioned topics), 1–256 characters. */
  readonly key?: string | undefined;
  /** Optional idempotency key, 1–256 characters: within its window the same key publishes once. */
  readonly idempotencyKey?: string | undefined;
  /** Optional W3C `traceparent` of the publishing request, carried to the handler. */
  readonly traceparent?: string | undefined;
  /**
   * Optional delay, in ms from the write (measured by Redis's clock): the message stays out of the
   * stream, invisible to every group, until then. An integer from 0 to the publisher's `maxDelayMs`;
   * 0 publishes at once. Not with `deliverAt`.
   */
  readonly delayMs?: number | undefined;
  /**
   * Optional delivery time, in ms since the epoch (compared with Redis's clock): the message stays
   * out of the stream until then; a time already past publishes at once. An integer, at most the
   * publisher's `maxDelayMs` ahead of the publisher's clock. Not with `delayMs`.
   */
  readonly deliverAt?: number | undefined;
  /** `JSON.stringify(data)`, when the caller already has it. */
  readonly [DATA_JSON]?: string;
}

export const MAX_KEY_LENGTH = 256;

/** A lone UTF-16 surrogate: it has no UTF-8 form, so Redis would store U+FFFD and distinct keys would collide. */
export const LONE_SURROGATE = /\p{Cs}/u;

/** What a value is, for an error message: never the value itself (it may be huge or deeply nested). */
function kindOf(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Validates a `key` or `idempotencyKey`: a string of 1 to 256 characters, valid Unicode. Throws an
 * {@link InvalidMessageError} naming the field (prefixed by `where`), never echoing the value.
 */
export function checkKey(value: unknown, name: 'key' | 'idempotencyKey', where = ''): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new InvalidMessageError(
      `${where}\`${name}\` must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${kindOf(value)}`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidMessageError(`${where}\`${name}\` is not valid Unicode: it holds a lone surrogate`);
  }
  return value;
}

/** The stream fields of an outgoing message, validated. `where` prefixes error messages (e.g. `messages[3]: `). */
export function encodeMessage(message: OutgoingMessage, where = ''): string[] {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidMessageError(`${where}expected a message object with \`data\`, got ${kindOf(message)}`);
  }
  if (!Object.hasOwn(message, 'data')) throw new InvalidMessageError(`${where}\`data\` is missing`);
  checkKey(message.key, 'key', where);
  checkKey(message.idempotencyKey, 'idempotencyKey', where);
  let json: string | undefined = message[DATA_JSON];
  try {
    json ??= JSON.stringify(message.data);
  } catch (error) {
    throw new InvalidMessageError(
      `${where}\`data\` cannot be serialised as JSON: ${(error as Error).message}`,
    );
  }
  if (json === undefined) {
    throw new InvalidMessageError(`${where}\`data\` must be a JSON value, got ${typeof message.data}`);
  }
  const fields = [FORMAT_FIELD, FORMAT_VERSION, DATA_FIELD, json];
  if (message.key !== undefined) fields.push(KEY_FIELD, message.key);
  if (message.traceparent !== undefined) {
    if (!isTraceparent(message.traceparent)) {
      throw new InvalidMessageError(
        `${where}\`traceparent\` is not a W3C traceparent, got ${kindOf(message.traceparent)}`,
      );
    }
    fields.push(TRACEPARENT_FIELD, message.traceparent);
  }
  return fields;
}

/**
 * When a message is to be delivered: after `delayMs` (from Redis's clock at the write), at
 * `deliverAt` (ms since the epoch), or undefined for at once.
 */
export type Delivery = { readonly delayMs: number } | { readonly deliverAt: number } | undefined;

/**
 * Validates a message's `delayMs` / `deliverAt` against `maxDelayMs` (a `deliverAt` against
 * `nowMs + maxDelayMs`, the publisher's clock) and says when it is to be delivered. Throws an
 * {@link InvalidMessageError} naming the field and the limit, prefixed by `where`.
 */
export function deliveryOf(
  message: OutgoingMessage,
  maxDelayMs: number,
  nowMs: number,
  where = '',
): Delivery {
  const { delayMs, deliverAt } = message;
  if (delayMs !== undefined && deliverAt !== undefined) {
    throw new InvalidMessageError(`${where}give \`delayMs\` or \`deliverAt\`, not both`);
  }
  if (delayMs !== undefined) {
    if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > maxDelayMs) {
      throw new InvalidMessageError(
        `${where}\`delayMs\` must be an integer from 0 to ${maxDelayMs} (maxDelayMs), got ${describeGot(delayMs)}`,
      );
    }
    return delayMs === 0 ? undefined : { delayMs };
  }
  if (deliverAt === undefined) return undefined;
  if (typeof deliverAt !== 'number' || !Number.isSafeInteger(deliverAt) || deliverAt < 0) {
    throw new InvalidMessageError(
      `${where}\`deliverAt\` must be an integer number of ms since the epoch, got ${describeGot(deliverAt)}`,
    );
  }
  if (deliverAt - nowMs > maxDelayMs) {
    throw new InvalidMessageError(
      `${where}\`deliverAt\` is ${deliverAt - nowMs} ms from now; the limit is ${maxDelayMs} (maxDelayMs)`,
    );
  }
  return { deliverAt };
}

/** The value of `name` in a flat field list (the last one, as Redis keeps them), or undefined. */
function fieldValue(fields: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) value = fields[i + 1];
  return value;
}

/**
 * A message as the handler sees it. Only what a handler reads is computed, once: the payload is
 * parsed on first access to `data`, the field map built on first access to `fields`. Spreading it
 * copies only `id`, `stream`, `format` and `deliveries`; use `toJSON()` for a plain copy.
 */
class StreamMessage<T> implements Message<T> {
  readonly format: 'sluice' | 'foreign';
  #fieldMap: Record<string, string> | undefined;
  #data: { readonly value: T } | undefined;

  constructor(
    readonly stream: string,
    readonly id: string,
    private readonly raw: readonly string[],
    readonly deliveries: number,
  ) {
    this.format =
      fieldValue(raw, FORMAT_FIELD) === FORMAT_VERSION && fieldValue(raw, DATA_FIELD) !== undefined
        ? 'sluice'
        : 'foreign';
  }

  get data(): T {
    if (this.format === 'foreign') return undefined as T;
    if (this.#data === undefined) {
      try {
        this.#data = { value: JSON.parse(fieldValue(this.raw, DATA_FIELD) as string) as T };
      } catch {
        // Marked as sluice's but not JSON: no retry can fix that.
        throw new PermanentError(
          `message ${this.id} is marked as sluice's but its \`data\` is not valid JSON`,
        );
      }
    }
    return this.#data.value;
  }

  get key(): string | undefined {
    return this.format === 'sluice' ? fieldValue(this.raw, KEY_FIELD) : undefined;
  }

  get traceparent(): string | undefined {
    return this.format === 'sluice' ? fieldValue(this.raw, TRACEPARENT_FIELD) : undefined;
  }

  get publishedAt(): number {
    return idTime(this.id);
  }

  get fields(): Readonly<Record<string, string>> {
    this.#fieldMap ??= fieldsToRecord(this.raw);
    return this.#fieldMap;
  }

  toJSON(): Message<T> {
    const { id, stream, format, data, key, traceparent, publishedAt, deliveries, fields } = this;
    return { id, stream, format, data, key, traceparent, publishedAt, deliveries, fields: { ...fields } };
  }
}

/** The message a handler receives for a stream entry with its delivery count. */
export function decodeMessage(stream: string, entry: RawEntry, deliveries: number): Message {
  return new StreamMessage(stream, entry.id, entry.fields ?? [], deliveries);
}
