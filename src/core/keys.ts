/**
 * How topics map to Redis keys.
 *
 * A topic `orders` lives in the stream `sluice:{orders}`. The braces are a Redis Cluster hash tag:
 * every key that belongs to the topic (its stream, its dead letters, its idempotency keys) hashes
 * the same text, so they share one slot and multi-key scripts stay legal on a cluster.
 *
 * | key | holds |
 * |---|---|
 * | `sluice:{orders}` | the stream |
 * | `sluice:{orders}:dlq:<group>` | dead letters of one consumer group |
 * | `sluice:{orders}:idem:<idempotency key>` | the id first published under that key (expires) |
 * | `sluice:{orders}:idem-batch:<i>:<batch key>` | the id of message i of a batch published under one key (expires) |
 * | `sluice:{orders}:done:<group>:<message id>` | a message an `idempotent()` handler finished (expires) |
 * | `sluice:{orders}:lease:<group>` | which drain holds the stream for a group in ordered mode (expires) |
 * | `sluice:{orders}:retry:<group>` | when each message a group's handler failed is due again (sorted set: due ms → id) |
 * | `sluice:{orders}:scheduled` | delayed messages not yet due (sorted set: deliver-at ms → schedule id) |
 * | `sluice:{orders}:scheduled:msgs` | the fields of each delayed message (hash: schedule id → fields as JSON) |
 * | `sluice:{orders}:drains:<group>` | drains running or being started for a group (sorted set: drain id → expiry ms) |
 * | `sluice:{orders}:history:<group>` | the group's drains per minute over the last day (hash: minute mod 1440 → counts; `consume/history.ts`) |
 * | `sluice:{orders}:reports:<group>` | the group's last drain reports (list, newest first, capped) |
 * | `sluice:{orders}:rate:<group>` | a group's rate limit: its token bucket and last second's count (hash; expires an hour after the last read) |
 * | `sluice:{orders}:partitions` | the topic's partition count (`partitions.ts`) |
 *
 * A foreign stream key (written by someone else's XADD) is used as it is; its companion keys
 * borrow its hash tag, or the whole key when it has none, so they still land in its slot.
 */
import { InvalidOptionError } from './errors.js';

/** What a topic name may be. */
export const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

export const KEY_PREFIX = 'sluice';

export interface StreamKeys {
  /** The stream's key. */
  readonly stream: string;
  /** The dead-letter stream of one consumer group. */
  deadLetters(group: string): string;
  /** The key that remembers an idempotency key's first message id. */
  idempotency(idempotencyKey: string): string;
  /**
   * The key that remembers the id of message `index` of a batch published under one key: a
   * namespace of its own, so that no message's own idempotency key can ever meet it.
   */
  batchIdempotency(batchKey: string, index: number): string;
  /** The key that marks a message as processed by a group (`idempotent()` handlers). */
  processed(group: string, messageId: string): string;
  /** The lease of an ordered drain on the stream for a group. */
  lease(group: string): string;
  /** A group's retry schedule: a sorted set of the pending entries its handlers failed, scored by when each is due. */
  retrySchedule(group: string): string;
  /** Delayed messages not yet due: a sorted set of schedule ids scored by their delivery time (ms). */
  readonly scheduled: string;
  /** The fields of each delayed message: a hash of schedule id → the entry's fields as a JSON array. */
  readonly scheduledMessages: string;
  /**
   * The drains of a group on this stream, running or woken and starting (event-driven mode): a
   * sorted set of drain ids scored by when each expires unless renewed.
   */
  drains(group: string): string;
  /**
   * A group's drain history: a hash of per-minute buckets (field: the minute mod 1440, value: that
   * minute's counts), a ring over the last 24 hours.
   */
  history(group: string): string;
  /** A group's last drain reports: a list, newest first, capped. */
  reports(group: string): string;
  /** A group's rate limit (`rateLimit`): a hash holding its token bucket, shared by all its drains. */
  rate(group: string): string;
}

export function isTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && TOPIC_PATTERN.test(topic);
}

/** The text Redis Cluster hashes for `key`: the content of its first non-empty `{…}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** The keys of a topic (`topic`) or of a foreign stream used as it is (`stream`). */
export function streamKeys(target: { topic: string } | { stream: string }): StreamKeys {
  let stream: string;
  if ('topic' in target) {
    if (!isTopicName(target.topic)) {
      throw new InvalidOptionError(
        'topic',
        `Expected \`topic\` to match ${TOPIC_PATTERN}, got ${JSON.stringify(target.topic)}`,
      );
    }
    stream = `${KEY_PREFIX}:{${target.topic}}`;
  } else {
    if (typeof target.stream !== 'string' || target.stream.length === 0) {
      throw new InvalidOptionError(
        'stream',
        `Expected \`stream\` to be a non-empty string, got ${JSON.stringify(target.stream)}`,
      );
    }
    stream = target.stream;
  }
  const companion = `${KEY_PREFIX}:{${hashTagOf(stream)}}`;
  return {
    stream,
    deadLetters: (group) => `${companion}:dlq:${group}`,
    idempotency: (idempotencyKey) => `${companion}:idem:${idempotencyKey}`,
    batchIdempotency: (batchKey, index) => `${companion}:idem-batch:${index}:${batchKey}`,
    processed: (group, messageId) => `${companion}:done:${group}:${messageId}`,
    lease: (group) => `${companion}:lease:${group}`,
    retrySchedule: (group) => `${companion}:retry:${group}`,
    scheduled: `${companion}:scheduled`,
    scheduledMessages: `${companion}:scheduled:msgs`,
    drains: (group) => `${companion}:drains:${group}`,
    history: (group) => `${companion}:history:${group}`,
    reports: (group) => `${companion}:reports:${group}`,
    rate: (group) => `${companion}:rate:${group}`,
  };
}
