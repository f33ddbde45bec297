/**
 * Phase 2, reclaim: move due delayed messages into the stream, take back pending entries once due —
 * failed ones when the group's retry schedule says so, others once idle for the visibility timeout
 * (XAUTOCLAIM) — and dead-letter those delivered too often. The rest go to the cycle's process and
 * settle phases. A cycle's first reclaim also creates its group when the container does not know it
 * yet (`ensure.ts`).
 */

import { runScript } from '../core/driver.js';
import { type Promotion, parseReclaim } from '../core/replies.js';
import { RECLAIM } from '../core/schedule-scripts.js';
import type { Delivery, HandleBatch } from './batch.js';
import { type Cycle, outOfRoom, room, stopped } from './cycle.js';
import type { DeadLetterCandidate } from './dead-letters.js';
import { takeGroupToCreate } from './ensure.js';
import { layoutKeys, noteLayout, takeLayoutCheck } from './layout-check.js';
import { deadLetterOrKeep, giveBack } from './settle.js';

/** A page of reclaimed entries (plain or ordered reclaim). */
export interface ReclaimedPage {
  readonly claimed: readonly Delivery[];
  /** Pending entries that were gone from the stream (trimmed or deleted). */
  readonly deletedIds: readonly string[];
}

/** Delayed messages moved into the stream per reclaim (more wait for the next one). */
export const PROMOTE_LIMIT = 1_000;

/** When a reclaim found the next entries due: pending ones, and delayed messages (ms from then). */
export interface NextDue {
  /** The retry schedule's first entry, or one another consumer holds (not renewed meanwhile). */
  readonly pendingMs: number | undefined;
  readonly deliveryMs: number | undefined;
}

/**
 * Reclaims page after page (XAUTOCLAIM's cursor) until the group has nothing due, or the cycle
 * stops; its first page also moves due delayed messages into the stream. Resolves how many entries
 * it claimed, and when the next ones can be due (`undefined`: none seen, or the scan stopped).
 */
export async function reclaim<T>(
  cycle: Cycle<T>,
  handle: HandleBatch,
): Promise<{ claimed: number; next: NextDue }> {
  const { driver, keys, consumer, options: o } = cycle;
  const scripted = [keys.stream, keys.retrySchedule(o.group), keys.scheduled, keys.scheduledMessages];
  let cursor = '0-0';
  let claimed = 0;
  let deliveryMs: number | undefined;
  for (let first = true; ; first = false) {
    if (stopped(cycle) || outOfRoom(cycle)) return { claimed, next: { pendingMs: undefined, deliveryMs } };
    const args = [o.group, consumer, o.visibilityTimeoutMs, cursor, o.batchSize, room(cycle)];
    // The cycle's first reclaim reads its topic's layout, and creates its group, when the drain
    // does not know them yet.
    const layout = first ? takeLayoutCheck(cycle) : undefined;
    const group = first ? takeGroupToCreate(cycle) : undefined;
    const reply = await runScript(
      driver,
      RECLAIM,
      layout === undefined ? scripted : [...scripted, ...layoutKeys(layout.topic)],
      [...args, first ? PROMOTE_LIMIT : 0, group?.startId ?? '', layout === undefined ? 0 : 1],
    );
    const page = parseReclaim(reply);
    const extra = reply as unknown[];
    if (layout !== undefined) noteLayout(layout, extra[7], extra[8]);
    group?.created(Number(extra[6]));
    const seenAt = Date.now();
    if (first) deliveryMs = notePromoted(cycle, page);
    cursor = page.cursor;
    claimed += page.claimed.length;
    await handleReclaimed(cycle, page, handle);
    if (cursor === '0-0') {
      const since = Date.now() - seenAt;
      const pendingMs = page.nextDueMs === undefined ? undefined : page.nextDueMs - since;
      return {
        claimed,
        next: { pendingMs, deliveryMs: deliveryMs === undefined ? undefined : deliveryMs - since },
      };
    }
  }
}

/** Counts delayed messages a reclaim moved into the stream; resolves when the next is due (ms). */
export function notePromoted<T>(cycle: Cycle<T>, promotion: Promotion): number | undefined {
  cycle.counts.promoted += promotion.promoted;
  // More were due than one reclaim moves: the next reclaim comes at once.
  return promotion.promoted >= PROMOTE_LIMIT ? 0 : promotion.nextDeliveryMs;
}

/** Reclaim over a cycle: at its start, then again whenever pending entries can have become due. */
export interface Reclaims {
  /** When to reclaim next (ms since the epoch). */
  nextAt(): number;
  /** Reclaims what is due now and plans the next time; resolves how many entries it claimed. */
  run(): Promise<number>;
}

/** The soonest reclaim after another (a little clock and timer slack: the script decides what is due). */
const MIN_RECLAIM_GAP_MS = 20;

/**
 * Plans a cycle's reclaims. After each, the next one is due at the earliest of: the first entry of
 * the retry schedule, or the first pending entry another consumer holds, when it can be due (a
 * hold renewed as it should be is never close to due); the next delayed message; a retry this
 * cycle scheduled since; and one visibility timeout (entries read meanwhile, or beyond what the
 * script looked at, can be due by then).
 */
export function reclaims<T>(cycle: Cycle<T>, handle: HandleBatch): Reclaims {
  const vt = cycle.options.visibilityTimeoutMs;
  let nextAt = 0;
  return {
    nextAt: () => Math.min(nextAt, cycle.retryDueAt),
    async run() {
      const startedAt = Date.now();
      // The script sees every retry scheduled so far (and says when the first is due).
      cycle.retryDueAt = Number.POSITIVE_INFINITY;
      const { claimed, next } = await reclaim(cycle, handle);
      const now = Date.now();
      const soonest = Math.min(next.pendingMs ?? vt, next.deliveryMs ?? vt);
      nextAt = Math.max(Math.min(startedAt + vt, now + soonest), now + MIN_RECLAIM_GAP_MS);
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
