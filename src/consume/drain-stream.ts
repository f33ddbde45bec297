/**
 * The drain cycle over one stream: one bounded pass over a consumer group, as one function of
 * named phases, each in a file of its own.
 *
 *     ensureGroup → reclaim → read (→ reclaim when due) → (process → settle)* → tidy → report
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
import type { HandleBatch } from './batch.js';
import { type Cycle, type CyclePlace, openCycle } from './cycle.js';
import { ensureGroup } from './ensure.js';
import { reclaimAndReadInOrder } from './in-order.js';
import { type Lease, takeLease } from './lease.js';
import type { ResolvedDrainOptions } from './options.js';
import { processBatch } from './process.js';
import { read } from './read.js';
import { reclaims } from './reclaim.js';
import { type DrainReport, reportOf } from './report.js';
import { settle } from './settle.js';
import { tidy, UNMEASURED } from './tidy.js';

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
  // Phases 4 and 5, over each batch that reclaim and read take.
  const processAndSettle: HandleBatch = async (batch) => settle(cycle, await processBatch(cycle, batch));
  let lease: Lease | undefined;
  try {
    if (o.ordered) {
      lease = await cycle.guard(takeLease(cycle));
      if (lease === undefined) return leased(cycle);
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
  const report = reportOf(cycle, await tidy(cycle));
  // Handlers still running may yet finish: no other drain may hand out what comes after their
  // messages before those can be reclaimed, so the lease stays for the visibility timeout.
  await lease?.release(cycle.counts.unfinished > 0 ? o.visibilityTimeoutMs : 0);
  cycle.close();
  return report;
}

/** Another drain holds the stream's lease: this cycle ends at once, having done nothing. */
function leased<T>(cycle: Cycle<T>): DrainReport {
  cycle.stop('leased');
  cycle.close();
  return reportOf(cycle, UNMEASURED);
}
