/**
 * Phase 7, report: what one cycle did, returned and logged as one JSON line (by `drain`).
 */
import { describeError } from '../core/errors.js';
import type { Cycle, StopReason } from './cycle.js';
import type { Tidied } from './tidy.js';

/** What one cycle did. Returned, and logged as one JSON line. */
export interface DrainReport {
  readonly stream: string;
  readonly group: string;
  /** This cycle's consumer name (unique per cycle). */
  readonly consumer: string;
  /** New messages read (XREADGROUP `>`). */
  readonly read: number;
  /**
   * Pending messages taken back once due: failed ones after their retry delay (back-off, or the
   * delay a handler chose), others after the visibility timeout.
   */
  readonly reclaimed: number;
  /** Messages acknowledged after their handler succeeded. */
  readonly acked: number;
  /** Handler failures left pending, each scheduled to be delivered again after its delay. */
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
  /**
   * Delayed messages this cycle moved into the stream once due (every group reads them like any
   * new message: this cycle's `read` may count them too).
   */
  readonly promoted: number;
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

/** The report of a cycle that has ended, with what its tidy phase measured. */
export function reportOf<T>(cycle: Cycle<T>, tidied: Tidied): DrainReport {
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
