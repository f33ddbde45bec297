/**
 * Declared consumer groups: the groups a topic is consumed by, created before the first message
 * is written, so that no group misses a message published before its first drain.
 *
 * A declaration is recorded in Redis (`sluice:{orders}:groups`, a set) and the groups are created
 * at once on every partition of the topic. Publishers read the declared groups with the topic's
 * layout — once per warm container — and make sure each exists on the stream they write before
 * their first write there; after that, a publish costs nothing more.
 */
import type { Driver } from './driver.js';
import { InvalidOptionError } from './errors.js';
import { ensureGroups, type GroupEnsured } from './group.js';
import { isTopicName, streamKeys, TOPIC_PATTERN } from './keys.js';
import { declareLayout } from './partitions.js';

export interface TopicDeclaration {
  /**
   * The topic's partition count (recorded when none is; another recorded count is a
   * `PartitionCountError`). Unset: whatever is recorded, else the topic stays plain.
   * @default undefined
   */
  readonly partitions?: number | undefined;
  /**
   * Consumer groups that consume the topic: created now on every partition, and by publishers
   * wherever they are missing before a message is written.
   * @default []
   */
  readonly groups?: readonly string[];
  /**
   * Where a group created now starts over a stream that already holds entries: `$` after them
   * (they are skipped, and counted), `0` at the oldest entry kept.
   * @default '$'
   */
  readonly startId?: '$' | '0';
}

export interface DeclaredGroup {
  readonly group: string;
  /** Whether this declaration created the group on at least one partition. */
  readonly created: boolean;
  /** Entries already in the stream(s) that the group, created at `$`, will never see. */
  readonly skipped: number;
}

export interface TopicDeclared {
  readonly topic: string;
  readonly partitions: number;
  /** Every group declared for the topic (those of this declaration and earlier ones). */
  readonly declaredGroups: readonly string[];
  /** What this declaration did to each of its groups. */
  readonly groups: readonly DeclaredGroup[];
}

/** Checks a list of consumer group names given as option `option`. */
export function checkGroupNames(option: string, groups: unknown): readonly string[] {
  if (!Array.isArray(groups)) {
    throw new InvalidOptionError(
      option,
      `Expected \`${option}\` to be an array of group names, got ${typeof groups}`,
    );
  }
  for (const group of groups) {
    if (!isTopicName(group)) {
      throw new InvalidOptionError(
        option,
        `Expected every group in \`${option}\` to match ${TOPIC_PATTERN}, got ${JSON.stringify(group)}`,
      );
    }
  }
  return groups as readonly string[];
}

/**
 * Declares a topic: records its partition count and the consumer groups that consume it, and
 * creates those groups on every partition now. Publishers honour the declaration: a declared group
 * missing from a stream is created before their first message there.
 *
 * @example
 * ```ts
 * // Once, at deployment (or `sluice topic create orders -g payment-processors`):
 * await declareTopic(driver, 'orders', { groups: ['payment-processors', 'analytics'] });
 * ```
 */
export async function declareTopic(
  driver: Driver,
  topic: string,
  declaration: TopicDeclaration = {},
): Promise<TopicDeclared> {
  streamKeys({ topic }); // validates the name before anything is sent
  const groups = checkGroupNames('groups', declaration.groups ?? []);
  const startId = declaration.startId ?? '$';
  if (startId !== '$' && startId !== '0')
    throw new InvalidOptionError(
      'startId',
      `Expected \`startId\` to be "$" or "0", got ${JSON.stringify(startId)}`,
    );
  const layout = await declareLayout(driver, topic, declaration.partitions, groups);
  const perPartition = await Promise.all(
    Array.from({ length: layout.partitions }, (_, i) =>
      groups.length === 0 ? [] : ensureGroups(driver, layout.keys(i).stream, groups, startId),
    ),
  );
  return {
    topic,
    partitions: layout.partitions,
    declaredGroups: layout.groups,
    groups: groups.map((group) => summarise(group, perPartition)),
  };
}

function summarise(group: string, perPartition: readonly GroupEnsured[][]): DeclaredGroup {
  const mine = perPartition.flat().filter((result) => result.group === group);
  return {
    group,
    created: mine.some((result) => result.created),
    skipped: mine.reduce((total, result) => total + result.skipped, 0),
  };
}
