/**
 * The drain cycle over one stream: one bounded pass over a consumer group, as one function of
 * named phases, each in a file of its own.
 *
 *     ensureGroup → reclaim → read (→ reclaim when due) → (process → settle)* → tidy → report
 *
 * (tidy sends the report to the group's history with its own script: one round trip for both.)
 *
 * Event-driven (`wake`), a probe comes first (nothing to do: the cycle ends there), the fan-out
 * looks at the backlog after each batch, and the cycle leaves the group's live drains last
 * (`wake.ts`).
 *
 * Reclaim and read take batches (reclaim again during the reads whenever pending entries can have
 * become due, `reclaim.ts`); each batch goes through process (the handler) and settle (acks,
 * dead letters, what was never started) before the next is taken. Ordered draining takes the
 * stream's lease first and replaces reclaim and read with one loop that never hands out a message
 * while an earlier one is pending (`in-order.ts`). The cycle's state, deadline and guarded driver
 * live in `cycle.ts`. Nothing outlives the cycle: its timers are cleared before it returns.
 * `drain.ts` picks the streams (partitions).
 */

import type { Driver } from '../core/driver.js';
import { InvalidOptionError } from '../core/errors.js';
import type { Delivery, HandleBatch, Settlement } from './batch.js';
import { type Cycle, type CyclePlace, openCycle } from './cycle.js';
import { ensureGroup } from './ensure.js';
import { reclaimAndReadInOrder } from './in-order.js';
import { layoutUnread } from './layout-check.js';
import { type Lease, takeLease } from './lease.js';
import type { ResolvedDrainOptions } from './options.js';
import { type MessageCycle, processBatch } from './process.js';
import { type BatchCycle, processWholeBatch } from './process-batch.js';
import { read } from './read.js';
import { reclaims } from './reclaim.js';
import { type DrainReport, reportOf } from './report.js';
import { settle } from './settle.js';
import { tidy, UNMEASURED } from './tidy.js';
import { type FanOut, fanOut, finish, probe } from './wake.js';

/**
 * Runs one bounded drain cycle over the consumer group on one stream and reports what it did. It
 * never throws for Redis or handler failures: those end the cycle with `stoppedBy: 'error'` and
 * lose nothing (what was not acknowledged stays pending). It does not log its report: `drain` does.
 */
export async function drainStream<T>(
  driver: Driver,
  o: ResolvedDrainOptions<T>,
  place: CyclePlace,
): Promise<DrainReport> {
  const cycle = openCycle(driver, o, place);
  let lease: Lease | undefined;
  let fan: FanOut | undefined;
  // Phases 4 and 5, over each batch that reclaim and read take (event-driven: then the fan-out's look).
  const process = processorOf(cycle);
  const processAndSettle: HandleBatch = async (batch, heldSince) => {
    const settled = await settle(cycle, await process(batch, heldSince));
    await fan?.check();
    return settled;
  };
  try {
    if (o.wake !== undefined) {
      // Event-driven: nothing to do, or enough drains at it → the cycle ends here (one script,
      // which records this report).
      const idle: DrainReport = { ...reportOf(cycle, { ...UNMEASURED, lag: 0 }), stoppedBy: 'idle' };
      const { verdict, lag } = await cycle.guard(probe(cycle, idle));
      if (verdict !== 'run') return ended(cycle, 'idle', idle);
      fan = fanOut(cycle, lag);
    }
    if (o.ordered) {
      lease = await cycle.guard(takeLease(cycle));
      if (lease === undefined) return ended(cycle, 'leased');
    }
    await ensureGroup(driver, cycle, async () => {
      if (o.ordered) return reclaimAndReadInOrder(cycle, processAndSettle);
      // Reclaim at the start, then again during the reads whenever pending entries can have become due.
      const reclaiming = reclaims(cycle, processAndSettle);
      await reclaiming.run();
      await read(cycle, processAndSettle, reclaiming);
    });
  } catch (error) {
    cycle.stop('error', error);
  }
  // Acknowledgements still on their way are answered (or abandoned at the hard stop) first.
  await cycle.acks.answered();
  // Tidied, measured and recorded in the history in one round trip.
  const report = await tidy(cycle);
  // Handlers still running may yet finish: no other drain may hand out what comes after their
  // messages before those can be reclaimed, so the lease stays for the visibility timeout.
  await lease?.release(cycle.counts.unfinished > 0 ? o.visibilityTimeoutMs : 0);
  // Event-driven: leave the group's live drains, waking a successor if work is left (not on a stream
  // the cycle left alone, its topic's layout unread or not plain).
  if (o.wake !== undefined && !layoutUnread(cycle)) await cycle.guard(finish(cycle)).catch(() => {});
  cycle.close();
  return report;
}

/** Phase 4 as the drain's handler wants it: one call per message (`process.ts`) or per batch (`process-batch.ts`). */
function processorOf<T>(
  cycle: Cycle<T>,
): (batch: readonly Delivery[], heldSince?: number) => Promise<Settlement> {
  if (hasBatchHandler(cycle)) return (batch, heldSince) => processWholeBatch(cycle, batch, heldSince);
  if (hasHandler(cycle)) return (batch, heldSince) => processBatch(cycle, batch, heldSince);
  // Resolved options have exactly one of the two.
  throw new InvalidOptionError('handler', 'Expected exactly one of `handler` and `batchHandler`');
}

function hasBatchHandler<T>(cycle: Cycle<T>): cycle is BatchCycle<T> {
  return cycle.options.batchHandler !== undefined;
}

function hasHandler<T>(cycle: Cycle<T>): cycle is MessageCycle<T> {
  return cycle.options.handler !== undefined;
}

/**
 * Another drain holds the stream's lease, or (event-driven) there is nothing to do: the cycle ends at
 * once, with `report` (the probe's, already recorded) or an unmeasured one.
 */
function ended<T>(cycle: Cycle<T>, reason: 'leased' | 'idle', report?: DrainReport): DrainReport {
  cycle.stop(reason);
  cycle.close();
  return report ?? reportOf(cycle, UNMEASURED);
}
