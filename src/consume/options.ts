/**
 * Drain options: frozen defaults, one resolver, errors that name the option. Resolved once (an
 * adapter at cold start), then taken as they are by `drain`.
 */
import { MAX_PARTITIONS } from '../core/partitions.js';
import { type StandardSchemaV1, schemaOption } from '../core/schema.js';
import { describeGot, integerOption } from '../core/validate.js';
import {
  assignedOption,
  assignedWithin,
  booleanOption,
  dropUndefined,
  fail,
  handlingOption,
  loggerOption,
  MAX_DURATION_MS,
  nameOption,
  optionalInteger,
  remainingTimeOption,
  signalOption,
} from './option-checks.js';
import { type ResolvedRateLimit, rateLimitOption } from './rate-limit.js';
import type { BatchHandler, DrainOptions, DrainSettings, Handler } from './settings.js';
import { type ResolvedWakeOptions, WAKE_DEFAULTS, wakeOption } from './wake.js';

export type {
  BatchFailure,
  BatchHandler,
  BatchHandling,
  BatchResult,
  DrainOptions,
  DrainSettings,
  Handler,
  HandlerContext,
  Handling,
  MessageHandling,
  SchemaOption,
} from './settings.js';

/** Marks options that went through {@link resolveDrainOptions} (a type-level brand). */
declare const resolvedBrand: unique symbol;

/**
 * Drain options resolved once — defaults applied, every value checked, frozen — by
 * {@link resolveDrainOptions}. `drain` takes them as they are, without checking them again: an
 * adapter resolves its options at cold start and passes them to every invocation
 * ({@link withInvocation} for what an invocation changes).
 */
export type ResolvedDrainOptions<T = unknown> = ResolvedDrainSettings &
  ResolvedHandling<T> & { readonly schema: StandardSchemaV1<unknown, T> | undefined };

/** The handler of resolved options: exactly one of the two, the other `undefined`. */
export type ResolvedHandling<T = unknown> =
  | { readonly handler: Handler<T>; readonly batchHandler: undefined }
  | { readonly handler: undefined; readonly batchHandler: BatchHandler<T> };

/** Resolved drain options other than the handler. */
export interface ResolvedDrainSettings
  extends Required<
    Omit<
      DrainSettings,
      | 'topic'
      | 'stream'
      | 'remainingTimeMs'
      | 'idleExitMs'
      | 'signal'
      | 'handlerTimeoutMs'
      | 'maxLength'
      | 'leaseMs'
      | 'partitions'
      | 'assignedPartitions'
      | 'maxPartitions'
      | 'wake'
      | 'rateLimit'
    >
  > {
  readonly wake: ResolvedWakeOptions | undefined;
  readonly rateLimit: ResolvedRateLimit | undefined;
  readonly leaseMs: number;
  readonly partitions: number | undefined;
  readonly assignedPartitions: readonly number[] | undefined;
  readonly maxPartitions: number | undefined;
  readonly handlerTimeoutMs: number | undefined;
  readonly maxLength: number | undefined;
  readonly target: { readonly topic: string } | { readonly stream: string };
  readonly remainingTimeMs: (() => number) | undefined;
  readonly idleExitMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly [resolvedBrand]: true;
}

export const DRAIN_DEFAULTS = Object.freeze({
  budgetMs: 50_000,
  safetyMarginMs: 2_000,
  visibilityTimeoutMs: 30_000,
  maxRedeliveryDelayMs: 600_000,
  retryJitter: 'none' as const,
  maxDeliveries: 5,
  batchSize: 100,
  blockMs: 1_000,
  concurrency: 1,
  prefetch: 1,
  startId: '$' as const,
  trim: true,
  retentionMs: 3_600_000,
  ordered: false,
  consumerPrefix: 'sluice',
  shutdownGraceMs: 5_000,
});

const CONSUMER_PREFIX = /^[A-Za-z0-9._-]{1,64}$/;

/** Options {@link resolveDrainOptions} made (a spread of them is a plain object again). */
const resolvedOptions = new WeakSet<object>();

/** Freezes resolved options and marks them resolved (for `resolveDrainOptions` and `withInvocation`). */
export function brandResolved<T>(
  options: Omit<ResolvedDrainSettings, typeof resolvedBrand> &
    ResolvedHandling<T> & { readonly schema: StandardSchemaV1<unknown, T> | undefined },
): ResolvedDrainOptions<T> {
  const frozen = Object.freeze(options) as ResolvedDrainOptions<T>;
  resolvedOptions.add(frozen);
  return frozen;
}

/** Whether `options` were made by {@link resolveDrainOptions} (or {@link withInvocation}). */
export function isResolvedDrainOptions<T>(
  options: DrainOptions<T> | ResolvedDrainOptions<T>,
): options is ResolvedDrainOptions<T> {
  return typeof options === 'object' && options !== null && resolvedOptions.has(options);
}

/**
 * Applies the defaults, checks every value (an `InvalidOptionError` names the first bad one) and
 * freezes the result. Options already resolved are returned as they are.
 */
export function resolveDrainOptions<T>(
  options: DrainOptions<T> | ResolvedDrainOptions<T>,
): ResolvedDrainOptions<T> {
  if (isResolvedDrainOptions(options)) return options;
  if (typeof options !== 'object' || options === null)
    fail('options', `Expected drain options to be an object, got ${describeGot(options)}`);
  const merged = { ...DRAIN_DEFAULTS, ...dropUndefined(options) };
  const hasTopic = options.topic !== undefined;
  const hasStream = options.stream !== undefined;
  if (hasTopic === hasStream) fail('topic', 'Expected exactly one of `topic` and `stream`');
  if (hasTopic) nameOption('topic', options.topic);
  if (hasStream && (typeof options.stream !== 'string' || options.stream.length === 0)) {
    fail('stream', `Expected \`stream\` to be a non-empty string, got ${describeGot(options.stream)}`);
  }
  const group = nameOption('group', merged.group);
  const handling = handlingOption<T>(options);
  remainingTimeOption(options.remainingTimeMs);
  if (merged.startId !== '$' && merged.startId !== '0')
    fail('startId', `Expected \`startId\` to be "$" or "0", got ${describeGot(merged.startId)}`);
  if (typeof merged.consumerPrefix !== 'string' || !CONSUMER_PREFIX.test(merged.consumerPrefix)) {
    fail(
      'consumerPrefix',
      `Expected \`consumerPrefix\` to match ${CONSUMER_PREFIX}, got ${describeGot(merged.consumerPrefix)}`,
    );
  }
  signalOption(options.signal);
  if (merged.retryJitter !== 'none' && merged.retryJitter !== 'full')
    fail(
      'retryJitter',
      `Expected \`retryJitter\` to be "none" or "full", got ${describeGot(merged.retryJitter)}`,
    );
  const ordered = booleanOption('ordered', merged.ordered);
  if (ordered && merged.concurrency !== 1) {
    fail(
      'concurrency',
      `Expected \`concurrency\` to be 1 with \`ordered\` (messages of a partition are handled one at a time; partitions run in parallel), got ${describeGot(merged.concurrency)}`,
    );
  }
  if (hasStream) {
    for (const name of ['partitions', 'assignedPartitions', 'maxPartitions'] as const) {
      if (options[name] !== undefined) fail(name, `\`${name}\` applies to a \`topic\`, not to a \`stream\``);
    }
  }
  const values = resolveValues(options, merged);
  // Event-driven, a drain ends soon after it runs dry: a publish wakes the next one.
  const idleExitMs = values.idleExitMs ?? (options.wake === undefined ? undefined : WAKE_DEFAULTS.idleExitMs);
  assignedWithin(values.assignedPartitions, values.partitions);
  const logger = loggerOption(options.logger);
  return brandResolved({
    target: hasTopic ? { topic: options.topic as string } : { stream: options.stream as string },
    group,
    ...handling,
    schema: schemaOption('schema', options.schema),
    ...values,
    idleExitMs,
    startId: merged.startId,
    retryJitter: merged.retryJitter,
    consumerPrefix: merged.consumerPrefix,
    ordered,
    signal: options.signal,
    wake: wakeOption(options.wake),
    rateLimit: rateLimitOption(options.rateLimit),
    logger,
  });
}

/** The numbers (and `trim`), checked in the order the options are documented. */
function resolveValues<T>(
  options: DrainOptions<T>,
  merged: { readonly [K in keyof typeof DRAIN_DEFAULTS]: unknown },
) {
  return {
    budgetMs: integerOption('budgetMs', merged.budgetMs, 1, MAX_DURATION_MS),
    safetyMarginMs: integerOption('safetyMarginMs', merged.safetyMarginMs, 0, MAX_DURATION_MS),
    remainingTimeMs: options.remainingTimeMs,
    visibilityTimeoutMs: integerOption('visibilityTimeoutMs', merged.visibilityTimeoutMs, 1),
    maxRedeliveryDelayMs: integerOption('maxRedeliveryDelayMs', merged.maxRedeliveryDelayMs, 1),
    handlerTimeoutMs: optionalInteger('handlerTimeoutMs', options.handlerTimeoutMs, 1, MAX_DURATION_MS),
    maxDeliveries: integerOption('maxDeliveries', merged.maxDeliveries, 1, 1_000),
    batchSize: integerOption('batchSize', merged.batchSize, 1, 10_000),
    blockMs: integerOption('blockMs', merged.blockMs, 1, MAX_DURATION_MS),
    concurrency: integerOption('concurrency', merged.concurrency, 1, 1_000),
    prefetch: integerOption('prefetch', merged.prefetch, 0, 10),
    idleExitMs: optionalInteger('idleExitMs', options.idleExitMs, 0, MAX_DURATION_MS),
    trim: booleanOption('trim', merged.trim),
    retentionMs: integerOption('retentionMs', merged.retentionMs, 0),
    maxLength: optionalInteger('maxLength', options.maxLength, 1),
    leaseMs:
      options.leaseMs === undefined
        ? Math.max(100, integerOption('visibilityTimeoutMs', merged.visibilityTimeoutMs, 1))
        : integerOption('leaseMs', options.leaseMs, 100, MAX_DURATION_MS),
    partitions: optionalInteger('partitions', options.partitions, 1, MAX_PARTITIONS),
    assignedPartitions: assignedOption(options.assignedPartitions),
    maxPartitions: optionalInteger('maxPartitions', options.maxPartitions, 1, MAX_PARTITIONS),
    shutdownGraceMs: integerOption('shutdownGraceMs', merged.shutdownGraceMs, 0, MAX_DURATION_MS),
  };
}
