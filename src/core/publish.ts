/**
 * Publishing: one message (one XADD) or a batch (one script call: one round trip, all or nothing).
 */
import type { Driver } from './driver.js';
import { runScript } from './driver.js';
import { encodeMessage, type OutgoingMessage } from './envelope.js';
import { InvalidMessageError, InvalidOptionError, SluiceError } from './errors.js';
import { streamKeys } from './keys.js';
import { parseString } from './replies.js';
import { PUBLISH } from './scripts.js';
import { checkInteger } from './validate.js';

/** Where to publish: a topic name, or `{ stream }` for a stream key used as it is. */
export type PublishTarget = string | { readonly topic: string } | { readonly stream: string };

export interface PublishOptions {
  /**
   * How long an idempotency key is remembered: the same key within this window returns the first
   * message's id and writes nothing.
   * @default 86400000 (24 hours)
   */
  readonly idempotencyWindowMs?: number;
}

export interface PublishResult {
  /** The stream entry id of the message. */
  readonly id: string;
  /** True when the idempotency key was seen inside its window: nothing was written, `id` is the first message's. */
  readonly duplicate: boolean;
}

export const PUBLISH_DEFAULTS = Object.freeze({ idempotencyWindowMs: 86_400_000 });

/** The largest batch one call accepts. */
export const MAX_BATCH_MESSAGES = 10_000;

export function windowOf(options: PublishOptions | undefined): number {
  const windowMs = options?.idempotencyWindowMs ?? PUBLISH_DEFAULTS.idempotencyWindowMs;
  const problem = checkInteger('idempotencyWindowMs', windowMs, 1);
  if (problem) throw new InvalidOptionError('idempotencyWindowMs', problem);
  return windowMs;
}

function keysOf(target: PublishTarget) {
  return streamKeys(typeof target === 'string' ? { topic: target } : target);
}

/**
 * Publishes one message.
 *
 * @example
 * ```ts
 * const { id } = await publish(driver, 'orders', { data: { orderId: 42 }, idempotencyKey: 'order-42' });
 * ```
 */
export async function publish<T>(
  driver: Driver,
  target: PublishTarget,
  message: OutgoingMessage<T>,
  options?: PublishOptions,
): Promise<PublishResult> {
  const keys = keysOf(target);
  const fields = encodeMessage(message);
  if (message.idempotencyKey === undefined) {
    return { id: parseString(await driver.add(keys.stream, fields), 'XADD'), duplicate: false };
  }
  const [result] = await runBatch(driver, keys, [message], [fields], windowOf(options));
  return result as PublishResult;
}

/**
 * Publishes a batch in one round trip, atomically: either every message is written (or found to be
 * a duplicate) or none is. Results are in the order of `messages`.
 *
 * @example
 * ```ts
 * const results = await publishBatch(driver, 'orders', orders.map((o) => ({ data: o, key: o.customerId })));
 * ```
 */
export async function publishBatch(
  driver: Driver,
  target: PublishTarget,
  messages: readonly OutgoingMessage[],
  options?: PublishOptions,
): Promise<PublishResult[]> {
  const keys = keysOf(target);
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH_MESSAGES) {
    throw new InvalidMessageError(
      `Expected a batch of 1 to ${MAX_BATCH_MESSAGES} messages, got ${Array.isArray(messages) ? messages.length : typeof messages}`,
    );
  }
  const fields = messages.map((message, i) => encodeMessage(message, `messages[${i}]: `));
  return runBatch(driver, keys, messages, fields, windowOf(options));
}

async function runBatch(
  driver: Driver,
  keys: ReturnType<typeof streamKeys>,
  messages: readonly OutgoingMessage[],
  fields: readonly string[][],
  windowMs: number,
): Promise<PublishResult[]> {
  const scriptKeys = [keys.stream];
  const args: (string | number)[] = [windowMs, messages.length];
  messages.forEach((message, i) => {
    let keyIndex = 0;
    if (message.idempotencyKey !== undefined) {
      scriptKeys.push(keys.idempotency(message.idempotencyKey));
      keyIndex = scriptKeys.length;
    }
    const own = fields[i] as string[];
    args.push(keyIndex, own.length, ...own);
  });
  const reply = await runScript(driver, PUBLISH, scriptKeys, args);
  if (!Array.isArray(reply) || reply.length !== messages.length * 2) {
    throw new SluiceError(`Unexpected publish reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const results: PublishResult[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    results.push({ id: parseString(reply[i], 'publish id'), duplicate: Number(reply[i + 1]) === 1 });
  }
  return results;
}
