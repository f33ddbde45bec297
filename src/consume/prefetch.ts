/**
 * Reading ahead (part of phase 3, read): while a batch's handlers run, the next batch is read
 * (XREADGROUP `>` without BLOCK, so that no acknowledgement waits behind it on the connection) and
 * held by a heartbeat of its own (hold.ts) until it is handed out. What is read ahead and never
 * handed out — the cycle stopped at its deadline, on a shutdown, on an error — is given back with
 * its delivery count restored, like any message never started. At most one batch is read ahead.
 */

import { parseReadGroup, type RawEntry } from '../core/replies.js';
import { readCarryingAcks } from './acks.js';
import type { Delivery, Outcome } from './batch.js';
import type { Cycle } from './cycle.js';
import { type BatchHold, holdBatch } from './hold.js';
import { giveBack } from './settle.js';

/** A batch read ahead. */
export interface ReadAhead {
  /** The batch, once read, without what another consumer took meanwhile; `heldSince` for its hold. */
  take(): Promise<{ readonly batch: readonly Delivery[]; readonly heldSince: number }>;
  /** Gives back what was read ahead (never handed out), its delivery count restored. Never throws. */
  giveBack(): Promise<void>;
}

/**
 * Whether the cycle reads ahead: not in order (nothing may be handed out while an earlier message
 * is pending), not under a rate limit (what is read ahead would take tokens it may not use).
 */
export function readsAhead<T>(cycle: Cycle<T>): boolean {
  const o = cycle.options;
  return o.prefetch && !o.ordered && o.rateLimit === undefined;
}

/** Starts reading up to `count` entries ahead. */
export function readAhead<T>(cycle: Cycle<T>, count: number): ReadAhead {
  const sentAt = Date.now();
  let batch: Delivery[] = [];
  let outcomes: (Outcome | undefined)[] = [];
  let hold: BatchHold | undefined;
  const reading = readCarryingAcks(cycle, count).then((reply) => {
    const entries: RawEntry[] = parseReadGroup(reply);
    cycle.counts.read += entries.length;
    // Entries read with `>` are on their first delivery to this group; Redis holds them since it ran the read.
    batch = entries.map((entry) => ({ entry, deliveries: 1 }));
    outcomes = new Array(batch.length);
    // Held from now on, unless the cycle stopped meanwhile: they are given back at once then.
    if (batch.length > 0 && !cycle.stopping.aborted)
      hold = holdBatch(cycle, { batch, outcomes, halted: false }, sentAt);
  });
  // The cycle may stop before anyone waits for it: a failed read is seen by `take` or `giveBack`.
  reading.catch(() => {});
  const release = async (): Promise<number> => (hold === undefined ? sentAt : hold.release());
  return {
    async take() {
      await reading;
      const heldSince = await release();
      // Another consumer took what went stale while the hold was late: that is its to handle now.
      return { batch: batch.filter((_, i) => outcomes[i] !== 'lost'), heldSince };
    },
    async giveBack() {
      try {
        await reading;
        await release();
        await giveBack(
          cycle,
          batch.filter((_, i) => outcomes[i] !== 'lost'),
        );
      } catch {
        // Redis failed (the cycle reports it): what was read ahead stays pending and is reclaimed.
      }
    },
  };
}
