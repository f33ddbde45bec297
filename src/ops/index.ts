/**
 * Operations: inspect and repair a topic. Statistics per group, dead letters (list, show, redrive,
 * purge), replay (reset a group's position, like Kafka's offset reset) and tail (follow new
 * messages without joining a group).
 *
 * Platform-neutral, over any `Driver`: every call is one Lua script on one topic's keys
 * (`scripts.ts`), atomic and one round trip, so the driver interface needs nothing new; only
 * `tail` uses the driver's optional `read` (a blocking XREAD on TCP), and polls through a script
 * without it. Results are plain JSON-serialisable objects (for a CLI, an HTTP endpoint, a log).
 */
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
  type RedriveOptions,
  type RedriveOutcome,
  type RedriveProgress,
  type RedriveReport,
  type RedriveResult,
  redrive,
} from './redrive.js';
export { parseReplayFrom, type ReplayFrom, type ReplayOptions, type ReplayReport, replay } from './replay.js';
export { type GroupStats, partitionedTopicStats, type TopicStats, topicStats } from './stats.js';
export { type TailOptions, tail } from './tail.js';
export { OPS_DEFAULTS, type OpsTarget } from './target.js';
