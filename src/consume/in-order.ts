/**
 * Phases 2 and 3 in order (ordered draining, under the lease): reclaim from the oldest pending
 * entry while each is due, and read new entries only once nothing is pending. A message left
 * pending (failed, or unfinished at a deadline) holds back every later one until it is due again;
 * the wait is spent here when it fits in the cycle, else the cycle ends.
 */

import { RECLAIM_ORDERED } from '../core/cycle-scripts.js';
import { runScript } from '../core/driver.js';
import { parseOrderedReclaim } from '../core/replies.js';
import { sleep } from '../core/signals.js';
import type { HandleBatch } from './batch.js';
import { type Cycle, MIN_PHASE_MS, outOfRoom, room, stopped } from './cycle.js';
import { read } from './read.js';
import { handleReclaimed } from './reclaim.js';

export async function reclaimAndReadInOrder<T>(cycle: Cycle<T>, handle: HandleBatch): Promise<void> {
  const { driver, keys, consumer, options: o } = cycle;
  while (!stopped(cycle) && !outOfRoom(cycle)) {
    const page = parseOrderedReclaim(
      await runScript(
        driver,
        RECLAIM_ORDERED,
        [keys.stream],
        [o.group, consumer, o.visibilityTimeoutMs, o.maxRedeliveryDelayMs, room(cycle)],
      ),
    );
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
    if (await read(cycle, handle)) return;
  }
}
