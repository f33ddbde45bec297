/**
 * Reading ahead (part of phase 3, read): while batches are handled, the next `prefetch` batches are
 * read in one round trip (XREADGROUP `>` without BLOCK, so that nothing waits behind it on the
 * connection), one read on its way at a time: a read ahead is sent when the batches of the one
 * before it start to be handed out. What was read ahead is held (hold.ts: the cycle's heartbeat
 * renews it) until it is handed out, a batch at a time. What is read ahead and never handed out —
 * the cycle stopped at its deadline, on a shutdown, on an error — is given back with its delivery
 * count restored, like any message never started.
 */

import { parseReadGroup } from '../core/replies.js';
import { readCarryingAcks } from './acks.js';
import type { Delivery, Outcome } from './batch.js';
import { type Cycle, room } from './cycle.js';
import { type BatchHold, holdBatch } from './hold.js';
import { giveBack } from './settle.js';

/** What a drain reads ahead. */
export interface ReadAhead {
  /** Entries read ahead wait to be handed out, or a read ahead is on its way. */
  holding(): boolean;
  /** Starts reading ahead (after a batch read the usual way, `inHand` entries long), unless it is already. */
  start(inHand: number): void;
  /**
   * The next batch read ahead (waiting for the read on its way), without what another consumer took
   * meanwhile, and since when it is held. Empty: the read ahead found nothing new (an empty poll).
   */
  take(): Promise<{ readonly batch: readonly Delivery[]; readonly heldSince: number }>;
  /** Gives back what was read ahead and never handed out, its delivery count restored. Never throws. */
  giveBack(): Promise<void>;
}

/** Entries of a read ahead not handed out yet, and the hold on them. */
interface Held {
  entries: Delivery[];
  outcomes: (Outcome | undefined)[];
  hold: BatchHold | undefined;
  heldFrom: number;
}

/**
 * Whether the cycle reads ahead: not in order (nothing may be handed out while an earlier message
 * is pending), not under a rate limit (what is read ahead would take tokens it may not use).
 */
export function readsAhead<T>(cycle: Cycle<T>): boolean {
  const o = cycle.options;
  return o.prefetch > 0 && !o.ordered && o.rateLimit === undefined;
}

export function readAhead<T>(cycle: Cycle<T>): ReadAhead {
  const { batchSize, prefetch } = cycle.options;
  let onItsWay: Promise<Held> | undefined;
  let held: Held | undefined;
  const buffered = () => held?.entries.length ?? 0;
  const send = (inHand: number) => {
    const count = room(cycle, inHand, prefetch * batchSize);
    if (count <= 0 || cycle.stopping.aborted) return;
    onItsWay = readHeld(cycle, count);
    // The cycle may stop before anyone waits for it: a failed read is seen by `take` or `giveBack`.
    onItsWay.catch(() => {});
  };
  return {
    holding: () => onItsWay !== undefined || buffered() > 0,
    start(inHand) {
      if (onItsWay === undefined && buffered() === 0) send(inHand);
    },
    async take() {
      if (buffered() === 0 && onItsWay !== undefined) {
        held = await onItsWay;
        onItsWay = undefined;
        // Its batches start to be handed out: the next read goes now, while they are handled.
        if (held.entries.length > 0) send(held.entries.length);
      }
      if (held === undefined) return { batch: [], heldSince: Date.now() };
      const heldSince = await release(held);
      const batch = held.entries.splice(0, batchSize);
      held = rest(cycle, held, heldSince);
      return { batch, heldSince };
    },
    async giveBack() {
      const left = held === undefined ? [] : [held];
      held = undefined;
      if (onItsWay !== undefined)
        left.push(
          ...(await onItsWay.then(
            (h) => [h],
            () => [],
          )),
        );
      onItsWay = undefined;
      for (const group of left) {
        // The hold stops whatever happens next: no timer outlives the cycle.
        await release(group);
        // Redis failed (the cycle reports it): what was read ahead stays pending and is reclaimed.
        await giveBack(cycle, group.entries).catch(() => {});
      }
    },
  };
}

/** Reads up to `count` entries ahead and holds them from the moment they are this consumer's. */
async function readHeld<T>(cycle: Cycle<T>, count: number): Promise<Held> {
  const sentAt = Date.now();
  const entries = parseReadGroup(await readCarryingAcks(cycle, count));
  cycle.counts.read += entries.length;
  // Entries read with `>` are on their first delivery to this group; Redis holds them since it ran the read.
  const held: Held = {
    entries: entries.map((entry) => ({ entry, deliveries: 1 })),
    outcomes: new Array(entries.length),
    hold: undefined,
    heldFrom: sentAt,
  };
  // Held from now on, unless the cycle stopped meanwhile: they are given back at once then.
  if (entries.length > 0 && !cycle.stopping.aborted)
    held.hold = holdBatch(cycle, { batch: held.entries, outcomes: held.outcomes, halted: false }, sentAt);
  return held;
}

/**
 * Stops the hold on `held` (a renewal under way finishes first), drops what another consumer took
 * meanwhile (it is that consumer's to handle now), and says since when the rest is held.
 */
async function release(held: Held): Promise<number> {
  const since = held.hold === undefined ? held.heldFrom : await held.hold.release();
  held.hold = undefined;
  if (held.outcomes.includes('lost'))
    held.entries = held.entries.filter((_, i) => held.outcomes[i] !== 'lost');
  held.outcomes = new Array(held.entries.length);
  return since;
}

/** What is left of `held` once a batch was taken from it, held again from `heldSince`. */
function rest<T>(cycle: Cycle<T>, held: Held, heldSince: number): Held | undefined {
  if (held.entries.length === 0) return undefined;
  const outcomes: (Outcome | undefined)[] = new Array(held.entries.length);
  const hold = cycle.stopping.aborted
    ? undefined
    : holdBatch(cycle, { batch: held.entries, outcomes, halted: false }, heldSince);
  return { entries: held.entries, outcomes, hold, heldFrom: heldSince };
}
