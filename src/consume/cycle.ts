/**
 * The state of one drain cycle: its deadline, its abort signal, its counters, and a view of the
 * driver whose every call is raced against the cycle's hard stop. Nothing outlives the cycle: its
 * timers are cleared by `close()` before `drain()` returns.
 */
import { setMaxListeners } from 'node:events';
import type { Driver } from '../core/driver.js';
import { RedisUnavailableError } from '../core/errors.js';
import type { StreamKeys } from '../core/keys.js';
import { type AckLine, ackLine } from './acks.js';
import { type Heartbeat, heartbeat } from './hold.js';
import type { ResolvedDrainOptions } from './options.js';

/**
 * Why a cycle ended: its time was up (`budget`), nothing arrived for `idleExitMs` (`idle`), the
 * caller aborted it (`signal`), Redis or the drain failed (`error`), or — ordered draining — another
 * drain holds the lease on every partition it could serve (`leased`).
 */
export type StopReason = 'budget' | 'idle' | 'signal' | 'error' | 'leased';

/** Below this much time left, no new read or reclaim is started. */
export const MIN_PHASE_MS = 10;

export type Counts = {
  -readonly [K in
    | 'timedOut'
    | 'read'
    | 'reclaimed'
    | 'acked'
    | 'failed'
    | 'deadLettered'
    | 'unfinished'
    | 'released'
    | 'lostToTrim'
    | 'skipped'
    | 'promoted']: number;
};

/** Counts of a cycle that has done nothing yet. */
export function noCounts(): Counts {
  return {
    read: 0,
    reclaimed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    deadLettered: 0,
    unfinished: 0,
    released: 0,
    lostToTrim: 0,
    skipped: 0,
    promoted: 0,
  };
}

export interface Cycle<T> {
  /** The caller's driver, every call raced against the hard stop (see {@link guardDriver}). */
  readonly driver: Driver;
  readonly options: ResolvedDrainOptions<T>;
  readonly keys: StreamKeys;
  readonly consumer: string;
  /** The partition, on a partitioned topic. */
  readonly partition: number | undefined;
  readonly startedAt: number;
  readonly deadline: number;
  /**
   * The handlers' signal: fires at the deadline, at any other stop, and — when the caller's signal
   * stopped the cycle (a shutdown) — once `shutdownGraceMs` has passed with handlers still running.
   */
  readonly signal: AbortSignal;
  /** Fires as soon as the cycle stops for any reason: no read, reclaim or handler starts after it. */
  readonly stopping: AbortSignal;
  readonly counts: Counts;
  /**
   * When the soonest retry this cycle scheduled is due (ms since the epoch; infinite: none since
   * the last reclaim), so that the reads reclaim it in time.
   */
  retryDueAt: number;
  stoppedBy: StopReason | undefined;
  error: unknown;
  stop(reason: StopReason, error?: unknown): void;
  timeLeft(): number;
  /** Rejects when the hard stop passes first (Redis stalled). */
  guard<R>(promise: Promise<R>): Promise<R>;
  /** Its acknowledgements: sent, or left for the next read to carry, answered before it tidies. */
  readonly acks: AckLine;
  /** The timer renewing the holds on its batches (hold.ts). */
  readonly heartbeat: Heartbeat;
  /** Clears the cycle's timers; called once, before it returns. */
  close(): void;
}

/**
 * Settling after the deadline (acknowledging what finished) may take this much longer — half the
 * safety margin, at most 1 s, at least 100 ms. A Redis command still unanswered then is abandoned:
 * the cycle reports an error and returns, and what it did not acknowledge stays pending.
 */
function settleGraceMs(safetyMarginMs: number): number {
  return Math.min(1_000, Math.max(100, Math.floor(safetyMarginMs / 2)));
}

/** A view of `driver` whose every call rejects once `hardStop` does, so a stalled Redis cannot hold the cycle. */
function guardDriver(driver: Driver, guard: <R>(promise: Promise<R>) => Promise<R>): Driver {
  return {
    name: driver.name,
    capabilities: driver.capabilities,
    readGroup: (...args) => guard(driver.readGroup(...args)),
    ack: (...args) => guard(driver.ack(...args)),
    add: (...args) => guard(driver.add(...args)),
    evalSha: (...args) => guard(driver.evalSha(...args)),
    eval: (...args) => guard(driver.eval(...args)),
    close: () => driver.close(),
  };
}

/** When a drain starting now must be done: `now + min(budgetMs, remainingTimeMs() − safetyMarginMs)`. */
export function deadlineOf<T>(options: ResolvedDrainOptions<T>, now = Date.now()): number {
  let budgetMs = options.budgetMs;
  if (options.remainingTimeMs)
    budgetMs = Math.min(budgetMs, options.remainingTimeMs() - options.safetyMarginMs);
  return now + Math.max(0, budgetMs);
}

/** A consumer name unique to one drain invocation (shared by the partitions it serves: names are per stream). */
export function consumerName<T>(options: ResolvedDrainOptions<T>): string {
  return `${options.consumerPrefix}-${globalThis.crypto.randomUUID().slice(0, 13)}`;
}

/** Where a cycle works: its stream's keys, its consumer name, its deadline. */
export interface CyclePlace {
  readonly keys: StreamKeys;
  readonly consumer: string;
  readonly deadline: number;
  /** The partition, on a partitioned topic. */
  readonly partition?: number;
}

/**
 * A guard that races each call against a hard stop `afterMs` from now: past it, every call still
 * waited for, and every new one, rejects with a `RedisUnavailableError`. `cancel` clears its timer.
 */
function hardStop(afterMs: number): { guard: <R>(promise: Promise<R>) => Promise<R>; cancel: () => void } {
  // Calls under way register here and leave when they settle (a race against one long-lived
  // promise would keep every reply reachable until the cycle ends).
  const waiting = new Set<(error: Error) => void>();
  let hardStopError: Error | undefined;
  const timer = setTimeout(
    () => {
      hardStopError = new RedisUnavailableError("Redis did not answer before the cycle's deadline");
      for (const reject of waiting) reject(hardStopError);
      waiting.clear();
    },
    Math.max(0, afterMs),
  );
  const guard = <R>(promise: Promise<R>): Promise<R> => {
    if (hardStopError) {
      promise.catch(() => {}); // abandoned: nobody waits for it
      return Promise.reject(hardStopError);
    }
    return new Promise<R>((resolve, reject) => {
      waiting.add(reject);
      promise.then(
        (value) => {
          waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          waiting.delete(reject);
          reject(error);
        },
      );
    });
  };
  return { guard, cancel: () => clearTimeout(timer) };
}

export function openCycle<T>(driver: Driver, options: ResolvedDrainOptions<T>, place: CyclePlace): Cycle<T> {
  const startedAt = Date.now();
  const { deadline } = place;
  const stopping = new AbortController();
  const handlers = new AbortController();
  // Handlers running at once each listen to the cycle's signal: that is expected, not a leak.
  setMaxListeners(0, handlers.signal);
  // The hard stop: the deadline plus the settle grace. Past it, no Redis call is waited for.
  const { guard, cancel } = hardStop(deadline + settleGraceMs(options.safetyMarginMs) - startedAt);
  const timers: ReturnType<typeof setTimeout>[] = [];
  const guarded = guardDriver(driver, guard);
  const counts = noCounts();
  const stopHandlers = (reason: StopReason) => {
    for (const timer of timers) clearTimeout(timer);
    if (!handlers.signal.aborted) handlers.abort(reason);
  };
  const cycle: Cycle<T> = {
    driver: guarded,
    options,
    keys: place.keys,
    consumer: place.consumer,
    partition: place.partition,
    startedAt,
    deadline,
    signal: handlers.signal,
    stopping: stopping.signal,
    counts,
    retryDueAt: Number.POSITIVE_INFINITY,
    stoppedBy: undefined,
    error: undefined,
    stop(reason, error) {
      // The first reason stands, except that an error found while settling after the deadline
      // (Redis stalled) is what the report must say. The deadline still ends a shutdown's grace.
      if (cycle.stoppedBy !== undefined && !(reason === 'error' && cycle.stoppedBy !== 'error')) {
        if (reason === 'budget') stopHandlers(cycle.stoppedBy);
        return;
      }
      cycle.stoppedBy = reason;
      cycle.error = error;
      if (!stopping.signal.aborted) stopping.abort(reason);
      // A shutdown lets running handlers finish within the grace (and the deadline).
      if (reason === 'signal' && options.shutdownGraceMs > 0 && !handlers.signal.aborted) {
        timers.push(setTimeout(() => stopHandlers('signal'), options.shutdownGraceMs));
      } else stopHandlers(reason);
    },
    timeLeft: () => deadline - Date.now(),
    guard,
    acks: ackLine(guarded, place.keys.stream, options.group, {
      acked: (count) => {
        counts.acked += count;
      },
      failed: (error) => cycle.stop('error', error),
    }),
    heartbeat: heartbeat(options.visibilityTimeoutMs / 10),
    close: () => {
      cancel();
      cycle.heartbeat.stop();
      cycle.stop('budget');
    },
  };
  timers.push(setTimeout(() => cycle.stop('budget'), Math.max(0, deadline - startedAt)));
  const onAbort = () => cycle.stop('signal');
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  stopping.signal.addEventListener('abort', () => options.signal?.removeEventListener('abort', onAbort), {
    once: true,
  });
  return cycle;
}

/**
 * How many entries the next read or reclaim may take: `want` (the batch size), less what this
 * cycle's consumer already holds where the driver caps pending entries per consumer (Upstash:
 * 1000) — failed and unfinished messages, and `inHand` (batches handled or waiting while the next
 * ones are read). Zero or less means the cycle must stop taking work.
 */
export function room<T>(cycle: Cycle<T>, inHand = 0, want = cycle.options.batchSize): number {
  const limit = cycle.driver.capabilities.maxPendingPerConsumer;
  if (limit === undefined) return want;
  return Math.min(want, limit - cycle.counts.failed - cycle.counts.unfinished - inHand);
}

export function outOfRoom<T>(cycle: Cycle<T>): boolean {
  if (room(cycle) > 0) return false;
  cycle.options.logger.warn(
    'this cycle holds as many pending entries as the driver allows per consumer; ending it',
    {
      stream: cycle.keys.stream,
      group: cycle.options.group,
      limit: cycle.driver.capabilities.maxPendingPerConsumer,
    },
  );
  cycle.stop('budget');
  return true;
}

export function stopped<T>(cycle: Cycle<T>): boolean {
  if (cycle.stoppedBy !== undefined) return true;
  if (cycle.timeLeft() < MIN_PHASE_MS) {
    cycle.stop('budget');
    return true;
  }
  return false;
}
