/**
 * Operations: inspect and repair a topic. Statistics per group, dead letters (list, show, redrive,
 * purge), replay (reset a group's position, like Kafka's offset reset) and tail (follow new
 * messages without joining a group).
 *
 * Platform-neutral, over any `Driver`: every call is one Lua script on one topic's keys
 * (`scripts.ts`), atomic and one round trip, so the driver interface needs nothing new; only
 * `tail` uses the driver's optional `read` (a blocking XREAD on TCP), and polls through a script
 * without it. Results are plain JSON-serialisable objects (for a CLI, an HTTP endpoint, a log).
 *
 * `sluice/ops` also holds what tools that look at Redis directly need: where a topic's keys are
 * (`streamKeys`, `topicLayout`, `partitionKeys`), group creation, the dead-letter fields, message
 * encoding, the driver seam's argument types, and the frozen defaults of the options.
 *
 * @example
 * ```ts
 * import { listDeadLetters, redrive, topicStats } from 'sluice/ops';
 *
 * const stats = await topicStats(driver, 'orders');
 * const page = await listDeadLetters(driver, 'orders', 'billing', { count: 10 });
 * const report = await redrive(driver, 'orders', 'billing', { ids: page.deadLetters.map((d) => d.id) });
 * ```
 */
export { DEAD_LETTER_FIELDS, type DeadLetterReason } from '../consume/dead-letters.js';
export { IDEMPOTENT_DEFAULTS } from '../consume/idempotent.js';
export { DRAIN_DEFAULTS, resolveDrainOptions } from '../consume/options.js';
export type { DeclaredGroup, TopicDeclared } from '../core/declare.js';
export type { DriverCapabilities, ReadArgs, ReadGroupArgs } from '../core/driver.js';
export { decodeMessage, encodeMessage } from '../core/envelope.js';
export { GroupNotFoundError } from '../core/errors.js';
export { ensureGroup, ensureGroups, type GroupEnsured } from '../core/group.js';
export { hashTagOf, isTopicName, type StreamKeys, streamKeys, TOPIC_PATTERN } from '../core/keys.js';
export type { LogFields } from '../core/logger.js';
export {
  declaredGroupsKey,
  MAX_PARTITIONS,
  partitionCountKey,
  partitionForKey,
  partitionKeys,
  type TopicLayout,
  topicLayout,
} from '../core/partitions.js';
export { MAX_BATCH_MESSAGES } from '../publish/batch.js';
export { PUBLISH_DEFAULTS } from '../publish/options.js';
export {
  type DeadLetter,
  type DeadLetterPage,
  type ListDeadLettersOptions,
  listDeadLetters,
  type PurgeOptions,
  type PurgeReport,
  parseDeadLetter,
  purgeDeadLetters,
  showDeadLetter,
} from './dead-letters.js';
export {
  type DrainRecord,
  type DrainsNow,
  type GroupHistory,
  HISTORY_DEFAULTS,
  type HistoryMinute,
  type HistoryOptions,
  type Rate,
  type Rates,
  ratesOf,
  type TopicHistory,
  topicHistory,
} from './history.js';
export {
  type RedriveOptions,
  type RedriveOutcome,
  type RedriveProgress,
  type RedriveReport,
  type RedriveResult,
  redrive,
} from './redrive.js';
export { parseReplayFrom, type ReplayFrom, type ReplayOptions, type ReplayReport, replay } from './replay.js';
export {
  type GroupStats,
  partitionedTopicStats,
  type StatsOptions,
  type TopicStats,
  topicStats,
} from './stats.js';
export { type TailOptions, tail } from './tail.js';
export { OPS_DEFAULTS, type OpsTarget } from './target.js';
