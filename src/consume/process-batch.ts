/**
 * Phase 4 with a batch handler: one call over the whole batch, the outcome of each message taken
 * from what it returns — the successes acknowledged in one XACK (acks.ts), each failure retried or
 * dead-lettered as `verdictOf` decides for a per-message handler's — while a heartbeat holds every
 * message of the batch (hold.ts). A call still running when the cycle stops waiting (its deadline,
 * a shutdown's grace) leaves the batch pending, unfinished; what it returns later is ignored.
 */
import { decodeMessage, type Message } from '../core/envelope.js';
import {
  describeError,
  HandlerTimeoutError,
  isPermanent,
  retryDelayOf,
  SluiceError,
} from '../core/errors.js';
import { handlerLimit, untilSettledOrAborted } from '../core/signals.js';
import { describeGot } from '../core/validate.js';
import type { BatchRun, Delivery, Settlement } from './batch.js';
import type { Cycle } from './cycle.js';
import type { BatchFailure, BatchHandler } from './options.js';
import { verdictOf, withBatchRun } from './process.js';
import { checkBatch } from './validate-message.js';

/** A cycle whose drain has a batch handler (`drain-stream.ts` picks this path for it). */
export type BatchCycle<T> = Cycle<T> & { readonly options: { readonly batchHandler: BatchHandler<T> } };

/** A batch handler's result it cannot use (an id not in the batch, twice, a bad field): the batch fails. */
export class InvalidBatchResultError extends SluiceError {
  override name = 'InvalidBatchResultError';
}

/**
 * A failure a batch handler reported: its `error` (the cause) with the delay or permanence the
 * report asked for, read by `verdictOf` as it reads a thrown `RetryLaterError` or `PermanentError`.
 */
class ReportedFailure extends SluiceError {
  override name = 'ReportedFailure';
  readonly retryAfterMs: number | undefined;
  readonly permanent: boolean;
  constructor({ id, error, retryAfterMs, permanent }: BatchFailure) {
    super(error === undefined ? `the batch handler reported ${id} failed` : describeError(error), {
      cause: error,
    });
    this.retryAfterMs = retryAfterMs ?? retryDelayOf(error);
    this.permanent = permanent ?? isPermanent(error);
  }
}

/**
 * Calls the batch handler once over `batch` (the messages still held) and says what settling must
 * do. Ordered: the batch is settled up to its first failed message, as if the handler had stopped
 * there — every message after it is given back, its delivery count restored.
 */
export function processWholeBatch<T>(
  cycle: BatchCycle<T>,
  batch: readonly Delivery[],
  heldSince?: number,
): Promise<Settlement> {
  return withBatchRun(cycle, batch, heldSince, async (run, hold) => {
    // The batch is handed out once its hold is fresh (a blocked event loop may have delayed the heartbeat).
    const renewal = hold.keep();
    if (renewal !== undefined) await renewal;
    // No call starts once the cycle stops: the batch is given back (next stays 0).
    if (!cycle.stopping.aborted) await callHandler(cycle, run);
  });
}

/** The call, under `handlerTimeoutMs` and the cycle's signal, and the outcomes it leads to. */
async function callHandler<T>(cycle: BatchCycle<T>, run: BatchRun): Promise<void> {
  const { options: o, keys } = cycle;
  run.next = run.batch.length;
  // A message another consumer took while the hold was renewed is not handed out.
  let handed = run.batch.flatMap((_, index) => (run.outcomes[index] === 'lost' ? [] : [index]));
  if (handed.length === 0) return;
  // Decoded lazily (`data` on first access): one message's bad payload fails only that message.
  let messages = handed.map((index) => {
    const { entry, deliveries } = run.batch[index] as Delivery;
    return decodeMessage(keys.stream, entry, deliveries) as Message<T>;
  });
  if (o.schema !== undefined) {
    // Those failing the schema are dead-lettered and left out of the call.
    ({ handed, messages } = await checkBatch(o.schema, o.ordered, run, handed, messages));
    if (handed.length === 0 || cycle.stopping.aborted) return;
  }
  const limit = handlerLimit(cycle.signal, o.handlerTimeoutMs);
  let result: unknown;
  try {
    // The cycle stops waiting when the limit fires, whether or not the handler honours it.
    const call = Promise.resolve()
      .then(() => o.batchHandler(messages, { signal: limit.signal, deadline: cycle.deadline }))
      .then((value) => {
        result = value;
      });
    await untilSettledOrAborted(call, limit.signal);
  } catch (error) {
    // Cut short by the cycle's end: not finished, the batch stays pending as it is.
    if (cycle.signal.aborted) return;
    const timedOut = limit.timedOut();
    if (timedOut) cycle.counts.timedOut += handed.length;
    return settleAll(
      cycle,
      run,
      handed,
      timedOut ? new HandlerTimeoutError(o.handlerTimeoutMs as number) : error,
    );
  } finally {
    limit.release();
  }
  const failures = failuresOf(result, run, handed);
  if (typeof failures === 'string') {
    o.logger.error('the batch handler returned an unusable result; the whole batch will be delivered again', {
      stream: keys.stream,
      group: o.group,
      problem: failures,
    });
    return settleAll(cycle, run, handed, new InvalidBatchResultError(failures));
  }
  settleEach(cycle, run, handed, failures);
}

/** Every message handed out failed with `error` (a throw, a timeout, an unusable result). */
function settleAll<T>(cycle: Cycle<T>, run: BatchRun, handed: readonly number[], error: unknown): void {
  settleEach(cycle, run, handed, new Map(handed.map((index) => [index, error])));
}

/**
 * Records each message's outcome in stream order: a failure's verdict, else an ack. Ordered: the
 * first failure ends the batch (`next`): what comes after it is given back by the settle phase.
 */
function settleEach<T>(
  cycle: Cycle<T>,
  run: BatchRun,
  handed: readonly number[],
  failures: ReadonlyMap<number, unknown>,
): void {
  for (const index of handed) {
    if (!failures.has(index)) {
      run.outcomes[index] = 'ack';
      run.acks.add(index);
      continue;
    }
    run.outcomes[index] = verdictOf(cycle, run.batch[index] as Delivery, failures.get(index));
    if (cycle.options.ordered) {
      run.next = index + 1;
      return;
    }
  }
}

/**
 * The failures a result reports, by index in the batch, each as the error `verdictOf` reads; or
 * what is wrong with the result. Nothing (`undefined`) means every message succeeded.
 */
function failuresOf(
  result: unknown,
  run: BatchRun,
  handed: readonly number[],
): Map<number, unknown> | string {
  const failures = new Map<number, unknown>();
  if (result === undefined) return failures;
  const failed =
    typeof result === 'object' && result !== null ? (result as { failed?: unknown }).failed : undefined;
  if (!Array.isArray(failed))
    return `expected nothing or { failed: [{ id, … }] }, got ${describeGot(result)}${typeof result === 'object' && result !== null ? ' without a `failed` array' : ''}`;
  const indexOf = new Map(handed.map((index) => [(run.batch[index] as Delivery).entry.id, index]));
  for (const [n, failure] of failed.entries()) {
    const problem = failureProblem(failure);
    if (problem !== undefined) return `failed[${n}]: ${problem}`;
    const { id } = failure as BatchFailure;
    const index = indexOf.get(id);
    if (index === undefined) return `failed[${n}]: id ${JSON.stringify(id)} is not a message of this batch`;
    if (failures.has(index)) return `failed[${n}]: id ${JSON.stringify(id)} is listed twice`;
    const reported = failure as BatchFailure;
    const plain = reported.retryAfterMs === undefined && reported.permanent === undefined;
    failures.set(
      index,
      plain && reported.error !== undefined ? reported.error : new ReportedFailure(reported),
    );
  }
  return failures;
}

/** What is wrong with one entry of `failed`, or undefined. */
function failureProblem(failure: unknown): string | undefined {
  if (typeof failure !== 'object' || failure === null || Array.isArray(failure))
    return `expected { id, error?, retryAfterMs?, permanent? }, got ${describeGot(failure)}`;
  const { id, retryAfterMs, permanent } = failure as Record<string, unknown>;
  if (typeof id !== 'string') return `expected \`id\` to be a message id (string), got ${describeGot(id)}`;
  if (
    retryAfterMs !== undefined &&
    (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0)
  )
    return `expected \`retryAfterMs\` of ${id} to be a finite number ≥ 0, got ${describeGot(retryAfterMs)}`;
  if (permanent !== undefined && typeof permanent !== 'boolean')
    return `expected \`permanent\` of ${id} to be a boolean, got ${describeGot(permanent)}`;
  return undefined;
}
