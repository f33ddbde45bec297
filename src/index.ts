/**
 * sluice: durable, Kafka-like publish/consume on Redis Streams for serverless functions.
 *
 * @example
 * ```ts
 * import { drain, publish } from 'sluice';
 * import { ioredisDriver } from 'sluice/ioredis';
 *
 * const driver = ioredisDriver(process.env.REDIS_URL);
 * // `groups`: the group exists before the first message, so its first drain misses none.
 * await publish(driver, 'orders', { data: { orderId: 42 } }, { groups: ['billing'] });
 * const report = await drain(driver, { topic: 'orders', group: 'billing', budgetMs: 10_000, handler: async (m) => {} });
 * ```
 */
export { CONFIG_DEFAULTS, type DrainSettings, loadConfig, type SluiceConfig } from './app/config.js';
export { type DriverConfig, driverConfig } from './app/driver-config.js';
export type { Env } from './app/env.js';
export { DEAD_LETTER_FIELDS, type DeadLetterReason } from './consume/dead-letters.js';
export { type DrainReport, drain, type PartitionReport, type StopReason } from './consume/drain.js';
export {
  AlreadyRunningError,
  IDEMPOTENT_DEFAULTS,
  type IdempotentOptions,
  idempotent,
} from './consume/idempotent.js';
export {
  DRAIN_DEFAULTS,
  type DrainOptions,
  type Handler,
  type HandlerContext,
  resolveDrainOptions,
} from './consume/options.js';
export {
  type DeclaredGroup,
  declareTopic,
  type TopicDeclaration,
  type TopicDeclared,
} from './core/declare.js';
export type {
  Driver,
  DriverCapabilities,
  ReadArgs,
  ReadGroupArgs,
} from './core/driver.js';
export { decodeMessage, encodeMessage, type Message, type OutgoingMessage } from './core/envelope.js';
export {
  ConfigurationError,
  GroupNotFoundError,
  InvalidMessageError,
  InvalidOptionError,
  isPermanent,
  LeaseLostError,
  PartitionCountError,
  PermanentError,
  RedisAuthError,
  RedisReplyError,
  RedisUnavailableError,
  ReplicationError,
  SluiceError,
} from './core/errors.js';
export { ensureGroup, ensureGroups, type GroupEnsured } from './core/group.js';
export { hashTagOf, isTopicName, type StreamKeys, streamKeys, TOPIC_PATTERN } from './core/keys.js';
export { jsonLogger, type LogFields, type Logger, silentLogger } from './core/logger.js';
export {
  declaredGroupsKey,
  MAX_PARTITIONS,
  partitionCountKey,
  partitionForKey,
  partitionKeys,
  type TopicLayout,
  topicLayout,
} from './core/partitions.js';
export {
  createOpsEndpoint,
  OPS_ENDPOINT_DEFAULTS,
  type OpsEndpointOptions,
  type OpsRequest,
  type OpsResponse,
} from './http/ops-endpoint.js';
export {
  createPublishEndpoint,
  PUBLISH_ENDPOINT_DEFAULTS,
  type PublishEndpointOptions,
  type PublishRequest,
  type PublishResponse,
} from './http/publish-endpoint.js';
export {
  computeSignature,
  type ParsedSignature,
  parseSignatureHeader,
  SIGNATURE_DEFAULTS,
  SIGNATURE_HEADER,
  SignatureError,
  type SignatureProblem,
  signBody,
  type VerifiedSignature,
  type VerifySignatureOptions,
  verifySignature,
} from './http/signature.js';
export {
  type DeadLetter,
  type DeadLetterPage,
  type GroupStats,
  type ListDeadLettersOptions,
  listDeadLetters,
  OPS_DEFAULTS,
  type OpsTarget,
  type PurgeOptions,
  type PurgeReport,
  parseDeadLetter,
  parseReplayFrom,
  partitionedTopicStats,
  purgeDeadLetters,
  type RedriveOptions,
  type RedriveOutcome,
  type RedriveProgress,
  type RedriveReport,
  type RedriveResult,
  type ReplayFrom,
  type ReplayOptions,
  type ReplayReport,
  redrive,
  replay,
  showDeadLetter,
  type TailOptions,
  type TopicStats,
  tail,
  topicStats,
} from './ops/index.js';
export { MAX_BATCH_MESSAGES, type PublishBatchOptions, publishBatch } from './publish/batch.js';
export {
  PUBLISH_DEFAULTS,
  type PublishOptions,
  type PublishResult,
  type PublishTarget,
} from './publish/options.js';
export { publish } from './publish/publish.js';
