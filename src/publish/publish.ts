/**
 * Publishing one message: one XADD, or one script call when it carries an idempotency key or a
 * delay. On a partitioned topic it goes to its key's partition. Batches are in `batch.ts`.
 */

import type { Driver } from '../core/driver.js';
import { deliveryOf, encodeMessage, type OutgoingMessage } from '../core/envelope.js';
import type { StreamKeys } from '../core/keys.js';
import { parseString } from '../core/replies.js';
import { checkPublished, dataPath } from '../core/schema.js';
import { activeTelemetry } from '../core/telemetry.js';
import { destinationOf, groupsReady, type Item, partitionOf, replicated, runBatch } from './destination.js';
import {
  type PublishOptions,
  type PublishResult,
  type PublishTarget,
  resolvePublishOptions,
} from './options.js';
import { tracePublish } from './telemetry.js';

/**
 * Publishes one message.
 *
 * @example
 * ```ts
 * const { id } = await publish(driver, 'orders', { data: { orderId: 42 }, key: 'customer-7', idempotencyKey: 'order-42' });
 * // Delivered in an hour: { id: 's-<deliverAt>-<random>', scheduled: true, deliverAt, duplicate: false }
 * await publish(driver, 'reminders', { data: { orderId: 42 }, delayMs: 3_600_000 });
 * // Validated first (any Standard Schema): a MessageSchemaError with the issues, nothing written
 * await publish(driver, 'orders', { data: order }, { schema: OrderSchema });
 * ```
 */
export async function publish<T>(
  driver: Driver,
  target: PublishTarget,
  message: OutgoingMessage<NoInfer<T>>,
  options?: PublishOptions<T>,
): Promise<PublishResult> {
  const otel = await activeTelemetry();
  if (otel === undefined) return publishOne(driver, target, message, options);
  const [result] = await tracePublish(otel, target, [message], async ([traced]) => [
    await publishOne(driver, target, traced as OutgoingMessage<T>, options),
  ]);
  return result as PublishResult;
}

async function publishOne<T>(
  driver: Driver,
  target: PublishTarget,
  message: OutgoingMessage<T>,
  options: PublishOptions<T> | undefined,
): Promise<PublishResult> {
  const o = resolvePublishOptions(driver, options);
  const fields = encodeMessage(message);
  const delivery = deliveryOf(message, o.maxDelayMs, Date.now());
  if (o.schema !== undefined) await checkPublished(o.schema, [message], dataPath(false));
  const own = message.idempotencyKey;
  const destination = await destinationOf(driver, target, o);
  const partition = partitionOf(message.key ?? own, destination, destination.keys(0).stream);
  const keys = destination.keys(partition);
  await groupsReady(driver, destination, keys.stream, o);
  let result: PublishResult;
  if (own === undefined && delivery === undefined && o.wake === undefined) {
    result = { id: parseString(await driver.add(keys.stream, fields), 'XADD'), duplicate: false };
  } else {
    const dedupe = own === undefined ? undefined : (k: StreamKeys) => k.idempotency(own);
    const item: Item = { fields, dedupe, route: undefined, delivery };
    [result] = (await runBatch(driver, keys, [item], o, {
      topic: destination.topic,
      groups: destination.groups,
      partition: destination.partitions === 1 ? undefined : partition,
    })) as [PublishResult];
  }
  await replicated(driver, keys.stream, o);
  return destination.partitions === 1 ? result : { ...result, partition };
}
