/**
 * Publishing: one message (one XADD) or a batch (one script call: one round trip, all or nothing).
 * On a partitioned topic a message goes to its key's partition, and a batch is one script call per
 * partition it touches, sent side by side: all or nothing per partition.
 */

import { checkGroupNames } from '../core/declare.js';
import type { Driver } from '../core/driver.js';
import { runScript } from '../core/driver.js';
import { checkKey, encodeMessage, type OutgoingMessage } from '../core/envelope.js';
import { InvalidMessageError, InvalidOptionError, ReplicationError, SluiceError } from '../core/errors.js';
import { ensureGroups, warnSkipped } from '../core/group.js';
import { type StreamKeys, streamKeys } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { checkPartitionCount, partitionForKey, publishLayout } from '../core/partitions.js';
import { parseString } from '../core/replies.js';
import { PUBLISH } from '../core/scripts.js';
import { checkInteger } from '../core/validate.js';

/** Where to publish: a topic name, or `{ stream }` for a stream key used as it is. */
export type PublishTarget = string | { readonly topic: string } | { readonly stream: string };

export interface PublishOptions {
  /**
   * How long an idempotency key is remembered: the same key within this window returns the first
   * message's id and writes nothing.
   * @default 86400000 (24 hours)
   */
  readonly idempotencyWindowMs?: number;
  /**
   * The partition count the topic must have (recorded in Redis on first use when it has none; a
   * different recorded count is a `PartitionCountError`). Unset: whatever is recorded, or 1.
   * @default undefined
   */
  readonly partitions?: number | undefined;
  /**
   * Replicated writes (Kafka's `acks=all`): after writing, wait until this many replicas of the
   * master acknowledged the write (Redis `WAIT`), or fail with a `ReplicationError`. 0: answer as
   * soon as the master has it — a master that fails before replicating it loses it.
   * @default 0
   */
  readonly replicas?: number;
  /**
   * Longest wait for `replicas`.
   * @default 1000
   */
  readonly replicaTimeoutMs?: number;
  /**
   * Consumer groups this publisher declares for the topic (see `declareTopic`): recorded, and
   * created on a stream before the first message is written there, so that none misses a message
   * published before its first drain. Groups declared earlier (`sluice topic create -g`) are
   * created too. Once per driver (warm container): later publishes cost nothing more.
   * @default []
   */
  readonly groups?: readonly string[];
  /**
   * Where a warning goes when a group created here skipped entries the stream already held.
   * @default jsonLogger()
   */
  readonly logger?: Pick<Logger, 'warn'>;
}

export interface PublishResult {
  /** The stream entry id of the message. */
  readonly id: string;
  /** True when the idempotency key was seen inside its window: nothing was written, `id` is the first message's. */
  readonly duplicate: boolean;
  /**
   * The partition written, on a partitioned topic only. Entry ids are unique within a partition's
   * stream, not across a topic: the pair (partition, id) names a message.
   */
  readonly partition?: number;
}

export const PUBLISH_DEFAULTS = Object.freeze({
  idempotencyWindowMs: 86_400_000,
  replicas: 0,
  replicaTimeoutMs: 1_000,
});

/** The largest batch one call accepts. */
export const MAX_BATCH_MESSAGES = 10_000;

interface ResolvedPublishOptions {
  readonly windowMs: number;
  readonly partitions: number | undefined;
  readonly replicas: number;
  readonly replicaTimeoutMs: number;
  readonly groups: readonly string[];
  readonly logger: Pick<Logger, 'warn'> | undefined;
}

/** Checks publish options against a driver (an endpoint does it once, at its cold start). */
export function resolvePublishOptions(
  driver: Driver,
  options: PublishOptions | undefined,
): ResolvedPublishOptions {
  const replicas = options?.replicas ?? PUBLISH_DEFAULTS.replicas;
  const replicaTimeoutMs = options?.replicaTimeoutMs ?? PUBLISH_DEFAULTS.replicaTimeoutMs;
  for (const [name, value, max] of [
    ['replicas', replicas, 100],
    ['replicaTimeoutMs', replicaTimeoutMs, 60_000],
  ] as const) {
    const problem = checkInteger(name, value, name === 'replicas' ? 0 : 1, max);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  if (replicas > 0 && driver.waitForReplicas === undefined) {
    throw new InvalidOptionError(
      'replicas',
      `the ${driver.name} driver cannot wait for replicas (Redis WAIT needs the connection that wrote); use a TCP driver (ioredis) or replicas: 0`,
    );
  }
  const partitions =
    options?.partitions === undefined ? undefined : checkPartitionCount('partitions', options.partitions);
  const groups = checkGroupNames('groups', options?.groups ?? []);
  return {
    windowMs: windowOf(options),
    partitions,
    replicas,
    replicaTimeoutMs,
    groups,
    logger: options?.logger,
  };
}

function windowOf(options: PublishOptions | undefined): number {
  const windowMs = options?.idempotencyWindowMs ?? PUBLISH_DEFAULTS.idempotencyWindowMs;
  const problem = checkInteger('idempotencyWindowMs', windowMs, 1);
  if (problem) throw new InvalidOptionError('idempotencyWindowMs', problem);
  return windowMs;
}

/** Where messages go: one stream (a plain topic, or a stream used as it is) or a topic's partitions. */
interface Destination {
  readonly partitions: number;
  /** The groups that must exist on a stream before anything is written to it. */
  readonly groups: readonly string[];
  keys(partition: number): StreamKeys;
}

async function destinationOf(
  driver: Driver,
  target: PublishTarget,
  o: ResolvedPublishOptions,
): Promise<Destination> {
  const topic = typeof target === 'string' ? target : 'topic' in target ? target.topic : undefined;
  if (topic === undefined) {
    if (o.partitions !== undefined)
      throw new InvalidOptionError('partitions', '`partitions` applies to a topic, not to a `stream`');
    const keys = streamKeys(target as { stream: string });
    return { partitions: 1, groups: o.groups, keys: () => keys };
  }
  streamKeys({ topic }); // validates the name before anything is sent
  return publishLayout(driver, topic, o.partitions, o.groups);
}

/**
 * Makes sure the destination's groups exist on `stream` before a first write there (remembered per
 * driver: nothing is sent once they are known to exist).
 */
async function groupsReady(
  driver: Driver,
  destination: Destination,
  stream: string,
  o: ResolvedPublishOptions,
): Promise<void> {
  if (destination.groups.length === 0) return;
  for (const { group, skipped } of await ensureGroups(driver, stream, destination.groups)) {
    if (skipped > 0) warnSkipped(o.logger ?? jsonLogger(), { stream }, group, skipped);
  }
}

const nextKeyless = new Map<string, number>();

/** A message ready to be written: its fields, where its idempotency record lives, what routes it. */
interface Item {
  readonly fields: string[];
  /** The key of its idempotency record, given the keys of the stream it goes to (none: no record). */
  readonly dedupe: ((keys: StreamKeys) => string) | undefined;
  /** What picks its partition: its key, else what names its idempotency record. */
  readonly route: string | undefined;
}

/**
 * The partition of a message: its key's, else its idempotency key's (a retry must meet the first
 * attempt's record), else the next in a round-robin that starts at a random partition.
 */
function partitionOf(route: string | undefined, destination: Destination, stream: string): number {
  if (destination.partitions === 1) return 0;
  if (route !== undefined) return partitionForKey(route, destination.partitions);
  const turn = nextKeyless.get(stream) ?? Math.floor(Math.random() * destination.partitions);
  nextKeyless.set(stream, turn + 1);
  return turn % destination.partitions;
}

/**
 * Publishes one message.
 *
 * @example
 * ```ts
 * const { id } = await publish(driver, 'orders', { data: { orderId: 42 }, key: 'customer-7', idempotencyKey: 'order-42' });
 * ```
 */
export async function publish<T>(
  driver: Driver,
  target: PublishTarget,
  message: OutgoingMessage<T>,
  options?: PublishOptions,
): Promise<PublishResult> {
  const o = resolvePublishOptions(driver, options);
  const fields = encodeMessage(message);
  const own = message.idempotencyKey;
  const destination = await destinationOf(driver, target, o);
  const partition = partitionOf(message.key ?? own, destination, destination.keys(0).stream);
  const keys = destination.keys(partition);
  await groupsReady(driver, destination, keys.stream, o);
  let result: PublishResult;
  if (own === undefined) {
    result = { id: parseString(await driver.add(keys.stream, fields), 'XADD'), duplicate: false };
  } else {
    const item: Item = { fields, dedupe: (k) => k.idempotency(own), route: undefined };
    [result] = (await runBatch(driver, keys, [item], o.windowMs)) as [PublishResult];
  }
  await replicated(driver, keys.stream, o);
  return destination.partitions === 1 ? result : { ...result, partition };
}

export interface PublishBatchOptions extends PublishOptions {
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
export async function publishBatch(
  driver: Driver,
  target: PublishTarget,
  messages: readonly OutgoingMessage[],
  options?: PublishBatchOptions,
): Promise<PublishResult[]> {
  const o = resolvePublishOptions(driver, options);
  const items = batchItems(messages, options?.idempotencyKey);
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
        o.windowMs,
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

/** Checks a batch and its idempotency keys (none twice) and makes its items. */
function batchItems(messages: readonly OutgoingMessage[], batchKey: string | undefined): Item[] {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH_MESSAGES) {
    throw new InvalidMessageError(
      `Expected a batch of 1 to ${MAX_BATCH_MESSAGES} messages, got ${Array.isArray(messages) ? messages.length : typeof messages}`,
    );
  }
  if (batchKey !== undefined) checkKey(batchKey, 'idempotencyKey', 'the batch: ');
  const seen = new Map<string, number>();
  return messages.map((message, i) => {
    const fields = encodeMessage(message, `messages[${i}]: `);
    const own = message.idempotencyKey;
    if (own !== undefined) {
      const first = seen.get(own);
      if (first !== undefined) {
        throw new InvalidMessageError(
          `messages[${i}]: \`idempotencyKey\` repeats that of messages[${first}]; one batch cannot hold two messages under one key (the second would be dropped as a duplicate)`,
        );
      }
      seen.set(own, i);
      return { fields, dedupe: (k: StreamKeys) => k.idempotency(own), route: message.key ?? own };
    }
    if (batchKey === undefined) return { fields, dedupe: undefined, route: message.key };
    return {
      fields,
      dedupe: (k: StreamKeys) => k.batchIdempotency(batchKey, i),
      route: message.key ?? `${batchKey}:${i}`,
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

/** Waits for the replicas asked for, after a write to `stream`. */
async function replicated(driver: Driver, stream: string, o: ResolvedPublishOptions): Promise<void> {
  if (o.replicas === 0 || driver.waitForReplicas === undefined) return;
  const acknowledged = Number(await driver.waitForReplicas(stream, o.replicas, o.replicaTimeoutMs));
  if (!(acknowledged >= o.replicas)) throw new ReplicationError(o.replicas, acknowledged, o.replicaTimeoutMs);
}

async function runBatch(
  driver: Driver,
  keys: StreamKeys,
  items: readonly Item[],
  windowMs: number,
): Promise<PublishResult[]> {
  const scriptKeys = [keys.stream];
  const args: (string | number)[] = [windowMs, items.length];
  for (const item of items) {
    let keyIndex = 0;
    if (item.dedupe !== undefined) {
      scriptKeys.push(item.dedupe(keys));
      keyIndex = scriptKeys.length;
    }
    args.push(keyIndex, item.fields.length, ...item.fields);
  }
  const reply = await runScript(driver, PUBLISH, scriptKeys, args);
  if (!Array.isArray(reply) || reply.length !== items.length * 2) {
    throw new SluiceError(`Unexpected publish reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const results: PublishResult[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    results.push({ id: parseString(reply[i], 'publish id'), duplicate: Number(reply[i + 1]) === 1 });
  }
  return results;
}
