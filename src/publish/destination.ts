/**
 * Where published messages go and how they are written there: the destination a target names (one
 * stream or a topic's partitions), the groups made ready before a first write, the partition of a
 * message, the publish script call (all or nothing per stream) and the wait for replicas.
 */

import { randomBytes } from 'node:crypto';
import type { Driver } from '../core/driver.js';
import { runScript } from '../core/driver.js';
import type { Delivery } from '../core/envelope.js';
import { describeError, InvalidOptionError, ReplicationError, SluiceError } from '../core/errors.js';
import { ensureGroups, warnSkipped } from '../core/group.js';
import { type StreamKeys, streamKeys } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { partitionForKey, publishLayout } from '../core/partitions.js';
import { parseString } from '../core/replies.js';
import { PUBLISH } from '../core/scripts.js';
import { type Waker, wakeWithin } from '../core/waker.js';
import type { PublishResult, PublishTarget, ResolvedPublishOptions } from './options.js';

/** Where messages go: one stream (a plain topic, or a stream used as it is) or a topic's partitions. */
export interface Destination {
  readonly partitions: number;
  /** The groups that must exist on a stream before anything is written to it. */
  readonly groups: readonly string[];
  keys(partition: number): StreamKeys;
  /** The topic, or `undefined` for a stream used as it is. */
  readonly topic?: string | undefined;
}

export async function destinationOf(
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
  return { ...(await publishLayout(driver, topic, o.partitions, o.groups)), topic };
}

/**
 * Makes sure the destination's groups exist on `stream` before a first write there (remembered per
 * driver: nothing is sent once they are known to exist).
 */
export async function groupsReady(
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
export interface Item {
  readonly fields: string[];
  /** The key of its idempotency record, given the keys of the stream it goes to (none: no record). */
  readonly dedupe: ((keys: StreamKeys) => string) | undefined;
  /** What picks its partition: its key, else what names its idempotency record. */
  readonly route: string | undefined;
  /** When it is due, if it is delayed. */
  readonly delivery: Delivery;
}

/**
 * The partition of a message: its key's, else its idempotency key's (a retry must meet the first
 * attempt's record), else the next in a round-robin that starts at a random partition.
 */
export function partitionOf(route: string | undefined, destination: Destination, stream: string): number {
  if (destination.partitions === 1) return 0;
  if (route !== undefined) return partitionForKey(route, destination.partitions);
  const turn = nextKeyless.get(stream) ?? Math.floor(Math.random() * destination.partitions);
  nextKeyless.set(stream, turn + 1);
  return turn % destination.partitions;
}

/** Waits for the replicas asked for, after a write to `stream`. */
export async function replicated(driver: Driver, stream: string, o: ResolvedPublishOptions): Promise<void> {
  if (o.replicas === 0 || driver.waitForReplicas === undefined) return;
  const acknowledged = Number(await driver.waitForReplicas(stream, o.replicas, o.replicaTimeoutMs));
  if (!(acknowledged >= o.replicas)) throw new ReplicationError(o.replicas, acknowledged, o.replicaTimeoutMs);
}

/** The script's schedule argument of an item: '' (at once), '+<delayMs>:<token>' or '@<deliverAt>:<token>'. */
function scheduleArg(delivery: Delivery): string {
  if (delivery === undefined) return '';
  // The schedule id's random part: 72 bits, so that two messages due the same millisecond never meet.
  const token = randomBytes(9).toString('base64url');
  return 'delayMs' in delivery ? `+${delivery.delayMs}:${token}` : `@${delivery.deliverAt}:${token}`;
}

/** A schedule id (`s-<deliverAt>-<random>`) says when its message is due. */
const SCHEDULE_ID = /^s-(\d+)-/;

/** One message's result from the script's id (a stream id, or a schedule id) and duplicate flag. */
function resultOf(id: string, duplicate: boolean): PublishResult {
  const scheduled = SCHEDULE_ID.exec(id);
  if (scheduled === null) return { id, duplicate };
  return { id, duplicate, scheduled: true, deliverAt: Number(scheduled[1]) };
}

/**
 * Writes items to one stream in one script call (all or nothing); results in their order. A
 * delayed item goes to the stream's scheduled set instead (or to the stream, when already due).
 * With `wake`, the same script decides which groups' drains to wake, and they are woken.
 */
export async function runBatch(
  driver: Driver,
  keys: StreamKeys,
  items: readonly Item[],
  o: Pick<ResolvedPublishOptions, 'windowMs' | 'wake' | 'logger'>,
  place: {
    readonly topic?: string | undefined;
    readonly partition?: number | undefined;
    /** The groups declared for the destination: only those are woken. */
    readonly groups?: readonly string[];
  } = {},
): Promise<PublishResult[]> {
  const scriptKeys = [keys.stream, keys.scheduled, keys.scheduledMessages];
  const args: (string | number)[] = [o.windowMs, items.length];
  for (const item of items) {
    let keyIndex = 0;
    if (item.dedupe !== undefined) {
      scriptKeys.push(item.dedupe(keys));
      keyIndex = scriptKeys.length;
    }
    const schedule = scheduleArg(item.delivery);
    if (schedule === '') args.push(keyIndex, schedule, item.fields.length, ...item.fields);
    else args.push(keyIndex, schedule, 1, JSON.stringify(item.fields));
  }
  // Unless named, the groups woken are those declared for the destination: an undeclared group
  // would be created by the woken drain at `$`, past what this publish wrote.
  // A drain is woken for a topic (a stream used as it is has no drain route to name it).
  const wake =
    o.wake === undefined || place.topic === undefined
      ? undefined
      : { ...o.wake, groups: o.wake.groups ?? place.groups ?? [] };
  if (wake !== undefined) {
    args.push(wake.wakeMs, scriptKeys.length + 1);
    for (const group of wake.groups) {
      scriptKeys.push(keys.drains(group));
      args.push(`w-${randomBytes(9).toString('base64url')}`);
    }
  }
  const reply = await runScript(driver, PUBLISH, scriptKeys, args);
  const expected = items.length * 2 + (wake === undefined ? 0 : 1);
  if (!Array.isArray(reply) || reply.length !== expected) {
    throw new SluiceError(`Unexpected publish reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const results: PublishResult[] = [];
  for (let i = 0; i < items.length * 2; i += 2) {
    results.push(resultOf(parseString(reply[i], 'publish id'), Number(reply[i + 1]) === 1));
  }
  if (wake !== undefined)
    await wakeDrains(keys, wake, reply.at(-1), { ...place, topic: place.topic as string }, o.logger);
  return results;
}

/** Wakes the drains the publish script chose; a failure is logged, never thrown. */
async function wakeDrains(
  keys: StreamKeys,
  wake: { readonly waker: Waker; readonly groups: readonly string[] },
  chosen: unknown,
  { topic, partition }: { readonly topic: string; readonly partition?: number | undefined },
  logger: Pick<Logger, 'warn'> | undefined,
): Promise<void> {
  const ids = Array.isArray(chosen) ? chosen.map(String) : [];
  await Promise.all(
    wake.groups.map(async (group, i) => {
      const drainId = ids[i];
      if (!drainId) return;
      try {
        await wakeWithin(wake.waker, {
          topic,
          stream: keys.stream,
          group,
          ...(partition === undefined ? {} : { partition }),
          drainId,
          reason: 'publish',
        });
      } catch (error) {
        (logger ?? jsonLogger()).warn('could not wake a drain; the schedule will pick the messages up', {
          stream: keys.stream,
          group,
          waker: wake.waker.name,
          error: describeError(error),
        });
      }
    }),
  );
}
