/**
 * Phase 4, process: the handler runs over a batch (bounded concurrency; 1 keeps stream order), each
 * message's verdict recorded as its handler ends — a success's acknowledgement sent at once, with
 * those of the same event-loop turn (acks.ts) — while a heartbeat holds what is not finished
 * (hold.ts). What the other verdicts mean for Redis is the settle phase's to send.
 */
import { decodeMessage, type Message } from '../core/envelope.js';
import { describeError, HandlerTimeoutError, isPermanent, retryDelayOf } from '../core/errors.js';
import { handlerLimit, untilAborted, untilSettledOrAborted } from '../core/signals.js';
import { ackAsFinished } from './acks.js';
import { type BatchRun, type Delivery, isRetry, type Outcome, type Retry, type Settlement } from './batch.js';
import type { Cycle } from './cycle.js';
import type { DeadLetterCandidate } from './dead-letters.js';
import { type BatchHold, holdBatch } from './hold.js';
import type { Handler, HandlerContext } from './options.js';
import { pauseAfterRetryLater } from './rate-limit.js';
import { checkMessage } from './validate-message.js';

/** A cycle whose drain has a per-message handler (`drain-stream.ts` picks this path for it). */
export type MessageCycle<T> = Cycle<T> & { readonly options: { readonly handler: Handler<T> } };

/**
 * Runs the handler over `batch` until every message was handled or the cycle stopped waiting (its
 * deadline or a stop), and says what settling must do. Ordered: the first message left pending
 * stops the batch, and the rest are never started.
 */
export function processBatch<T>(
  cycle: MessageCycle<T>,
  batch: readonly Delivery[],
  heldSince?: number,
): Promise<Settlement> {
  return withBatchRun(cycle, batch, heldSince, async (run, hold) => {
    // Without a per-handler limit, every call shares one context and a handler that returns no
    // promise costs no await: the batch-level wait below is what stops waiting at the deadline.
    const shared: HandlerContext = Object.freeze({ signal: cycle.signal, deadline: cycle.deadline });
    const worker = () => handleInTurn(cycle, run, hold, shared);
    const workers = Promise.all(
      Array.from({ length: Math.min(cycle.options.concurrency, batch.length) }, worker),
    );
    await untilAborted(workers, cycle.signal);
  });
}

/**
 * A batch's run, for either kind of handler: its outcomes, the acks sent as they come and the
 * heartbeat holding it (since `heldSince`, else from now) while `work` hands it out; then what
 * settling must do.
 */
export async function withBatchRun<T>(
  cycle: Cycle<T>,
  batch: readonly Delivery[],
  heldSince: number | undefined,
  work: (run: BatchRun, hold: BatchHold) => Promise<void>,
): Promise<Settlement> {
  const outcomes: (Outcome | undefined)[] = new Array(batch.length);
  const acks = ackAsFinished(cycle, batch, outcomes);
  const run: BatchRun = { batch, outcomes, acks, next: 0, open: true, halted: false };
  const hold = holdBatch(cycle, run, heldSince);
  await work(run, hold);
  run.open = false;
  // The heartbeat stops; a renewal under way finishes first, or its touch could undo the release of
  // what was never started. What succeeded and is not sent yet goes now, ordered (answered before
  // anything after it is handed out: a lost XACK would leave an earlier message pending), else
  // with the cycle's next read (acks.ts).
  await hold.release();
  await acks.finish(cycle.options.ordered);
  return tally(cycle, run);
}

/**
 * One worker: hands out the batch's next message, one at a time, once the hold on it is fresh —
 * decoded, checked against the schema if any (one that fails is dead-lettered, never handed out),
 * then the handler called, under its own limit when it has one, and awaited only when it returned
 * a promise.
 */
async function handleInTurn<T>(
  cycle: MessageCycle<T>,
  run: BatchRun,
  hold: BatchHold,
  shared: HandlerContext,
): Promise<void> {
  // No message is handed out once the cycle stops (a shutdown lets those running finish).
  const { stopping: signal, options: o, keys } = cycle;
  while (run.next < run.batch.length && !signal.aborted && !run.halted) {
    const renewal = hold.keep();
    if (renewal !== undefined) {
      await renewal;
      // Other workers waited for the same renewal and may have taken the last messages meanwhile.
      if (signal.aborted || run.halted || run.next >= run.batch.length) break;
    }
    const index = run.next++;
    if (run.outcomes[index] === 'lost') continue;
    const delivery = run.batch[index] as Delivery;
    let message = decodeMessage(keys.stream, delivery.entry, delivery.deliveries) as Message<T>;
    if (o.schema !== undefined) {
      const found = checkMessage(o.schema, delivery, message);
      const checked = found instanceof Promise ? await found : found;
      if ('dead' in checked) {
        invalid(cycle, run, index, checked.dead);
        continue;
      }
      message = checked.message;
      // An asynchronous schema may have answered after the cycle stopped handing messages out.
      if (!run.open || signal.aborted) break;
    }
    if (o.handlerTimeoutMs !== undefined) {
      await handleLimited(cycle, run, index, message, o.handlerTimeoutMs);
      continue;
    }
    try {
      const result = o.handler(message, shared);
      if (isThenable(result)) await result;
    } catch (error) {
      failed(cycle, run, index, error, false);
      continue;
    }
    succeeded(run, index);
  }
}

/** A message that failed the schema: dead-lettered, never handed out (ordered: nothing after it either). */
function invalid<T>(cycle: Cycle<T>, run: BatchRun, index: number, dead: DeadLetterCandidate): void {
  if (!run.open) return;
  run.halted = cycle.options.ordered;
  run.outcomes[index] = dead;
}

/** Calls the handler under its own time limit (`handlerTimeoutMs`) as well as the cycle's. */
async function handleLimited<T>(
  cycle: MessageCycle<T>,
  run: BatchRun,
  index: number,
  message: Message<T>,
  timeoutMs: number,
): Promise<void> {
  const limit = handlerLimit(cycle.signal, timeoutMs);
  try {
    // The cycle stops waiting when the limit fires, whether or not the handler honours it.
    await untilSettledOrAborted(
      Promise.resolve().then(() =>
        cycle.options.handler(message, { signal: limit.signal, deadline: cycle.deadline }),
      ),
      limit.signal,
    );
    succeeded(run, index);
  } catch (error) {
    failed(cycle, run, index, error, limit.timedOut());
  } finally {
    limit.release();
  }
}

/** A handler succeeded: its acknowledgement leaves with this turn's (unless the batch was let go). */
function succeeded(run: BatchRun, index: number): void {
  if (!run.open) return;
  run.outcomes[index] = 'ack';
  run.acks.add(index);
}

/** A handler threw (or timed out): record its verdict, unless the batch was let go meanwhile. */
function failed<T>(cycle: Cycle<T>, run: BatchRun, index: number, thrown: unknown, timedOut: boolean): void {
  const { options: o, counts } = cycle;
  // A handler cut short by the cycle's end has not finished: it stays pending as it is.
  if (!run.open || cycle.signal.aborted) return;
  const error = timedOut ? new HandlerTimeoutError(o.handlerTimeoutMs as number) : thrown;
  if (timedOut) counts.timedOut++;
  // Ordered: nothing after it is handed out (dead-lettered first: it may fail to move).
  run.halted = o.ordered;
  run.outcomes[index] = verdictOf(cycle, run.batch[index] as Delivery, error);
}

/**
 * What a failure means for its message: a dead letter when it is permanent or the message is out
 * of deliveries, else a retry after the delay the failure asks for (`RetryLaterError`) or the
 * back-off by delivery count (with full jitter when asked). A retry is logged as a warning.
 */
export function verdictOf<T>(
  cycle: Cycle<T>,
  { entry, deliveries }: Delivery,
  error: unknown,
): Retry | DeadLetterCandidate {
  const { options: o } = cycle;
  const permanent = isPermanent(error);
  if (permanent || deliveries >= o.maxDeliveries) {
    return {
      id: entry.id,
      fields: entry.fields ?? [],
      deliveries,
      reason: permanent ? 'permanent' : 'max-deliveries',
      error,
    };
  }
  const chosen = retryDelayOf(error);
  if (chosen !== undefined) pauseAfterRetryLater(cycle, chosen);
  const retryInMs = chosen ?? backoff(cycle, deliveries);
  o.logger.warn('handler failed; the message will be delivered again', {
    stream: cycle.keys.stream,
    group: o.group,
    id: entry.id,
    deliveries,
    retryInMs,
    error: describeError(error),
  });
  return { id: entry.id, retryInMs };
}

/** The back-off after a failed delivery: `visibility × 2^(deliveries − 1)`, capped, optionally jittered. */
function backoff<T>(cycle: Cycle<T>, deliveries: number): number {
  const { visibilityTimeoutMs: vt, maxRedeliveryDelayMs, retryJitter } = cycle.options;
  const delay = Math.min(vt * 2 ** (deliveries - 1), Math.max(maxRedeliveryDelayMs, vt));
  return retryJitter === 'full' ? Math.floor(Math.random() * (delay + 1)) : delay;
}

/** The batch's verdicts, counted, as the settle phase takes them. */
function tally<T>(cycle: Cycle<T>, run: BatchRun): Settlement {
  const { counts } = cycle;
  const dead: DeadLetterCandidate[] = [];
  const retries: Retry[] = [];
  let keptPending = 0;
  for (let i = 0; i < run.next; i++) {
    const outcome = run.outcomes[i];
    if (isRetry(outcome)) {
      counts.failed++;
      retries.push(outcome);
    } else if (outcome === undefined) counts.unfinished++;
    else if (typeof outcome === 'object') dead.push(outcome);
    if (isRetry(outcome) || outcome === undefined) keptPending++;
  }
  return { dead, retries, unstarted: run.batch.slice(run.next), keptPending };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
