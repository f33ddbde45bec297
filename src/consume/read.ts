/**
 * Phase 3, read: new entries (XREADGROUP `>`) until the deadline, the idle exit, or a stop, each
 * batch handed to the cycle's process and settle phases. A driver that can block waits in Redis
 * (BLOCK); one that cannot (REST) polls with back-off, since an empty poll is a billed request.
 */

import { pollBackoff } from '../core/poll.js';
import { parseReadGroup, type RawEntry } from '../core/replies.js';
import { sleep } from '../core/signals.js';
import { readCarryingAcks } from './acks.js';
import type { Delivery, HandleBatch } from './batch.js';
import { type Cycle, MIN_PHASE_MS, outOfRoom, room, stopped } from './cycle.js';
import { type ReadAhead, readAhead, readsAhead } from './prefetch.js';
import { readWithinRate } from './rate-limit.js';
import type { Reclaims } from './reclaim.js';

/**
 * How late a blocking read may return after its BLOCK time: Redis serves blocking timeouts on its
 * cron tick, every 100 ms at the default `hz 10`.
 */
const BLOCK_OVERSHOOT_MS = 100;
/** Longest pause between polls of an event-driven drain (it ends a few seconds after it ran dry). */
const WAKE_POLL_MAX_MS = 250;
/** Longest blocking read of an ordered drain (lease renewals may wait behind it). */
const ORDERED_MAX_BLOCK_MS = 1_000;

/**
 * Reads and handles new entries until the cycle stops, reclaiming again (`reclaims`) whenever
 * pending entries can have become due. Ordered: returns `false` as soon as a batch leaves a message
 * pending (later ones must wait for it), else `true`.
 */
export async function read<T>(cycle: Cycle<T>, handle: HandleBatch, reclaims?: Reclaims): Promise<boolean> {
  const ahead = readsAhead(cycle) ? readAhead(cycle) : undefined;
  try {
    return await readLoop(cycle, handle, reclaims, ahead);
  } finally {
    // Read ahead and never handed out (the cycle stopped): given back, its delivery count restored.
    await ahead?.giveBack();
  }
}

/** {@link read}'s loop. */
async function readLoop<T>(
  cycle: Cycle<T>,
  handle: HandleBatch,
  reclaims: Reclaims | undefined,
  ahead: ReadAhead | undefined,
): Promise<boolean> {
  const { driver, options: o } = cycle;
  // A rate-limited read is a script (tokens and XREADGROUP together), which cannot block: it polls.
  const canBlock = driver.capabilities.blocking && o.rateLimit === undefined;
  let lastMessageAt = Date.now();
  // Drivers that cannot block poll with back-off up to `blockMs` (an empty poll is a billed request).
  // Event-driven, a drain runs only while there is work and ends soon after: it polls more eagerly.
  const backoff = pollBackoff(o.wake === undefined ? o.blockMs : Math.min(o.blockMs, WAKE_POLL_MAX_MS));
  while (!stopped(cycle) && !outOfRoom(cycle)) {
    const aheadHolds = ahead?.holding() === true;
    if (!aheadHolds && reclaims !== undefined && Date.now() >= reclaims.nextAt()) {
      cycle.acks.sendLeft();
      if ((await reclaims.run()) > 0) lastMessageAt = Date.now();
      continue;
    }
    const left = cycle.timeLeft() - MIN_PHASE_MS;
    const idleLeft =
      o.idleExitMs === undefined ? Number.POSITIVE_INFINITY : o.idleExitMs - (Date.now() - lastMessageAt);
    // A read or a poll's wait lasts no longer than until the next reclaim (at least 1 ms).
    const untilReclaim = Math.max(1, (reclaims?.nextAt() ?? Number.POSITIVE_INFINITY) - Date.now());
    let batch: readonly Delivery[];
    let heldSince: number | undefined;
    // False when a blocking driver's read could not wait (too little time left).
    let waited = true;
    if (ahead !== undefined && aheadHolds) {
      // The batch read ahead is this turn's read (an empty one is an empty poll).
      ({ batch, heldSince } = await ahead.take());
    } else if (o.rateLimit === undefined) {
      const fullBlockMs = canBlock ? blockTime(cycle, left, idleLeft) : 0;
      const blockMs = fullBlockMs >= 1 ? Math.min(fullBlockMs, Math.ceil(untilReclaim)) : fullBlockMs;
      waited = !canBlock || blockMs >= 1;
      const reply = await readCarryingAcks(cycle, room(cycle), blockMs >= 1 ? blockMs : undefined);
      batch = firstDeliveries(cycle, parseReadGroup(reply));
    } else {
      cycle.acks.sendLeft();
      const taken = await readWithinRate(cycle, o.rateLimit, room(cycle));
      if (taken.waitMs > 0) {
        // The group is at its rate: waiting for tokens is not being idle.
        lastMessageAt = Date.now();
        await sleep(Math.min(taken.waitMs, left, untilReclaim), cycle.stopping);
        continue;
      }
      batch = firstDeliveries(cycle, taken.entries);
    }
    if (batch.length === 0) {
      if (o.idleExitMs !== undefined && Date.now() - lastMessageAt >= o.idleExitMs) {
        cycle.stop('idle');
        return true;
      }
      if (!waited) {
        // Too little time left to wait for anything: a busy loop of non-blocking reads would only cost.
        cycle.stop('budget');
        return true;
      }
      if (!canBlock) await backoff.wait(cycle.stopping, Math.min(left, idleLeft, untilReclaim));
      continue;
    }
    backoff.reset();
    lastMessageAt = Date.now();
    // The next batches are read while this one is handled.
    ahead?.start(batch.length);
    const settled = await handle(batch, heldSince);
    if (!settled && o.ordered) return false;
  }
  return true;
}

/** Entries read with `>`, counted: each on its first delivery to this group. */
function firstDeliveries<T>(cycle: Cycle<T>, entries: readonly RawEntry[]): Delivery[] {
  cycle.counts.read += entries.length;
  return entries.map((entry) => ({ entry, deliveries: 1 }));
}

/**
 * The BLOCK time of the next read: `blockMs`, within the time and idle time left. A blocking read
 * may return up to one server tick after its BLOCK time: that tick is kept free. Ordered, a lease
 * renewal may wait behind the read on its connection: the read stays short enough for the lease (a
 * third of it) and for the renewal's own command timeout (1 s, below any sensible one).
 */
function blockTime<T>(cycle: Cycle<T>, left: number, idleLeft: number): number {
  const o = cycle.options;
  const longest = o.ordered
    ? Math.min(o.blockMs, Math.floor(o.leaseMs / 3), ORDERED_MAX_BLOCK_MS)
    : o.blockMs;
  return Math.floor(Math.min(longest, left - BLOCK_OVERSHOOT_MS, idleLeft));
}
