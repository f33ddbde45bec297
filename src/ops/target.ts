/**
 * What every operation shares: its defaults, the target it works on (a topic, one partition of a
 * partitioned topic, or a stream key used as it is) and the group name check.
 */
import type { Driver } from '../core/driver.js';
import { InvalidOptionError } from '../core/errors.js';
import { isTopicName, type StreamKeys, streamKeys, TOPIC_PATTERN } from '../core/keys.js';
import { topicLayout } from '../core/partitions.js';
import { checkInteger, describeGot } from '../core/validate.js';

/**
 * A topic name, `{ topic }` — with `partition` for one partition of a partitioned topic — or
 * `{ stream }` for a stream key used as it is.
 */
export type OpsTarget =
  | string
  | { readonly topic: string; readonly partition?: number | undefined }
  | { readonly stream: string };

export const OPS_DEFAULTS = Object.freeze({
  /** Dead letters per page of `listDeadLetters`. */
  listCount: 100,
  /** Dead letters per redrive script call. */
  redriveBatchSize: 100,
  /**
   * Where Redis cannot tell a lag (or a replay's size) itself, entries are counted up to this many;
   * past it the figure is unknown (`lag: null`) or a lower bound (`exact: false`).
   */
  countLimit: 10_000,
  /** Entries per read of `tail`. */
  tailBatchSize: 100,
  /** Longest blocking read of `tail` (drivers that can block): also how long an abort may take to be noticed. */
  tailBlockMs: 1_000,
  /** Longest wait between two polls of `tail` on drivers that cannot block (from 50 ms, doubling). */
  tailMaxPollDelayMs: 1_000,
});

/** The keys of a target's stream, without asking Redis (a partitioned topic's partitions need {@link targetKeys}). */
export function keysOf(target: OpsTarget): StreamKeys {
  if (typeof target === 'string') return streamKeys({ topic: target });
  return streamKeys('stream' in target ? { stream: target.stream } : { topic: target.topic });
}

/** The topic a target names, or null for a stream key used as it is. */
export function topicOf(target: OpsTarget): string | null {
  if (typeof target === 'string') return target;
  return 'topic' in target ? target.topic : null;
}

/**
 * The keys of the stream an operation works on. A partitioned topic's operations work on one
 * partition at a time: `partition` must name it (and must not be given for a plain topic, but 0).
 */
export async function targetKeys(driver: Driver, target: OpsTarget): Promise<StreamKeys> {
  const plain = keysOf(target); // validates the name before anything is sent
  const topic = topicOf(target);
  if (topic === null) return plain;
  const partition = typeof target === 'object' && 'topic' in target ? target.partition : undefined;
  const layout = await topicLayout(driver, topic);
  if (partition === undefined) {
    if (layout.partitions === 1) return plain;
    throw new InvalidOptionError(
      'partition',
      `topic ${JSON.stringify(topic)} has ${layout.partitions} partitions: name one (\`partition\`, 0 to ${layout.partitions - 1})`,
    );
  }
  const problem = checkInteger('partition', partition, 0, layout.partitions - 1);
  if (problem)
    throw new InvalidOptionError(
      'partition',
      `${problem} (topic ${JSON.stringify(topic)} has ${layout.partitions})`,
    );
  return layout.keys(partition);
}

export function checkGroup(group: unknown): asserts group is string {
  if (!isTopicName(group)) {
    throw new InvalidOptionError(
      'group',
      `Expected \`group\` to match ${TOPIC_PATTERN}, got ${describeGot(group)}`,
    );
  }
}
