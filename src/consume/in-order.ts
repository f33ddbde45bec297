/**
 * Phases 2 and 3 in order (ordered draining, under the lease): reclaim from the oldest pending
 * entry while each is due, and read new entries only once nothing is pending. A message left
 * pending (failed, or unfinished at a deadline) holds back every later one until it is due again;
 * the wait is spent here when it fits in the cycle, else the cycle ends. Due delayed messages are
 * moved into the stream by each reclaim, and during the reads when one comes due.
 */

import { runScript } from '../core/driver.js';
import { parseOrderedReclaim, parsePromotion } from '../core/replies.js';
import { PROMOTE, RECLAIM_ORDERED } from '../core/schedule-scripts.js';
import { sleep } from '../core/signals.js';
import type { HandleBatch } from './batch.js';
import { type Cycle, MIN_PHASE_MS, outOfRoom, room, stopped } from './cycle.js';
import { read } from './read.js';
import { handleReclaimed, notePromoted, PROMOTE_LIMIT, type Reclaims } from './reclaim.js';

export async function reclaimAndReadInOrder<T>(cycle: Cycle<T>, handle: HandleBatch): Promise<void> {
  const { driver, keys, consumer, options: o } = cycle;
  const scripted = [keys.stream, keys.retrySchedule(o.group), keys.scheduled, keys.scheduledMessages];
  while (!stopped(cycle) && !outOfRoom(cycle)) {
    const page = parseOrderedReclaim(
      await runScript(driver, RECLAIM_ORDERED, scripted, [
        o.group,
        consumer,
        o.visibilityTimeoutMs,
        room(cycle),
        PROMOTE_LIMIT,
      ]),
    );
    const nextDeliveryMs = notePromoted(cycle, page);
    if (!(await handleReclaimed(cycle, page, handle))) continue;
    if (page.waitMs === 0) continue;
    if (page.waitMs > 0) {
      // Nothing can be handed out before the wait: past the idle exit or the cycle, that is idle
      // (a drain's lane then serves another partition, if it may).
      if (o.idleExitMs !== undefined && page.waitMs > o.idleExitMs) return cycle.stop('idle');
      if (page.waitMs > cycle.timeLeft() - MIN_PHASE_MS) return cycle.stop('idle');
      await sleep(page.waitMs, cycle.stopping);
      continue;
    }
    // Nothing is pending: new entries may go, until one of them is left pending.
    if (await read(cycle, handle, promotions(cycle, nextDeliveryMs))) return;
  }
}

/** An ordered drain's reads reclaim nothing, but still move delayed messages into the stream when due. */
function promotions<T>(cycle: Cycle<T>, nextDeliveryMs: number | undefined): Reclaims {
  const { driver, keys } = cycle;
  let nextAt = nextDeliveryMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + nextDeliveryMs;
  return {
    nextAt: () => nextAt,
    async run() {
      const reply = await runScript(
        driver,
        PROMOTE,
        [keys.stream, keys.scheduled, keys.scheduledMessages],
        [PROMOTE_LIMIT],
      );
      const next = notePromoted(cycle, parsePromotion(reply));
      nextAt = next === undefined ? Number.POSITIVE_INFINITY : Date.now() + Math.max(next, 20);
      return 0;
    },
  };
}
