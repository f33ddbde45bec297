/**
 * Publishing a batch: one script call per stream it touches (one round trip, all or nothing). On a
 * partitioned topic the messages are grouped by partition and the calls are sent side by side: all
 * or nothing per partition.
 */

import type { Driver } from '../core/driver.js';
import { checkKey, deliveryOf, encodeMessage, type OutgoingMessage } from '../core/envelope.js';
import { InvalidMessageError } from '../core/errors.js';
import type { StreamKeys } from '../core/keys.js';
import { checkPublished, dataPath } from '../core/schema.js';
import { activeTelemetry } from '../core/telemetry.js';
import {
  type Destination,
  destinationOf,
  groupsReady,
  type Item,
  partitionOf,
  replicated,
  runBatch,
} from './destination.js';
import {
  type PublishOptions,
  type PublishResult,
  type PublishTarget,
  resolvePublishOptions,
} from './options.js';
import { tracePublish } from './telemetry.js';

/** The largest batch one call accepts. */
export const MAX_BATCH_MESSAGES = 10_000;

export interface PublishBatchOptions<T = unknown> extends PublishOptions<T> {
  /**
   * One idempotency key for the whole batch (an HTTP `Idempotency-Key` header): publishing the
   * same batch again under it within the window writes nothing twice. Message i's record is kept
   * under (this key, i), in a namespace of its own: no message's own `idempotencyKey` can meet it.
   * A message with its own `idempotencyKey` keeps that one.
   * @default undefined
   */
  readonly idempotencyKey?: string | undefined;
}

/**
 * Publishes a batch in one round trip, atomically: either every message is written (or found to be
 * a duplicate) or none is. Results are in the order of `messages`. Two messages of one batch may
 * not share an idempotency key. On a partitioned topic: one round trip per partition touched, side
 * by side, each atomic — when one fails the others may have been written, and publishing the batch
 * again with idempotency keys writes nothing twice.
 *
 * @example
 * ```ts
 * const results = await publishBatch(driver, 'orders', orders.map((o) => ({ data: o, key: o.customerId })));
 * ```
 */
export async function publishBatch<T = unknown>(
  driver: Driver,
  target: PublishTarget,
  messages: readonly OutgoingMessage<NoInfer<T>>[],
  options?: PublishBatchOptions<T>,
): Promise<PublishResult[]> {
  const otel = await activeTelemetry();
  if (otel === undefined) return publishAll(driver, target, messages, options);
  return tracePublish(otel, target, messages, (traced) => publishAll(driver, target, traced, options));
}

async function publishAll<T>(
  driver: Driver,
  target: PublishTarget,
  messages: readonly OutgoingMessage<T>[],
  options: PublishBatchOptions<T> | undefined,
): Promise<PublishResult[]> {
  const o = resolvePublishOptions(driver, options);
  const items = batchItems(messages, options?.idempotencyKey, o.maxDelayMs);
  // Every message is checked before the first is written: one invalid message writes none.
  if (o.schema !== undefined) await checkPublished(o.schema, messages, dataPath(true));
  const destination = await destinationOf(driver, target, o);
  const results: PublishResult[] = new Array(items.length);
  await Promise.all(
    [...byPartition(items, destination)].map(async ([partition, indexes]) => {
      const keys = destination.keys(partition);
      await groupsReady(driver, destination, keys.stream, o);
      const written = await runBatch(
        driver,
        keys,
        indexes.map((i) => items[i] as Item),
        o,
        {
          topic: destination.topic,
          groups: destination.groups,
          partition: destination.partitions === 1 ? undefined : partition,
        },
      );
      indexes.forEach((i, j) => {
        const result = written[j] as PublishResult;
        results[i] = destination.partitions === 1 ? result : { ...result, partition };
      });
      await replicated(driver, keys.stream, o);
    }),
  );
  return results;
}

/** Checks a batch, its idempotency keys (none twice) and delays, and makes its items. */
function batchItems(
  messages: readonly OutgoingMessage[],
  batchKey: string | undefined,
  maxDelayMs: number,
): Item[] {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH_MESSAGES) {
    throw new InvalidMessageError(
      `Expected a batch of 1 to ${MAX_BATCH_MESSAGES} messages, got ${Array.isArray(messages) ? messages.length : typeof messages}`,
    );
  }
  if (batchKey !== undefined) checkKey(batchKey, 'idempotencyKey', 'the batch: ');
  const seen = new Map<string, number>();
  const nowMs = Date.now();
  return messages.map((message, i) => {
    const fields = encodeMessage(message, `messages[${i}]: `);
    const delivery = deliveryOf(message, maxDelayMs, nowMs, `messages[${i}]: `);
    const own = message.idempotencyKey;
    if (own !== undefined) {
      const first = seen.get(own);
      if (first !== undefined) {
        throw new InvalidMessageError(
          `messages[${i}]: \`idempotencyKey\` repeats that of messages[${first}]; one batch cannot hold two messages under one key (the second would be dropped as a duplicate)`,
        );
      }
      seen.set(own, i);
      return { fields, dedupe: (k: StreamKeys) => k.idempotency(own), route: message.key ?? own, delivery };
    }
    if (batchKey === undefined) return { fields, dedupe: undefined, route: message.key, delivery };
    return {
      fields,
      dedupe: (k: StreamKeys) => k.batchIdempotency(batchKey, i),
      route: message.key ?? `${batchKey}:${i}`,
      delivery,
    };
  });
}

/**
 * The indexes of a batch's items per partition. Items routed by nothing stay together: one
 * partition (the next in turn) for all of them.
 */
function byPartition(items: readonly Item[], destination: Destination): Map<number, number[]> {
  const stream = destination.keys(0).stream;
  let unrouted: number | undefined;
  const partitions = new Map<number, number[]>();
  items.forEach((item, i) => {
    let partition: number;
    if (item.route !== undefined) partition = partitionOf(item.route, destination, stream);
    else {
      unrouted ??= partitionOf(undefined, destination, stream);
      partition = unrouted;
    }
    const indexes = partitions.get(partition);
    if (indexes) indexes.push(i);
    else partitions.set(partition, [i]);
  });
  return partitions;
}
