/**
 * What a drain is told: the handler (one call per message, or per batch), the schema, and every
 * setting with its meaning and default. `options.ts` resolves and checks them.
 */
import type { Message } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { StandardSchemaV1 } from '../core/schema.js';
import type { RateLimit } from './rate-limit.js';
import type { WakeOptions } from './wake.js';

/** What a handler is given besides the message. */
export interface HandlerContext {
  /** Fires when the cycle's deadline is reached (or the cycle is aborted): stop work and throw. */
  readonly signal: AbortSignal;
  /** When the cycle ends (ms since the epoch). */
  readonly deadline: number;
}

/**
 * Processes one message. Resolve → acknowledged. Throw → left pending and delivered again after
 * its back-off (`visibilityTimeoutMs × 2^(deliveries − 1)`, capped). Throw a `RetryLaterError` →
 * delivered again after the delay it names. Throw a `PermanentError` → dead-lettered at once.
 */
export type Handler<T = unknown> = (message: Message<T>, context: HandlerContext) => unknown;

/** One message of a batch that failed, as a {@link BatchHandler} reports it. */
export interface BatchFailure {
  /** The message's id (`message.id`): one of the batch the handler was given, named once. */
  readonly id: string;
  /** Why it failed: logged, and kept with the message if it is dead-lettered. */
  readonly error?: unknown;
  /**
   * Deliver it again no earlier than this many ms from now (a finite number ≥ 0, capped at 12 hours),
   * as a thrown `RetryLaterError` would. Unset: the error's own delay, else the back-off.
   */
  readonly retryAfterMs?: number | undefined;
  /** `true`: retrying cannot help: dead-letter it at once, as a thrown `PermanentError` would. */
  readonly permanent?: boolean | undefined;
}

/** What a {@link BatchHandler} reports: the messages that failed. Every other one succeeded. */
export interface BatchResult {
  readonly failed: readonly BatchFailure[];
}

/**
 * Processes a whole batch in one call. Return nothing → every message is acknowledged. Return
 * `{ failed: [{ id, error?, retryAfterMs?, permanent? }] }` → those are delivered again (or
 * dead-lettered: `permanent`, or out of deliveries) and every other one is acknowledged. Throw →
 * every message is delivered again (a `RetryLaterError`'s delay, else the back-off); throw a
 * `PermanentError` → the whole batch is dead-lettered. A result naming an id that is not in the
 * batch, naming one twice, or of any other shape fails the whole batch (logged as an error).
 */
export type BatchHandler<T = unknown> = (
  messages: readonly Message<T>[],
  context: HandlerContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (async or not) returns void
) => BatchResult | void | Promise<BatchResult | void>;

/** A drain given a handler called once per message. */
export interface MessageHandling<T = unknown> {
  /** Called once per message (`concurrency` at a time). */
  readonly handler: Handler<T>;
  readonly batchHandler?: undefined;
}

/** A drain given a handler called once per batch (up to `batchSize` messages). */
export interface BatchHandling<T = unknown> {
  /**
   * Called once per batch with its messages in stream order, one call at a time (`concurrency`
   * does not apply). Ordered draining acknowledges no message after the first failed one: those
   * are given back, their delivery count restored.
   */
  readonly batchHandler: BatchHandler<T>;
  readonly handler?: undefined;
}

/** Exactly one of `handler` and `batchHandler`. */
export type Handling<T = unknown> = MessageHandling<T> | BatchHandling<T>;

/** The payload's schema, which types `message.data` (its output) and is checked before any handler call. */
export interface SchemaOption<T = unknown> {
  /**
   * The topic's schema (any Standard Schema: zod, valibot, arktype…). Each message's `data` is
   * validated before it is handed out, and `message.data` is the schema's output (typed from it).
   * A message that fails — written by another producer, or before the schema changed — is
   * dead-lettered at once (reason `invalid`, the issues in `dlq.error`) and never handed to a
   * handler. A foreign entry's `data` is `undefined`. Unset: no validation, no cost.
   * @default undefined
   */
  readonly schema?: StandardSchemaV1<unknown, T> | undefined;
}

/** Drain options: where, how long, how failures are retried, and exactly one of `handler` and `batchHandler`. */
export type DrainOptions<T = unknown> = DrainSettings & Handling<T> & SchemaOption<T>;

/** Drain options other than the handler. */
export interface DrainSettings {
  /** The topic to drain (stream `sluice:{topic}`). Give this or `stream`. */
  readonly topic?: string;
  /** A stream key used as it is, e.g. one another service XADDs to. Give this or `topic`. */
  readonly stream?: string;
  /** The consumer group (`[A-Za-z0-9._-]{1,100}`). Created on first use. */
  readonly group: string;
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
   * A pending message idle this long is reclaimed and delivered again. While its handler runs, the
   * drain renews its hold every tenth of this (until the handler ends, its `handlerTimeoutMs` or
   * the deadline), so a handler may run longer than this.
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
   * Jitter on the back-off of a failed message: `full` waits a random time between 0 and the
   * back-off (spreads retries of messages that failed together, e.g. when a dependency was down);
   * `none` waits the back-off exactly. A delay a handler chose (`RetryLaterError`) is never jittered.
   * @default 'none'
   */
  readonly retryJitter?: 'none' | 'full';
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
   * Batches read ahead in one round trip while the ones before them are handled, so that waiting
   * for Redis overlaps with processing (one read on its way at a time; what was read ahead is held
   * like the batch being handled, and given back unstarted at the deadline, on a shutdown or when
   * the cycle ends). A crash costs what was read ahead one delivery, as it does the batch being
   * handled. 0: one batch at a time; 2 or more pays off for fast handlers over a slow network.
   * Ordered and rate-limited drains never read ahead.
   * @default 1
   */
  readonly prefetch?: number;
  /**
   * Handlers running at once. 1 keeps stream order. A `batchHandler` is called once per batch, one
   * call at a time: more than 1 with it is refused.
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
  /**
   * Ordered draining: per partition (or per stream), at most one drain at a time holds a lease and
   * hands messages to the handler one by one, and no message is handed over while an earlier one of
   * the same partition is still pending for the group — a failing message holds back the ones after
   * it until it succeeds or is dead-lettered. Requires `concurrency` 1 (partitions run in parallel).
   * @default false
   */
  readonly ordered?: boolean;
  /**
   * How long an ordered drain's lease lasts unless renewed (it is renewed every third of it while
   * the cycle runs, and released when the cycle ends). A drain that dies keeps its partitions this long.
   * @default visibilityTimeoutMs (at least 100)
   */
  readonly leaseMs?: number | undefined;
  /**
   * The partition count the topic must have (recorded in Redis on first use when it has none).
   * Unset: whatever is recorded, or 1 (a plain topic).
   * @default undefined
   */
  readonly partitions?: number | undefined;
  /**
   * The partitions this drain serves (indexes from 0). Unset: all of them.
   * @default undefined
   */
  readonly assignedPartitions?: readonly number[] | undefined;
  /**
   * Serve at most this many partitions per cycle, starting at a random one of those assigned, so
   * that concurrent drains share the topic (with `ordered`, those whose lease another drain holds
   * are passed over). Unset: every assigned partition.
   * @default undefined
   */
  readonly maxPartitions?: number | undefined;
  /**
   * Aborting it shuts the cycle down (reason `signal`): no read, reclaim or handler starts after it;
   * handlers already running may finish within `shutdownGraceMs`, then their signal fires; what
   * finished is acknowledged, what never started is given back (its delivery count restored), and
   * `drain` resolves its report. `shutdownSignal()` makes one from SIGTERM and SIGINT.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * After `signal` aborts, how long running handlers may go on before their own signal fires (they
   * then stay pending, like handlers cut off by the deadline). Never past the cycle's deadline.
   * 0: their signal fires at once.
   * @default 5000
   */
  readonly shutdownGraceMs?: number;
  /**
   * Event-driven draining ([docs](../../docs/event-driven.md)): the cycle first asks Redis whether
   * there is anything to do (an idle tick ends there, one script), counts itself among the group's
   * live drains, wakes helpers through `waker` when its backlog outruns its time, and its successor
   * when it ends with work left; unless `idleExitMs` is set, it ends 3 s after it ran dry. Unset:
   * the plain cycle.
   * @default undefined
   */
  readonly wake?: WakeOptions | undefined;
  /**
   * A rate limit shared by every drain of the group ([docs](../../docs/rate-limit.md)): together they
   * hand out at most `perSecond` new messages per second (bursts up to `burst`), decided by a
   * token bucket in Redis at read time — a read asks for no more entries than the tokens granted,
   * and waits for tokens within the deadline; `pauseOnRetryLater` lets a handler's
   * `RetryLaterError` pause the whole group. Unset: no limit, no cost.
   * @default undefined
   */
  readonly rateLimit?: RateLimit | undefined;
  /** Where the cycle's report and warnings go. @default jsonLogger() */
  readonly logger?: Logger;
}
