/**
 * The checks drain options go through, each failing with an `InvalidOptionError` that names the
 * option (`` Expected `name` to be …, got … ``). Shared by `resolveDrainOptions` and `withInvocation`.
 */
import { InvalidOptionError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { MAX_PARTITIONS } from '../core/partitions.js';
import { describeGot, integerOption } from '../core/validate.js';
import type { BatchHandler, Handler, ResolvedHandling } from './options.js';

/** The longest duration an option may give (15 minutes, the longest any platform runs a function). */
export const MAX_DURATION_MS = 15 * 60 * 1000;

export function fail(option: string, message: string): never {
  throw new InvalidOptionError(option, message);
}

/** `topic` or `group`: a name matching `[A-Za-z0-9._-]{1,100}`. */
export function nameOption(option: 'topic' | 'group', value: unknown): string {
  if (!isTopicName(value))
    fail(option, `Expected \`${option}\` to match ${TOPIC_PATTERN}, got ${describeGot(value)}`);
  return value;
}

export function remainingTimeOption(value: unknown): (() => number) | undefined {
  if (value !== undefined && typeof value !== 'function') {
    fail('remainingTimeMs', `Expected \`remainingTimeMs\` to be a function, got ${describeGot(value)}`);
  }
  return value as (() => number) | undefined;
}

export function signalOption(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    fail('signal', `Expected \`signal\` to be an AbortSignal, got ${describeGot(value)}`);
  }
  return value as AbortSignal | undefined;
}

/** An optional integer option: undefined stays undefined. */
export function optionalInteger(name: string, value: unknown, min: number, max?: number): number | undefined {
  return value === undefined ? undefined : integerOption(name, value, min, max);
}

export function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    fail(name, `Expected \`${name}\` to be a boolean, got ${describeGot(value)}`);
  return value;
}

/** `assignedPartitions`: distinct partition indexes, at least one. */
export function assignedOption(value: unknown): readonly number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    fail(
      'assignedPartitions',
      `Expected \`assignedPartitions\` to be a non-empty array, got ${describeGot(value)}`,
    );
  }
  const seen = new Set<number>();
  value.forEach((index, i) => {
    integerOption(`assignedPartitions[${i}]`, index, 0, MAX_PARTITIONS - 1);
    if (seen.has(index)) fail('assignedPartitions', `Expected distinct partitions, got ${index} twice`);
    seen.add(index);
  });
  return Object.freeze([...seen]);
}

/** The logger, checked, its methods bound (debug optional), or the JSON logger. */
export function loggerOption(value: Logger | undefined): Logger {
  const logger = value ?? jsonLogger();
  if (
    typeof logger.info !== 'function' ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    fail('logger', 'Expected `logger` to have debug, info, warn and error methods');
  }
  return {
    debug: typeof logger.debug === 'function' ? logger.debug.bind(logger) : () => {},
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: logger.error.bind(logger),
  };
}

export function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `assignedPartitions` within `partitions`, when both are given. */
export function assignedWithin(
  assigned: readonly number[] | undefined,
  partitions: number | undefined,
): void {
  if (assigned === undefined || partitions === undefined) return;
  const beyond = assigned.filter((index) => index >= partitions);
  if (beyond.length > 0) {
    fail(
      'assignedPartitions',
      `Expected partitions of 0 to ${partitions - 1} (\`partitions\` is ${partitions}), got ${beyond.join(', ')}`,
    );
  }
}

/**
 * `handler` or `batchHandler`: exactly one, a function. A batch handler is called once per batch,
 * one call at a time, so an explicit `concurrency` other than 1 with it is refused.
 */
export function handlingOption<T>(options: {
  readonly handler?: unknown;
  readonly batchHandler?: unknown;
  readonly concurrency?: unknown;
}): ResolvedHandling<T> {
  const { handler, batchHandler, concurrency } = options;
  if ((handler === undefined) === (batchHandler === undefined)) {
    fail(
      handler === undefined ? 'handler' : 'batchHandler',
      `Expected exactly one of \`handler\` and \`batchHandler\`, got ${handler === undefined ? 'neither' : 'both'}`,
    );
  }
  if (batchHandler === undefined) {
    if (typeof handler !== 'function')
      fail('handler', `Expected \`handler\` to be a function, got ${describeGot(handler)}`);
    return { handler: handler as Handler<T>, batchHandler: undefined };
  }
  if (typeof batchHandler !== 'function')
    fail('batchHandler', `Expected \`batchHandler\` to be a function, got ${describeGot(batchHandler)}`);
  if (concurrency !== undefined && concurrency !== 1) {
    fail(
      'concurrency',
      `Expected \`concurrency\` to be 1 (or unset) with \`batchHandler\` (one call per batch, one at a time), got ${describeGot(concurrency)}`,
    );
  }
  return { handler: undefined, batchHandler: batchHandler as BatchHandler<T> };
}
