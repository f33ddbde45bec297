/**
 * The drain cycle over one stream: one bounded pass over a consumer group, as one function of
 * named phases.
 *
 *     ensureGroup → reclaim → read → (process → settle)* → tidy → report
 *
 * Ordered draining takes the stream's lease first and replaces reclaim and read with one loop that
 * never hands out a message while an earlier one is pending. The cycle's state, deadline and
 * guarded driver live in `cycle.ts`; waiting under signals in `signals.ts`. Nothing outlives the
 * cycle: its timers are cleared before it returns. `drain.ts` picks the streams (partitions).
 */

import { type Driver, runScript } from '../core/driver.js';
import { decodeMessage, type Message } from '../core/envelope.js';
import {
  describeError,
  HandlerTimeoutError,
  isPermanent,
  RedisReplyError,
  SluiceError,
} from '../core/errors.js';
import { ensureGroups, forgetGroup, warnSkipped } from '../core/group.js';
import {
  parseInteger,
  parseOrderedReclaim,
  parseReadGroup,
  parseReclaim,
  type RawEntry,
} from '../core/replies.js';
import { RECLAIM, RECLAIM_ORDERED, RELEASE, TIDY, TOUCH } from '../core/scripts.js';
import { handlerLimit, sleep, untilAborted, untilSettledOrAborted } from '../core/signals.js';
import {
  type Cycle,
  type CyclePlace,
  MIN_PHASE_MS,
  openCycle,
  outOfRoom,
  room,
  type StopReason,
  stopped,
} from './cycle.js';
import { type DeadLetterCandidate, deadLetter } from './dead-letters.js';
import { type Lease, takeLease } from './lease.js';
import type { ResolvedDrainOptions } from './options.js';

export type { StopReason } from './cycle.js';

/** What one cycle did. Returned, and logged as one JSON line. */
export interface DrainReport {
  readonly stream: string;
  readonly group: string;
  /** This cycle's consumer name (unique per cycle). */
  readonly consumer: string;
  /** New messages read (XREADGROUP `>`). */
  readonly read: number;
  /** Pending messages reclaimed after their redelivery delay (the visibility timeout, backed off). */
  readonly reclaimed: number;
  /** Messages acknowledged after their handler succeeded. */
  readonly acked: number;
  /** Handler failures left pending for redelivery. */
  readonly failed: number;
  /** Handler calls cut off by `handlerTimeoutMs` (counted in `failed` or `deadLettered` too). */
  readonly timedOut: number;
  /** Messages moved to the dead-letter stream. */
  readonly deadLettered: number;
  /** Handlers still running (or aborted) at the deadline: left pending, not acknowledged. */
  readonly unfinished: number;
  /** Messages read but not yet handed to the handler at the deadline: given back with their delivery count restored. */
  readonly released: number;
  /** Pending entries that no longer existed in the stream (trimmed or deleted before being processed). */
  readonly lostToTrim: number;
  /**
   * Entries the stream already held when this drain created the group at `$`: the group never sees
   * them (logged as a warning). Declare the groups a topic is consumed by (`declareTopic`, or the
   * publish function's `SLUICE_GROUP`) so publishers create them before the first message.
   */
  readonly skipped: number;
  /** Consumers removed from the group by the tidy phase (idle, holding nothing). */
  readonly consumersRemoved: number;
  /** Entries trimmed from the stream: every group had acknowledged them (or, under `maxLength`, read them). */
  readonly trimmed: number;
  /** Entries the `maxLength` cap dropped before some group had processed them: lost to that group. */
  readonly droppedUnconsumed: number;
  readonly durationMs: number;
  readonly stoppedBy: StopReason;
  /** Why the cycle failed, when `stoppedBy` is `error`. */
  readonly error?: string;
  /**
   * Entries in the stream the group has not read yet; null when Redis cannot tell. A partitioned
   * topic's: the sum over the partitions this drain served (not those another drain held).
   */
  readonly lag: number | null;
  /** Entries read by the group and not yet acknowledged (summed like `lag`); null when unknown. */
  readonly pending: number | null;
  /**
   * A partitioned topic's drain: the report of each partition served (the fields above add them
   * up, and `stream` is the topic's plain key). Absent for a plain topic or stream.
   */
  readonly partitions?: readonly PartitionReport[];
}

/** One partition's part of a drain report. */
export interface PartitionReport extends DrainReport {
  readonly partition: number;
}

/** A stream entry with the delivery count Redis holds for it. */
interface Delivery {
  readonly entry: RawEntry;
  readonly deliveries: number;
}

/**
 * How late a blocking read may return after its BLOCK time: Redis serves blocking timeouts on its
 * cron tick, every 100 ms at the default `hz 10`.
 */
const BLOCK_OVERSHOOT_MS = 100;
/** Longest blocking read of an ordered drain (lease renewals may wait behind it). */
const ORDERED_MAX_BLOCK_MS = 1_000;
/** Back-off of an empty poll on drivers that cannot block: from this, doubling up to `blockMs`. */
const FIRST_POLL_DELAY_MS = 50;

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
  const { keys } = cycle;
  let lease: Lease | undefined;
  try {
    if (o.ordered) {
      lease = await cycle.guard(takeLease(cycle));
      if (lease === undefined) {
        cycle.stop('leased');
        cycle.close();
        return reportOf(cycle, UNMEASURED);
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const [group] = await cycle.guard(ensureGroups(driver, keys.stream, [o.group], o.startId));
        noteSkipped(cycle, group?.skipped ?? 0);
        if (o.ordered) await inOrder(cycle);
        else {
          await reclaim(cycle);
          await read(cycle);
        }
        break;
      } catch (error) {
        // The group vanished under us (destroyed, or the stream deleted): create it again, once.
        if (attempt > 1 || !(error instanceof RedisReplyError && error.code === 'NOGROUP')) throw error;
        forgetGroup(driver, keys.stream, o.group);
      }
    }
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

/** A group this cycle created at `$` skipped what the stream held: say so, loudly. */
function noteSkipped<T>(cycle: Cycle<T>, skipped: number): void {
  if (skipped === 0) return;
  cycle.counts.skipped += skipped;
  warnSkipped(cycle.options.logger, { stream: cycle.keys.stream }, cycle.options.group, skipped);
}

/**
 * Phase 2: take over entries other consumers left pending past the visibility timeout — longer for
 * messages that failed before (the redelivery back-off) — and dead-letter those delivered too often.
 */
async function reclaim<T>(cycle: Cycle<T>): Promise<void> {
  const { driver, keys, consumer, options: o, counts } = cycle;
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
    noteDeleted(cycle, page.deletedIds);
    counts.reclaimed += page.claimed.length;
    await handleReclaimed(cycle, page.claimed);
  } while (cursor !== '0');
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

/**
 * Dead-letters reclaimed entries delivered too often already, and handles the rest. Resolves
 * `true` when every one was settled (acknowledged or dead-lettered).
 */
async function handleReclaimed<T>(cycle: Cycle<T>, claimed: readonly Delivery[]): Promise<boolean> {
  const { options: o, counts } = cycle;
  const toHandle: Delivery[] = [];
  const exhausted: DeadLetterCandidate[] = [];
  for (const { entry, deliveries } of claimed) {
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
      await settle(cycle, [], [], toHandle);
      return false;
    }
  }
  return (await processAndSettle(cycle, toHandle)) && settled;
}

/**
 * Phase 3: read new entries until the deadline (or the idle exit, or a stop). Ordered: returns
 * `false` as soon as a batch leaves a message pending (later ones must wait for it), else `true`.
 */
async function read<T>(cycle: Cycle<T>): Promise<boolean> {
  const { driver, keys, consumer, options: o, counts } = cycle;
  const canBlock = driver.capabilities.blocking;
  let lastMessageAt = Date.now();
  let pollDelayMs = FIRST_POLL_DELAY_MS;
  while (!stopped(cycle) && !outOfRoom(cycle)) {
    const left = cycle.timeLeft() - MIN_PHASE_MS;
    const idleLeft =
      o.idleExitMs === undefined ? Number.POSITIVE_INFINITY : o.idleExitMs - (Date.now() - lastMessageAt);
    // A blocking read may return up to one server tick after its BLOCK time: keep that tick free.
    // Ordered, a lease renewal may wait behind the read on its connection: keep the read short
    // enough for the lease (a third of it) and for the renewal's own command timeout (1 s, below
    // any sensible one).
    const longest = o.ordered
      ? Math.min(o.blockMs, Math.floor(o.leaseMs / 3), ORDERED_MAX_BLOCK_MS)
      : o.blockMs;
    const blockMs = canBlock ? Math.floor(Math.min(longest, left - BLOCK_OVERSHOOT_MS, idleLeft)) : 0;
    const entries = parseReadGroup(
      await driver.readGroup({
        stream: keys.stream,
        group: o.group,
        consumer,
        count: room(cycle),
        blockMs: blockMs >= 1 ? blockMs : undefined,
      }),
    );
    if (entries.length === 0) {
      if (o.idleExitMs !== undefined && Date.now() - lastMessageAt >= o.idleExitMs) {
        cycle.stop('idle');
        return true;
      }
      if (canBlock && blockMs < 1) {
        // Too little time left to wait for anything: a busy loop of non-blocking reads would only cost.
        cycle.stop('budget');
        return true;
      }
      if (!canBlock) {
        await sleep(Math.max(1, Math.min(pollDelayMs, left, idleLeft)), cycle.signal);
        pollDelayMs = Math.min(pollDelayMs * 2, o.blockMs);
      }
      continue;
    }
    pollDelayMs = FIRST_POLL_DELAY_MS;
    lastMessageAt = Date.now();
    counts.read += entries.length;
    // Entries read with `>` are on their first delivery to this group.
    const settled = await processAndSettle(
      cycle,
      entries.map((entry) => ({ entry, deliveries: 1 })),
    );
    if (!settled && o.ordered) return false;
  }
  return true;
}

/**
 * Phases 2 and 3 in order (ordered draining, under the lease): reclaim from the oldest pending
 * entry while each is due, and read new entries only once nothing is pending. A message left
 * pending (failed, or unfinished at a deadline) holds back every later one until it is due again;
 * the wait is spent here when it fits in the cycle, else the cycle ends.
 */
async function inOrder<T>(cycle: Cycle<T>): Promise<void> {
  const { driver, keys, consumer, options: o, counts } = cycle;
  while (!stopped(cycle) && !outOfRoom(cycle)) {
    const page = parseOrderedReclaim(
      await runScript(
        driver,
        RECLAIM_ORDERED,
        [keys.stream],
        [o.group, consumer, o.visibilityTimeoutMs, o.maxRedeliveryDelayMs, room(cycle)],
      ),
    );
    noteDeleted(cycle, page.deletedIds);
    counts.reclaimed += page.claimed.length;
    if (!(await handleReclaimed(cycle, page.claimed))) continue;
    if (page.waitMs === 0) continue;
    if (page.waitMs > 0) {
      // Nothing can be handed out before the wait: past the idle exit or the cycle, that is idle
      // (a drain's lane then serves another partition, if it may).
      if (o.idleExitMs !== undefined && page.waitMs > o.idleExitMs) return cycle.stop('idle');
      if (page.waitMs > cycle.timeLeft() - MIN_PHASE_MS) return cycle.stop('idle');
      await sleep(page.waitMs, cycle.signal);
      continue;
    }
    // Nothing is pending: new entries may go, until one of them is left pending.
    if (await read(cycle)) return;
  }
}

/**
 * What became of a message of a batch: `ack` (to acknowledge), `acked` (acknowledged early, while
 * renewing the hold), `failed`, `lost` (another consumer holds it now; never started here), or a
 * dead-letter candidate.
 */
type Outcome = 'ack' | 'acked' | 'failed' | 'lost' | DeadLetterCandidate;

/**
 * Phases 4 and 5: run the handler over a batch (bounded concurrency), then settle the outcomes in
 * as few commands as possible. Resolves `true` when every message was acknowledged or
 * dead-lettered. Ordered: the first message left pending stops the batch, and the rest are given
 * back unstarted.
 */
async function processAndSettle<T>(cycle: Cycle<T>, batch: readonly Delivery[]): Promise<boolean> {
  if (batch.length === 0) return true;
  const { options: o, counts, keys, signal } = cycle;
  const outcomes: (Outcome | undefined)[] = new Array(batch.length);
  let next = 0;
  let open = true;
  let halted = false;

  const failed = (index: number, thrown: unknown, timedOut: boolean): void => {
    // A handler cut short by the cycle's end has not finished: it stays pending as it is.
    if (!open || signal.aborted) return;
    const { entry, deliveries } = batch[index] as Delivery;
    const error = timedOut ? new HandlerTimeoutError(o.handlerTimeoutMs as number) : thrown;
    if (timedOut) counts.timedOut++;
    if (isPermanent(error) || deliveries >= o.maxDeliveries) {
      // Ordered: dead-lettered before anything after it is handed out (it may fail to move).
      halted = o.ordered;
      outcomes[index] = {
        id: entry.id,
        fields: entry.fields ?? [],
        deliveries,
        reason: isPermanent(error) ? 'permanent' : 'max-deliveries',
        error,
      };
    } else {
      outcomes[index] = 'failed';
      halted = o.ordered;
      o.logger.warn('handler failed; the message stays pending for redelivery', {
        stream: keys.stream,
        group: o.group,
        id: entry.id,
        deliveries,
        error: describeError(error),
      });
    }
  };
  const succeeded = (index: number): void => {
    if (open) outcomes[index] = 'ack';
  };

  // Without a per-handler limit, every call shares one context and a handler that returns no
  // promise costs no await: the batch-level wait below is what stops waiting at the deadline.
  const shared = Object.freeze({ signal, deadline: cycle.deadline });
  const handleOne = (index: number): Promise<void> | undefined => {
    const { entry, deliveries } = batch[index] as Delivery;
    const message = decodeMessage(keys.stream, entry, deliveries) as Message<T>;
    if (o.handlerTimeoutMs !== undefined) return handleLimited(index, message, o.handlerTimeoutMs);
    let result: unknown;
    try {
      result = o.handler(message, shared);
    } catch (error) {
      failed(index, error, false);
      return undefined;
    }
    if (!isThenable(result)) {
      succeeded(index);
      return undefined;
    }
    return Promise.resolve(result).then(
      () => succeeded(index),
      (error: unknown) => failed(index, error, false),
    );
  };
  const handleLimited = async (index: number, message: Message<T>, timeoutMs: number): Promise<void> => {
    const limit = handlerLimit(signal, timeoutMs);
    try {
      // The cycle stops waiting when the limit fires, whether or not the handler honours it.
      await untilSettledOrAborted(
        Promise.resolve().then(() => o.handler(message, { signal: limit.signal, deadline: cycle.deadline })),
        limit.signal,
      );
      succeeded(index);
    } catch (error) {
      failed(index, error, limit.timedOut());
    } finally {
      limit.release();
    }
  };
  // A batch whose handling outlasts a tenth of the visibility timeout renews its hold on the
  // messages it has not finished, so another cycle does not take over (and run again) those still
  // waiting.
  // A message is handed out at most a tenth of the visibility timeout after its hold was renewed,
  // so that a handler finishing within nine tenths of it is never run twice at once.
  const holdEveryMs = o.visibilityTimeoutMs / 10;
  let heldSince = Date.now();
  let renewing: Promise<void> | undefined;
  const keepHold = (): Promise<void> | undefined => {
    if (renewing !== undefined) return renewing;
    if (Date.now() - heldSince < holdEveryMs) return undefined;
    renewing = renewHold().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };
  const renewHold = async () => {
    const unsettled: number[] = [];
    const finished: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (outcomes[i] === undefined) unsettled.push(i);
      else if (outcomes[i] === 'ack') finished.push(i);
    }
    try {
      // What is done is acknowledged now: held any longer, it could be taken over and run again.
      if (finished.length > 0) {
        await cycle.driver.ack(
          keys.stream,
          o.group,
          finished.map((i) => (batch[i] as Delivery).entry.id),
        );
        for (const i of finished) outcomes[i] = 'acked';
        counts.acked += finished.length;
      }
      const ids = unsettled.map((i) => (batch[i] as Delivery).entry.id);
      const lost = await runScript(cycle.driver, TOUCH, [keys.stream], [o.group, cycle.consumer, ...ids]);
      heldSince = Date.now();
      const gone = new Set(Array.isArray(lost) ? lost.map(String) : []);
      for (const i of unsettled) {
        if (!gone.has((batch[i] as Delivery).entry.id)) continue;
        outcomes[i] = 'lost';
        halted = o.ordered; // another consumer holds it: what comes after it must wait
      }
    } catch (error) {
      heldSince = Date.now(); // best effort: at-least-once holds either way
      o.logger.warn('could not renew the hold on a batch', {
        stream: keys.stream,
        error: describeError(error),
      });
    }
  };
  const worker = async () => {
    while (next < batch.length && !signal.aborted && !halted) {
      const renewal = keepHold();
      if (renewal !== undefined) {
        await renewal;
        if (signal.aborted || halted) break;
      }
      const index = next++;
      if (index >= batch.length || outcomes[index] === 'lost') continue;
      const pending = handleOne(index);
      if (pending !== undefined) await pending;
    }
  };
  const workers = Promise.all(Array.from({ length: Math.min(o.concurrency, batch.length) }, worker));
  await untilAborted(workers, signal);
  open = false;
  // A renewal under way (acknowledging, touching) finishes first, or settling would ack twice and
  // its touch could undo the release of what was never started.
  if (renewing !== undefined) await renewing;

  const acks: string[] = [];
  const dead: DeadLetterCandidate[] = [];
  const unstarted: Delivery[] = batch.slice(next);
  let skipped = 0;
  for (let i = 0; i < next; i++) {
    const outcome = outcomes[i];
    if (outcome === 'ack') acks.push((batch[i] as Delivery).entry.id);
    else if (outcome === 'failed') counts.failed++;
    else if (outcome === 'lost' || outcome === 'acked') skipped++;
    else if (outcome === undefined) counts.unfinished++;
    else dead.push(outcome);
  }
  const moved = await settle(cycle, acks, dead, unstarted);
  return moved && unstarted.length === 0 && acks.length + dead.length + skipped === batch.length;
}

/**
 * Dead-letters what it can. When Redis refuses (a dead-letter key of another type, an entry too
 * large for a script), the entries stay pending and are logged, and the cycle goes on: one entry
 * that cannot be dead-lettered must not stop the group. Unavailability still ends the cycle.
 */
async function deadLetterOrKeep<T>(
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Phase 5: one XACK for the batch, one script for its dead letters, one for what was never
 * started. Resolves `true` when every dead-letter candidate was moved.
 */
async function settle<T>(
  cycle: Cycle<T>,
  acks: readonly string[],
  dead: readonly DeadLetterCandidate[],
  unstarted: readonly Delivery[],
): Promise<boolean> {
  const { driver, keys, consumer, options: o, counts } = cycle;
  if (acks.length > 0) {
    await driver.ack(keys.stream, o.group, acks);
    counts.acked += acks.length;
  }
  let moved = 0;
  if (dead.length > 0) {
    moved = await deadLetterOrKeep(cycle, dead);
    counts.deadLettered += moved;
  }
  if (unstarted.length > 0) {
    const args: (string | number)[] = [o.group, consumer, o.visibilityTimeoutMs];
    for (const { entry, deliveries } of unstarted) args.push(entry.id, deliveries - 1);
    counts.released += parseInteger(await runScript(driver, RELEASE, [keys.stream], args), 'release');
  }
  return moved === dead.length;
}

/** What the tidy phase measured: nothing (`UNMEASURED`) when it did not run or failed. */
interface Tidied {
  readonly consumersRemoved: number;
  readonly trimmed: number;
  readonly droppedUnconsumed: number;
  readonly lag: number | null;
  readonly pending: number | null;
}

const UNMEASURED: Tidied = Object.freeze({
  consumersRemoved: 0,
  trimmed: 0,
  droppedUnconsumed: 0,
  lag: null,
  pending: null,
});

/** Phase 6: remove consumers that hold nothing, keep the stream bounded, measure the group. */
async function tidy<T>(cycle: Cycle<T>): Promise<Tidied> {
  const { driver, keys, consumer, options: o } = cycle;
  if (cycle.stoppedBy === undefined) cycle.stop('budget');
  try {
    // A consumer idle this long is not in the middle of a blocking read or of a handler's batch.
    const idleThresholdMs = Math.max(o.visibilityTimeoutMs, 2 * o.blockMs);
    const reply = await runScript(
      driver,
      TIDY,
      [keys.stream],
      [o.group, consumer, idleThresholdMs, o.trim ? 1 : 0, o.retentionMs, o.maxLength ?? 0, Date.now()],
    );
    if (!Array.isArray(reply)) throw new SluiceError(`Unexpected tidy reply: ${JSON.stringify(reply)}`);
    const rawLag = parseInteger(reply[3], 'tidy lag');
    const tidied: Tidied = {
      consumersRemoved: parseInteger(reply[0], 'tidy removed'),
      pending: parseInteger(reply[2], 'tidy pending'),
      lag: rawLag < 0 ? null : rawLag,
      trimmed: parseInteger(reply[4], 'tidy trimmed'),
      droppedUnconsumed: parseInteger(reply[5], 'tidy dropped'),
    };
    if (tidied.droppedUnconsumed > 0) {
      o.logger.error('maxLength dropped entries that a consumer group had not processed yet', {
        stream: keys.stream,
        group: o.group,
        maxLength: o.maxLength,
        droppedUnconsumed: tidied.droppedUnconsumed,
      });
    }
    return tidied;
  } catch (error) {
    o.logger.warn('tidy phase failed', { stream: keys.stream, group: o.group, error: describeError(error) });
    return UNMEASURED;
  }
}

/** Phase 7: the report. */
function reportOf<T>(cycle: Cycle<T>, tidied: Tidied): DrainReport {
  return {
    stream: cycle.keys.stream,
    group: cycle.options.group,
    consumer: cycle.consumer,
    ...cycle.counts,
    ...tidied,
    durationMs: Date.now() - cycle.startedAt,
    stoppedBy: cycle.stoppedBy ?? 'budget',
    ...(cycle.stoppedBy === 'error' ? { error: describeError(cycle.error) } : {}),
  };
}
