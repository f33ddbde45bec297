/** Publish options: what they mean, their defaults, and their one validation against a driver. */

import { checkGroupNames } from '../core/declare.js';
import type { Driver } from '../core/driver.js';
import { InvalidOptionError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { checkPartitionCount } from '../core/partitions.js';
import { type StandardSchemaV1, schemaOption } from '../core/schema.js';
import { checkInteger } from '../core/validate.js';
import type { Waker } from '../core/waker.js';

export type PublishTarget = string | { readonly topic: string } | { readonly stream: string };

export interface PublishOptions<T = unknown> {
  /**
   * The topic's schema (any Standard Schema: zod, valibot, arktype…): each message's `data` is
   * validated before anything is written; one invalid message refuses the whole publish with a
   * `MessageSchemaError` (an `InvalidMessageError`) listing the issues. What is written is the
   * `data` as given (the schema's input), not its output. Unset: no validation, no cost.
   * @default undefined
   */
  readonly schema?: StandardSchemaV1<T, unknown> | undefined;
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
   * The longest delay a message may ask for (`delayMs`, or `deliverAt` this far ahead of the
   * publisher's clock); past it the publish is refused with an `InvalidMessageError`. 0 refuses
   * every delayed message.
   * @default 604800000 (7 days)
   */
  readonly maxDelayMs?: number;
  /**
   * Where a warning goes when a group created here skipped entries the stream already held.
   * @default jsonLogger()
   */
  readonly logger?: Pick<Logger, 'warn'>;
  /**
   * Event-driven draining: after a write, wake a drain of each of these groups that has none live
   * — decided in Redis in the publish's own script, so that at most one wake per group is in
   * flight — through `waker` (see the `Waker`s of `sluice/aws-lambda`, `sluice/vercel`,
   * `sluice/qstash`). A failed or slow wake never fails the publish (it is logged; the schedule
   * picks the messages up).
   * @default undefined
   */
  readonly wake?: PublishWake | undefined;
}

/** Which drains a publish wakes, and how. */
export interface PublishWake {
  readonly waker: Waker;
  /**
   * The groups whose drains a publish wakes. They should be declared (`groups`, `declareTopic`):
   * a drain woken for a group that does not exist yet creates it at `$`, past what woke it.
   * @default the groups declared for the topic
   */
  readonly groups?: readonly string[] | undefined;
  /** How long a woken drain counts as live before it has started. @default 15000 */
  readonly wakeMs?: number;
}

export interface PublishResult {
  /**
   * The stream entry id of the message; for a delayed message (`scheduled: true`), which has no
   * entry yet, its schedule id (`s-<deliverAt>-<random>`).
   */
  readonly id: string;
  /** True when the idempotency key was seen inside its window: nothing was written, `id` is the first message's. */
  readonly duplicate: boolean;
  /**
   * Present (true) only for a delayed message kept out of the stream until `deliverAt`; a message
   * whose `delayMs` is 0 or whose `deliverAt` is past is written to the stream at once and has
   * neither field.
   */
  readonly scheduled?: true;
  /** When a scheduled message is due (ms since the epoch, by Redis's clock). */
  readonly deliverAt?: number;
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
  maxDelayMs: 604_800_000,
});

export interface ResolvedPublishOptions {
  readonly windowMs: number;
  readonly partitions: number | undefined;
  readonly replicas: number;
  readonly replicaTimeoutMs: number;
  readonly groups: readonly string[];
  readonly maxDelayMs: number;
  readonly logger: Pick<Logger, 'warn'> | undefined;
  readonly wake: ResolvedPublishWake | undefined;
  readonly schema: StandardSchemaV1 | undefined;
}

/** Checks publish options against a driver (an endpoint does it once, at its cold start). */
export function resolvePublishOptions<T>(
  driver: Driver,
  options: PublishOptions<T> | undefined,
): ResolvedPublishOptions {
  const replicas = options?.replicas ?? PUBLISH_DEFAULTS.replicas;
  const replicaTimeoutMs = options?.replicaTimeoutMs ?? PUBLISH_DEFAULTS.replicaTimeoutMs;
  const maxDelayMs = options?.maxDelayMs ?? PUBLISH_DEFAULTS.maxDelayMs;
  for (const [name, value, min, max] of [
    ['replicas', replicas, 0, 100],
    ['replicaTimeoutMs', replicaTimeoutMs, 1, 60_000],
    ['maxDelayMs', maxDelayMs, 0, Number.MAX_SAFE_INTEGER],
  ] as const) {
    const problem = checkInteger(name, value, min, max);
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
    maxDelayMs,
    logger: options?.logger,
    wake: wakeOf(options?.wake),
    schema: schemaOption('schema', options?.schema as StandardSchemaV1 | undefined),
  };
}

export interface ResolvedPublishWake {
  readonly waker: Waker;
  readonly groups: readonly string[] | undefined;
  readonly wakeMs: number;
}

function wakeOf(wake: PublishWake | undefined): ResolvedPublishWake | undefined {
  if (wake === undefined) return undefined;
  if (typeof wake?.waker?.wake !== 'function')
    throw new InvalidOptionError('wake.waker', 'Expected `wake.waker` to be a Waker ({ name, wake() })');
  const groups = wake.groups === undefined ? undefined : checkGroupNames('wake.groups', wake.groups);
  const wakeMs = wake.wakeMs ?? 15_000;
  const problem = checkInteger('wake.wakeMs', wakeMs, 100, 900_000);
  if (problem) throw new InvalidOptionError('wake.wakeMs', problem);
  return { waker: wake.waker, groups, wakeMs };
}

function windowOf<T>(options: PublishOptions<T> | undefined): number {
  const windowMs = options?.idempotencyWindowMs ?? PUBLISH_DEFAULTS.idempotencyWindowMs;
  const problem = checkInteger('idempotencyWindowMs', windowMs, 1);
  if (problem) throw new InvalidOptionError('idempotencyWindowMs', problem);
  return windowMs;
}
