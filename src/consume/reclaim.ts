/**
 * Phase 2, reclaim: take over entries other consumers left pending past the visibility timeout —
 * longer for messages that failed before (the redelivery back-off) — and dead-letter those
 * delivered too often. The rest go to the cycle's process and settle phases.
 */

import { RECLAIM } from '../core/cycle-scripts.js';
import { runScript } from '../core/driver.js';
import { parseReclaim } from '../core/replies.js';
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

/**
 * Reclaims page after page (XAUTOCLAIM's cursor) until the group has nothing due, or the cycle stops.
 * Resolves how many entries it claimed, and in how many ms (from its last page) the first pending
 * entry it saw that another consumer holds can be due (`undefined`: none seen, or the scan stopped).
 */
export async function reclaim<T>(
  cycle: Cycle<T>,
  handle: HandleBatch,
): Promise<{ claimed: number; nextDueMs: number | undefined }> {
  const { driver, keys, consumer, options: o } = cycle;
  let cursor = '-';
  let claimed = 0;
  for (;;) {
    if (stopped(cycle) || outOfRoom(cycle)) return { claimed, nextDueMs: undefined };
    const page = parseReclaim(
      await runScript(
        driver,
        RECLAIM,
        [keys.stream],
        [o.group, consumer, o.visibilityTimeoutMs, o.maxRedeliveryDelayMs, cursor, o.batchSize, room(cycle)],
      ),
    );
    cursor = page.cursor;
    claimed += page.claimed.length;
    const seenAt = Date.now();
    await handleReclaimed(cycle, page, handle);
    if (cursor === '0') {
      const nextDueMs = page.nextDueMs === undefined ? undefined : page.nextDueMs - (Date.now() - seenAt);
      return { claimed, nextDueMs };
    }
  }
}

/** Reclaim over a cycle: at its start, then again whenever pending entries can have become due. */
export interface Reclaims {
  /** When to reclaim next (ms since the epoch). */
  nextAt(): number;
  /** Reclaims what is due now and plans the next time; resolves how many entries it claimed. */
  run(): Promise<number>;
}

/**
 * Plans a cycle's reclaims. After each, the next one is due when the first pending entry it saw in
 * another consumer's hands can be due — but never sooner than a tenth of the visibility timeout
 * after it (bounded cost: a hold renewed that often is never due), and never later than one
 * visibility timeout (entries read meanwhile, or beyond what the script looked at, can be due by then).
 */
export function reclaims<T>(cycle: Cycle<T>, handle: HandleBatch): Reclaims {
  const vt = cycle.options.visibilityTimeoutMs;
  let nextAt = 0;
  return {
    nextAt: () => nextAt,
    async run() {
      const startedAt = Date.now();
      const { claimed, nextDueMs } = await reclaim(cycle, handle);
      const now = Date.now();
      const due = nextDueMs === undefined ? startedAt + vt : Math.min(startedAt + vt, now + nextDueMs);
      nextAt = Math.max(due, now + Math.ceil(vt / 10));
      return claimed;
    },
  };
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
