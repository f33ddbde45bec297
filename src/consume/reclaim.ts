/**
 * Phase 2, reclaim: take over entries other consumers left pending past the visibility timeout —
 * longer for messages that failed before (the redelivery back-off) — and dead-letter those
 * delivered too often. The rest go to the cycle's process and settle phases.
 */
import { runScript } from '../core/driver.js';
import { parseReclaim } from '../core/replies.js';
import { RECLAIM } from '../core/scripts.js';
import type { Delivery, HandleBatch } from './batch.js';
import { type Cycle, outOfRoom, room, stopped } from './cycle.js';
import type { DeadLetterCandidate } from './dead-letters.js';
import { deadLetterOrKeep, giveBack } from './settle.js';

/** A page of reclaimed entries (plain or ordered reclaim). */
export interface ReclaimedPage {
  readonly claimed: readonly Delivery[];
  /** Pending entries that were gone from the stream (trimmed or deleted). */
  readonly deletedIds: readonly string[];
}

/** Reclaims page after page (XAUTOCLAIM's cursor) until the group has nothing due, or the cycle stops. */
export async function reclaim<T>(cycle: Cycle<T>, handle: HandleBatch): Promise<void> {
  const { driver, keys, consumer, options: o } = cycle;
  let cursor = '-';
  do {
    if (stopped(cycle) || outOfRoom(cycle)) return;
    const page = parseReclaim(
      await runScript(
        driver,
        RECLAIM,
        [keys.stream],
        [o.group, consumer, o.visibilityTimeoutMs, o.maxRedeliveryDelayMs, cursor, o.batchSize, room(cycle)],
      ),
    );
    cursor = page.cursor;
    await handleReclaimed(cycle, page, handle);
  } while (cursor !== '0');
}

/**
 * Counts a reclaimed page, dead-letters its entries delivered too often already, and hands the rest
 * to `handle`. Resolves `true` when every one was settled (acknowledged or dead-lettered).
 */
export async function handleReclaimed<T>(
  cycle: Cycle<T>,
  page: ReclaimedPage,
  handle: HandleBatch,
): Promise<boolean> {
  const { options: o, counts } = cycle;
  noteDeleted(cycle, page.deletedIds);
  counts.reclaimed += page.claimed.length;
  const toHandle: Delivery[] = [];
  const exhausted: DeadLetterCandidate[] = [];
  for (const { entry, deliveries } of page.claimed) {
    // Past the limit without a verdict: earlier attempts crashed or ran out of time.
    if (deliveries > o.maxDeliveries) {
      exhausted.push({
        id: entry.id,
        fields: entry.fields ?? [],
        deliveries: deliveries - 1,
        reason: 'max-deliveries',
        error: `delivered ${deliveries - 1} times without success (maxDeliveries ${o.maxDeliveries})`,
      });
    } else toHandle.push({ entry, deliveries });
  }
  let settled = true;
  if (exhausted.length > 0) {
    const moved = await deadLetterOrKeep(cycle, exhausted);
    counts.deadLettered += moved;
    settled = moved === exhausted.length;
    if (!settled && o.ordered) {
      // The ones after an entry that stays pending must wait for it: give them back unstarted.
      await giveBack(cycle, toHandle);
      return false;
    }
  }
  if (toHandle.length === 0) return settled;
  return (await handle(toHandle)) && settled;
}

/** Counts and logs pending entries that were gone from the stream when reclaimed. */
function noteDeleted<T>(cycle: Cycle<T>, ids: readonly string[]): void {
  if (ids.length === 0) return;
  cycle.counts.lostToTrim += ids.length;
  cycle.options.logger.warn('pending entries were deleted from the stream before being processed', {
    stream: cycle.keys.stream,
    group: cycle.options.group,
    ids: ids.slice(0, 20),
    count: ids.length,
  });
}
