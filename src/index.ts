/**
 * sluice: durable, Kafka-like publish/consume on Redis Streams for serverless functions.
 *
 * The root holds what a library user of `publish` and `drain` needs: publishing, declaring a
 * topic's groups, the drain and its handler, `idempotent()`, the errors to catch and the loggers.
 * Drivers are `sluice/ioredis` and `sluice/upstash`; the HTTP endpoints, signatures and the app's
 * environment `sluice/http`; statistics, dead letters, redrive, replay, tail and the key layout
 * `sluice/ops`; the platform adapters `sluice/aws-lambda`, `sluice/vercel` and `sluice/qstash`.
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
export type { DrainReport, PartitionReport, StopReason } from './consume/drain.js';
export { drain } from './consume/drain.js';
export { AlreadyRunningError, type IdempotentOptions, idempotent } from './consume/idempotent.js';
export type {
  BatchFailure,
  BatchHandler,
  BatchResult,
  DrainOptions,
  DrainSettings,
  Handler,
  HandlerContext,
  SchemaOption,
} from './consume/options.js';
export {
  type ShutdownSignal,
  type ShutdownSignalOptions,
  shutdownSignal,
  signalExitCode,
} from './consume/shutdown.js';
export type { WakeOptions } from './consume/wake.js';
export { declareTopic, type TopicDeclaration } from './core/declare.js';
export type { Driver } from './core/driver.js';
export type { Message, OutgoingMessage } from './core/envelope.js';
export {
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
  RetryLaterError,
  SluiceError,
} from './core/errors.js';
export { jsonLogger, type Logger, silentLogger } from './core/logger.js';
export {
  type InferSchemaInput,
  type InferSchemaOutput,
  MessageSchemaError,
  type SchemaIssue,
  type StandardSchemaIssue,
  type StandardSchemaResult,
  type StandardSchemaV1,
} from './core/schema.js';
export { type OtelApi, setTelemetry } from './core/telemetry.js';
export {
  functionWaker,
  type WakePayload,
  type WakeReason,
  type WakeRequest,
  type Waker,
} from './core/waker.js';
export { type PublishBatchOptions, publishBatch } from './publish/batch.js';
export type { PublishOptions, PublishResult, PublishTarget, PublishWake } from './publish/options.js';
export { publish } from './publish/publish.js';
