/**
 * Partitioned topics: a topic with P partitions is P streams, spread over Redis Cluster slots.
 *
 * | key | holds |
 * |---|---|
 * | `sluice:{orders}:partitions` | the partition count, recorded once (absent: 1, the plain topic) |
 * | `sluice:{orders#3}` | partition 3's stream (its dead letters, idempotency and lease keys share its tag) |
 * | `sluice:{orders}:groups` | the consumer groups declared for the topic (a set; see `declare.ts`) |
 *
 * Partition i's hash tag is `<topic>#<i>` — or `<topic>#<i>.<n>` for the smallest n that puts its
 * slot near the middle of the i-th P-th of the slot space, so that the partitions of a topic spread
 * evenly over a cluster's masters (which own contiguous slot ranges) instead of wherever CRC16
 * happens to fall.
 * The choice depends only on the topic, i and P: every publisher and drain computes the same keys.
 *
 * A message goes to `fnv1a32(utf8(key)) mod P`: the same key always lands in the same partition,
 * which keeps its messages in order. Without a key, its idempotency key decides (a retry must find
 * the first attempt's record); without either, publishers spread messages round-robin.
 */
import calculateSlot from 'cluster-key-slot';
import { type Driver, runScript } from './driver.js';
import { InvalidOptionError, PartitionCountError, SluiceError } from './errors.js';
import { KEY_PREFIX, type StreamKeys, streamKeys } from './keys.js';
import { parseString } from './replies.js';
import { DECLARE_TOPIC } from './scripts.js';
import { checkInteger } from './validate.js';

/** The most partitions a topic may have. */
export const MAX_PARTITIONS = 1_024;
const SLOTS = 16_384;

/** The layout of a topic every publisher and drain agrees on. */
export interface TopicLayout {
  readonly topic: string;
  /** How many partitions the topic has (1: a plain topic, stream `sluice:{topic}`). */
  readonly partitions: number;
  /** Whether the count is recorded in Redis (false: none is, the topic is plain for now). */
  readonly declared: boolean;
  /** The consumer groups declared for the topic when the layout was read (publishers create them). */
  readonly groups: readonly string[];
  /** The keys of partition `index` (0 ≤ index < partitions). */
  keys(index: number): StreamKeys;
}

/** The key recording a topic's partition count. */
export function partitionCountKey(topic: string): string {
  return `${KEY_PREFIX}:{${topic}}:partitions`;
}

/** The key (a set) holding the consumer groups declared for a topic. */
export function declaredGroupsKey(topic: string): string {
  return `${KEY_PREFIX}:{${topic}}:groups`;
}

const tags = new Map<string, string>();

/** The hash tag of partition `index` of a topic with `count` partitions (see the module comment). */
export function partitionTag(topic: string, index: number, count: number): string {
  const cacheKey = `${topic}\u0000${index}\u0000${count}`;
  const cached = tags.get(cacheKey);
  if (cached !== undefined) return cached;
  const width = SLOTS / count;
  const middle = (index + 0.5) * width;
  // Near the middle of the i-th P-th (within an eighth of its width): on a cluster whose masters own
  // equal contiguous ranges, neighbouring partitions then fall on different masters wherever the
  // range boundaries lie. Past 128 partitions (that window would be a few slots wide), anywhere in it.
  const reach = count <= 128 ? width / 8 : width / 2;
  let tag = `${topic}#${index}`;
  for (let n = 1; Math.abs(calculateSlot(tag) + 0.5 - middle) > reach; n++) tag = `${topic}#${index}.${n}`;
  tags.set(cacheKey, tag);
  return tag;
}

/** The keys of partition `index` of `topic` (a plain topic's keys when `count` is 1). */
export function partitionKeys(topic: string, index: number, count: number): StreamKeys {
  if (count === 1) return streamKeys({ topic });
  return streamKeys({ stream: `${KEY_PREFIX}:{${partitionTag(topic, index, count)}}` });
}

const encoder = new TextEncoder();

/** The partition of a message key: FNV-1a (32 bit) of its UTF-8 bytes, modulo the count. */
export function partitionForKey(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % count;
}

/** Checks a partition count given as an option. */
export function checkPartitionCount(option: string, value: unknown): number {
  const problem = checkInteger(option, value, 1, MAX_PARTITIONS);
  if (problem) throw new InvalidOptionError(option, problem);
  return value as number;
}

const layouts = new WeakMap<Driver, Map<string, Promise<TopicLayout>>>();

/**
 * The layout of `topic`. With `partitions`, the count is recorded if the topic has none yet, and a
 * different recorded count is a {@link PartitionCountError}. Without it, the recorded count is
 * used, or 1 when none is recorded (a plain topic). A recorded count never changes in place, so it
 * is read from Redis once per driver (warm container) and remembered; "none recorded" is not
 * remembered, since the topic may still be declared.
 *
 * @example
 * ```ts
 * await topicLayout(driver, 'orders', 8); // records 8 partitions, or checks that 8 are recorded
 * ```
 */
export function topicLayout(driver: Driver, topic: string, partitions?: number): Promise<TopicLayout> {
  if (partitions !== undefined) checkPartitionCount('partitions', partitions);
  return remembered(driver, topic, partitions === undefined ? 'read' : partitions, () =>
    readLayout(driver, topic, partitions ?? 0, partitions, []),
  );
}

/**
 * The layout a publisher writes by: `partitions` as {@link topicLayout} checks it, else the recorded
 * count — and when none is recorded, 1 is recorded first (in the same script), so that the topic
 * cannot be declared partitioned after this publisher took it for a plain one. `groups` are
 * declared for the topic in the same step; the layout lists every declared group.
 */
export function publishLayout(
  driver: Driver,
  topic: string,
  partitions?: number,
  groups: readonly string[] = [],
): Promise<TopicLayout> {
  if (partitions !== undefined) checkPartitionCount('partitions', partitions);
  const purpose = `publish\u0000${partitions ?? ''}\u0000${[...groups].sort().join(',')}`;
  return remembered(driver, topic, purpose, () =>
    readLayout(driver, topic, partitions ?? 1, partitions, groups),
  );
}

/**
 * Records `groups` as declared for `topic` (and `partitions` as {@link topicLayout} does) and
 * returns the layout read in the same step. Never remembered: a declaration always reaches Redis.
 */
export function declareLayout(
  driver: Driver,
  topic: string,
  partitions: number | undefined,
  groups: readonly string[],
): Promise<TopicLayout> {
  if (partitions !== undefined) checkPartitionCount('partitions', partitions);
  return readLayout(driver, topic, partitions ?? 0, partitions, groups);
}

function remembered(
  driver: Driver,
  topic: string,
  purpose: string | number,
  read: () => Promise<TopicLayout>,
): Promise<TopicLayout> {
  let known = layouts.get(driver);
  if (!known) {
    known = new Map();
    layouts.set(driver, known);
  }
  const cacheKey = `${topic}\u0000${purpose}`;
  const cached = known.get(cacheKey);
  if (cached) return cached;
  const lookup = read();
  known.set(cacheKey, lookup);
  lookup.then(
    (layout) => layout.declared || known.delete(cacheKey),
    () => known.delete(cacheKey),
  );
  return lookup;
}

/** Forgets what is remembered of topic layouts (tests, and after a documented migration). */
export function forgetLayouts(driver: Driver): void {
  layouts.delete(driver);
}

async function readLayout(
  driver: Driver,
  topic: string,
  record: number,
  requested: number | undefined,
  declare: readonly string[],
): Promise<TopicLayout> {
  const plain = streamKeys({ topic });
  const reply = await runScript(
    driver,
    DECLARE_TOPIC,
    [partitionCountKey(topic), plain.stream, declaredGroupsKey(topic)],
    [record, ...declare],
  );
  const recorded = Array.isArray(reply) ? Number(reply[0]) : Number.NaN;
  if (!Number.isInteger(recorded))
    throw new SluiceError(`Unexpected topic layout reply: ${JSON.stringify(reply)}`);
  return layoutFrom(topic, recorded, Array.isArray(reply) ? reply[1] : undefined, requested);
}

/**
 * Remembers the layout another script read (the drain's first reclaim): `recorded` the count (≥ 1),
 * `groups` the declared groups, as the layout script answers them. Remembered as {@link topicLayout}
 * remembers what it reads.
 */
export function rememberLayout(driver: Driver, topic: string, recorded: number, groups: unknown): void {
  const layout = layoutFrom(topic, recorded, groups, undefined);
  remembered(driver, topic, 'read', () => Promise.resolve(layout));
}

/** Whether {@link topicLayout} knows `topic`'s recorded count through `driver` (or is reading it). */
export function knowsLayout(driver: Driver, topic: string): boolean {
  return layouts.get(driver)?.has(`${topic}\u0000read`) === true;
}

/** The layout of a count the layout script answered (0: none recorded, -1: refused, see DECLARE_TOPIC). */
function layoutFrom(
  topic: string,
  recorded: number,
  declaredGroups: unknown,
  requested: number | undefined,
): TopicLayout {
  const plain = streamKeys({ topic });
  const groups = Array.isArray(declaredGroups) ? declaredGroups.map((g) => parseString(g, 'group')) : [];
  if (recorded === -1) {
    throw new PartitionCountError(
      topic,
      1,
      requested as number,
      `topic ${JSON.stringify(topic)} already has a plain (unpartitioned) stream ${plain.stream}; ` +
        `it cannot become ${requested} partitions in place: publish to a new topic and drain the old one out (see docs/partitions.md)`,
    );
  }
  const partitions = recorded === 0 ? 1 : recorded;
  const declared = recorded !== 0;
  if (requested !== undefined && partitions !== requested)
    throw new PartitionCountError(topic, partitions, requested);
  // Made once per partition: a publisher asks for them on every publish.
  const keys: StreamKeys[] = [];
  return {
    topic,
    partitions,
    declared,
    groups: groups.sort(),
    keys: (index) => {
      keys[index] ??= partitionKeys(topic, index, partitions);
      return keys[index];
    },
  };
}
