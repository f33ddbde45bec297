/**
 * Drain options: frozen defaults, one resolver, errors that name the option.
 */
import type { Message } from './envelope.js';
import { InvalidOptionError } from './errors.js';
import { isTopicName, TOPIC_PATTERN } from './keys.js';
import { jsonLogger, type Logger } from './logger.js';
import { checkInteger, describeGot } from './validate.js';

/** What a handler is given besides the message. */
export interface HandlerContext {
  /** Fires when the cycle's deadline is reached (or the cycle is aborted): stop work and throw. */
  readonly signal: AbortSignal;
  /** When the cycle ends (ms since the epoch). */
  readonly deadline: number;
}

/**
 * Processes one message. Resolve → acknowledged. Throw → left pending and redelivered after the
 * visibility timeout. Throw a `PermanentError` → dead-lettered at once.
 */
export type Handler<T = unknown> = (message: Message<T>, context: HandlerContext) => unknown;

export interface DrainOptions<T = unknown> {
  /** The topic to drain (stream `sluice:{topic}`). Give this or `stream`. */
  readonly topic?: string;
  /** A stream key used as it is, e.g. one another service XADDs to. Give this or `topic`. */
  readonly stream?: string;
  /** The consumer group (`[A-Za-z0-9._-]{1,100}`). Created on first use. */
  readonly group: string;
  /** Called once per message. */
  readonly handler: Handler<T>;
  /**
   * The longest this cycle may run.
   * @default 50000
   */
  readonly budgetMs?: number;
  /**
   * Time kept free before the function's own timeout, when `remainingTimeMs` is given.
   * @default 2000
   */
  readonly safetyMarginMs?: number;
  /** How long the function has left, e.g. `() => context.getRemainingTimeInMillis()` on Lambda. */
  readonly remainingTimeMs?: () => number;
  /**
   * A pending message idle this long is reclaimed and delivered again.
   * @default 30000
   */
  readonly visibilityTimeoutMs?: number;
  /**
   * Longest wait before a failed message is delivered again. The wait doubles with each delivery:
   * `visibilityTimeoutMs × 2^(deliveries − 1)`, capped here. Equal to `visibilityTimeoutMs`: no back-off.
   * @default 600000 (10 minutes)
   */
  readonly maxRedeliveryDelayMs?: number;
  /**
   * Longest run of one handler call. Past it the handler's signal fires, the cycle moves on, and
   * the message stays pending (a failed delivery). Unset: only the cycle's deadline bounds it.
   * @default undefined
   */
  readonly handlerTimeoutMs?: number | undefined;
  /**
   * Deliveries after which a failing message is dead-lettered instead of retried.
   * @default 5
   */
  readonly maxDeliveries?: number;
  /**
   * Entries per read (XREADGROUP COUNT) and per reclaim (XAUTOCLAIM COUNT).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Longest wait of one blocking read (drivers that can block).
   * @default 1000
   */
  readonly blockMs?: number;
  /**
   * Handlers running at once. 1 keeps stream order.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * End the cycle early once no message has arrived for this long. Unset: run until the budget.
   * @default undefined
   */
  readonly idleExitMs?: number | undefined;
  /**
   * Where a newly created group starts: `$` (only messages published from now on) or `0` (the whole stream).
   * @default '$'
   */
  readonly startId?: '$' | '0';
  /**
   * Trim the stream at the end of the cycle — only entries every group of the stream has read and
   * acknowledged, and older than `retentionMs`. Never drops what any group still needs.
   * @default true
   */
  readonly trim?: boolean;
  /**
   * How long acknowledged entries are kept (for replay) before trimming removes them.
   * @default 3600000 (1 hour)
   */
  readonly retentionMs?: number;
  /**
   * A hard cap on the stream's length. Unlike trimming, it may drop entries a group has not
   * processed yet: they are counted in the report (`droppedUnconsumed`) and logged as an error.
   * Unset: no cap.
   * @default undefined
   */
  readonly maxLength?: number | undefined;
  /**
   * Prefix of this cycle's consumer name; a random suffix makes it unique per cycle.
   * @default 'sluice'
   */
  readonly consumerPrefix?: string;
  /** Aborting it ends the cycle early (reason `signal`). */
  readonly signal?: AbortSignal | undefined;
  /** Where the cycle's report and warnings go. @default jsonLogger() */
  readonly logger?: Logger;
}

export interface ResolvedDrainOptions<T = unknown>
  extends Required<
    Omit<
      DrainOptions<T>,
      'topic' | 'stream' | 'remainingTimeMs' | 'idleExitMs' | 'signal' | 'handlerTimeoutMs' | 'maxLength'
    >
  > {
  readonly handlerTimeoutMs: number | undefined;
  readonly maxLength: number | undefined;
  readonly target: { readonly topic: string } | { readonly stream: string };
  readonly remainingTimeMs: (() => number) | undefined;
  readonly idleExitMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

export const DRAIN_DEFAULTS = Object.freeze({
  budgetMs: 50_000,
  safetyMarginMs: 2_000,
  visibilityTimeoutMs: 30_000,
  maxRedeliveryDelayMs: 600_000,
  maxDeliveries: 5,
  batchSize: 100,
  blockMs: 1_000,
  concurrency: 1,
  startId: '$' as const,
  trim: true,
  retentionMs: 3_600_000,
  consumerPrefix: 'sluice',
});

const CONSUMER_PREFIX = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_DURATION_MS = 15 * 60 * 1000;

function fail(option: string, message: string): never {
  throw new InvalidOptionError(option, message);
}

function integer(name: string, value: unknown, min: number, max?: number): number {
  const problem = checkInteger(name, value, min, max);
  if (problem) fail(name, problem);
  return value as number;
}

export function resolveDrainOptions<T>(options: DrainOptions<T>): ResolvedDrainOptions<T> {
  if (typeof options !== 'object' || options === null)
    fail('options', `Expected drain options to be an object, got ${describeGot(options)}`);
  const merged = { ...DRAIN_DEFAULTS, ...dropUndefined(options) };

  const hasTopic = options.topic !== undefined;
  const hasStream = options.stream !== undefined;
  if (hasTopic === hasStream) fail('topic', 'Expected exactly one of `topic` and `stream`');
  if (hasTopic && !isTopicName(options.topic))
    fail('topic', `Expected \`topic\` to match ${TOPIC_PATTERN}, got ${describeGot(options.topic)}`);
  if (hasStream && (typeof options.stream !== 'string' || options.stream.length === 0)) {
    fail('stream', `Expected \`stream\` to be a non-empty string, got ${describeGot(options.stream)}`);
  }
  if (!isTopicName(merged.group))
    fail('group', `Expected \`group\` to match ${TOPIC_PATTERN}, got ${describeGot(merged.group)}`);
  if (typeof merged.handler !== 'function')
    fail('handler', `Expected \`handler\` to be a function, got ${describeGot(merged.handler)}`);
  if (options.remainingTimeMs !== undefined && typeof options.remainingTimeMs !== 'function') {
    fail(
      'remainingTimeMs',
      `Expected \`remainingTimeMs\` to be a function, got ${describeGot(options.remainingTimeMs)}`,
    );
  }
  if (merged.startId !== '$' && merged.startId !== '0')
    fail('startId', `Expected \`startId\` to be "$" or "0", got ${describeGot(merged.startId)}`);
  if (typeof merged.consumerPrefix !== 'string' || !CONSUMER_PREFIX.test(merged.consumerPrefix)) {
    fail(
      'consumerPrefix',
      `Expected \`consumerPrefix\` to match ${CONSUMER_PREFIX}, got ${describeGot(merged.consumerPrefix)}`,
    );
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    fail('signal', `Expected \`signal\` to be an AbortSignal, got ${describeGot(options.signal)}`);
  }
  const logger = options.logger ?? jsonLogger();
  if (
    typeof logger.info !== 'function' ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    fail('logger', 'Expected `logger` to have debug, info, warn and error methods');
  }

  return Object.freeze({
    target: hasTopic ? { topic: options.topic as string } : { stream: options.stream as string },
    group: merged.group,
    handler: merged.handler,
    budgetMs: integer('budgetMs', merged.budgetMs, 1, MAX_DURATION_MS),
    safetyMarginMs: integer('safetyMarginMs', merged.safetyMarginMs, 0, MAX_DURATION_MS),
    remainingTimeMs: options.remainingTimeMs,
    visibilityTimeoutMs: integer('visibilityTimeoutMs', merged.visibilityTimeoutMs, 1),
    maxRedeliveryDelayMs: integer('maxRedeliveryDelayMs', merged.maxRedeliveryDelayMs, 1),
    handlerTimeoutMs:
      options.handlerTimeoutMs === undefined
        ? undefined
        : integer('handlerTimeoutMs', options.handlerTimeoutMs, 1, MAX_DURATION_MS),
    maxDeliveries: integer('maxDeliveries', merged.maxDeliveries, 1, 1_000),
    batchSize: integer('batchSize', merged.batchSize, 1, 10_000),
    blockMs: integer('blockMs', merged.blockMs, 1, MAX_DURATION_MS),
    concurrency: integer('concurrency', merged.concurrency, 1, 1_000),
    idleExitMs:
      options.idleExitMs === undefined
        ? undefined
        : integer('idleExitMs', options.idleExitMs, 0, MAX_DURATION_MS),
    startId: merged.startId,
    trim: boolean('trim', merged.trim),
    retentionMs: integer('retentionMs', merged.retentionMs, 0),
    maxLength: options.maxLength === undefined ? undefined : integer('maxLength', options.maxLength, 1),
    consumerPrefix: merged.consumerPrefix,
    signal: options.signal,
    logger: {
      debug: typeof logger.debug === 'function' ? logger.debug.bind(logger) : () => {},
      info: logger.info.bind(logger),
      warn: logger.warn.bind(logger),
      error: logger.error.bind(logger),
    },
  });
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    fail(name, `Expected \`${name}\` to be a boolean, got ${describeGot(value)}`);
  return value;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
