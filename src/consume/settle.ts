/**
 * Phase 5, settle: what became of a batch goes to Redis in as few commands as possible. Successes
 * were acknowledged as their handlers finished (acks.ts); the rest goes once the batch is done —
 * one script for its dead letters, one for its retries (the group's retry schedule), one for what
 * was never started. A batch where every handler succeeded costs nothing here.
 */

import { RELEASE } from '../core/cycle-scripts.js';
import { runScript } from '../core/driver.js';
import { describeError, MAX_RETRY_DELAY_MS, RedisReplyError } from '../core/errors.js';
import { parseInteger } from '../core/replies.js';
import { RETRY } from '../core/schedule-scripts.js';
import type { Delivery, Retry, Settlement } from './batch.js';
import type { Cycle } from './cycle.js';
import { type DeadLetterCandidate, deadLetter } from './dead-letters.js';

/**
 * Settles a processed batch. Resolves `true` when every message was acknowledged or dead-lettered
 * (nothing was left pending, given back, or refused by the dead-letter script).
 */
export async function settle<T>(cycle: Cycle<T>, settlement: Settlement): Promise<boolean> {
  const { dead, unstarted, retries } = settlement;
  // The batch's acknowledgements go before what settling sends (a kill in between must not find
  // them unsent), instead of waiting for the next read to carry them.
  if (dead.length > 0 || retries.length > 0 || unstarted.length > 0) cycle.acks.sendLeft();
  let moved = 0;
  if (dead.length > 0) {
    moved = await deadLetterOrKeep(cycle, dead);
    cycle.counts.deadLettered += moved;
  }
  await scheduleRetries(cycle, retries);
  await giveBack(cycle, unstarted);
  return moved === dead.length && unstarted.length === 0 && settlement.keptPending === 0;
}

/**
 * Schedules failed messages to be delivered again after their delays (one script): each waits in
 * the group's retry schedule and is reclaimed once due. A message another consumer took meanwhile
 * is left to it.
 */
async function scheduleRetries<T>(cycle: Cycle<T>, retries: readonly Retry[]): Promise<void> {
  if (retries.length === 0) return;
  const { driver, keys, consumer, options: o } = cycle;
  // The schedule of a group nobody drains any more expires once its longest delay is past.
  const ttlMs = Math.max(MAX_RETRY_DELAY_MS, o.maxRedeliveryDelayMs) + o.visibilityTimeoutMs + 3_600_000;
  const args: (string | number)[] = [o.group, consumer, o.visibilityTimeoutMs, ttlMs];
  let soonest = Number.POSITIVE_INFINITY;
  for (const { id, retryInMs } of retries) {
    args.push(id, retryInMs);
    soonest = Math.min(soonest, retryInMs);
  }
  await runScript(driver, RETRY, [keys.stream, keys.retrySchedule(o.group)], args);
  cycle.retryDueAt = Math.min(cycle.retryDueAt, Date.now() + soonest);
}

/** Gives back messages never handed to the handler, their delivery count restored (one script). */
export async function giveBack<T>(cycle: Cycle<T>, unstarted: readonly Delivery[]): Promise<void> {
  if (unstarted.length === 0) return;
  const { driver, keys, consumer, options: o, counts } = cycle;
  const args: (string | number)[] = [o.group, consumer, o.visibilityTimeoutMs];
  for (const { entry, deliveries } of unstarted) args.push(entry.id, deliveries - 1);
  counts.released += parseInteger(await runScript(driver, RELEASE, [keys.stream], args), 'release');
}

/**
 * Dead-letters what it can. When Redis refuses (a dead-letter key of another type, an entry too
 * large for a script), the entries stay pending and are logged, and the cycle goes on: one entry
 * that cannot be dead-lettered must not stop the group. Unavailability still ends the cycle.
 */
export async function deadLetterOrKeep<T>(
  cycle: Cycle<T>,
  candidates: readonly DeadLetterCandidate[],
): Promise<number> {
  const { driver, keys, consumer, options: o } = cycle;
  try {
    const moved = new Set(await deadLetter(driver, keys, o.group, consumer, candidates));
    for (const c of candidates) {
      if (!moved.has(c.id)) continue;
      // One line per dead letter: it will not be processed until someone redrives it.
      o.logger.error('message dead-lettered', {
        stream: keys.stream,
        group: o.group,
        id: c.id,
        reason: c.reason,
        deliveries: c.deliveries,
        error: describeError(c.error),
        deadLetters: keys.deadLetters(o.group),
      });
    }
    return moved.size;
  } catch (error) {
    if (!(error instanceof RedisReplyError)) throw error;
    o.logger.error('could not dead-letter; the messages stay pending', {
      stream: keys.stream,
      group: o.group,
      ids: candidates.map((c) => c.id).slice(0, 20),
      error: describeError(error),
    });
    return 0;
  }
}
