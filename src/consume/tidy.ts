/**
 * Phase 6, tidy: remove idle consumers that hold nothing, trim only below what every group has
 * acknowledged (and past `retentionMs`), apply the `maxLength` cap, measure the group, and record
 * the cycle's report in the group's history — one script, the cycle's last round trip.
 */

import { TIDY } from '../core/cycle-scripts.js';
import { runScript } from '../core/driver.js';
import { describeError, SluiceError } from '../core/errors.js';
import { parseInteger } from '../core/replies.js';
import type { Cycle } from './cycle.js';
import { historyKeys, markRecorded, recordArgs, unmeasuredPart, warnUnrecorded } from './history.js';
import { layoutUnread } from './layout-check.js';
import { type DrainReport, reportOf } from './report.js';

/** What the tidy phase measured: nothing (`UNMEASURED`) when it did not run or failed. */
export interface Tidied {
  readonly consumersRemoved: number;
  readonly trimmed: number;
  readonly droppedUnconsumed: number;
  readonly lag: number | null;
  readonly pending: number | null;
}

export const UNMEASURED: Tidied = Object.freeze({
  consumersRemoved: 0,
  trimmed: 0,
  droppedUnconsumed: 0,
  lag: null,
  pending: null,
});

/**
 * Runs the TIDY script once the cycle has stopped taking work, and returns the cycle's report (its
 * `durationMs` ends as the script leaves). The report is recorded in the history by the same script;
 * when the script fails, the report comes back unmeasured and not recorded (`drain` records it).
 * Never throws.
 */
export async function tidy<T>(cycle: Cycle<T>): Promise<DrainReport> {
  const { driver, keys, consumer, options: o } = cycle;
  if (cycle.stoppedBy === undefined) cycle.stop('budget');
  const unmeasured = reportOf(cycle, UNMEASURED);
  // A stream whose topic's layout was never read (or is a partitioned topic's) was left alone.
  if (layoutUnread(cycle)) return unmeasured;
  try {
    // A consumer idle this long is not in the middle of a blocking read or of a handler's batch.
    const idleThresholdMs = Math.max(o.visibilityTimeoutMs, 2 * o.blockMs);
    const reply = await runScript(
      driver,
      TIDY,
      [keys.stream, ...historyKeys(unmeasured)],
      [
        o.group,
        consumer,
        idleThresholdMs,
        o.trim ? 1 : 0,
        o.retentionMs,
        o.maxLength ?? 0,
        Date.now(),
        ...recordArgs(unmeasuredPart(unmeasured, cycle.partition), unmeasured),
      ],
    );
    if (!Array.isArray(reply)) throw new SluiceError(`Unexpected tidy reply: ${JSON.stringify(reply)}`);
    const rawLag = parseInteger(reply[3], 'tidy lag');
    const report: DrainReport = {
      ...unmeasured,
      consumersRemoved: parseInteger(reply[0], 'tidy removed'),
      pending: parseInteger(reply[2], 'tidy pending'),
      lag: rawLag < 0 ? null : rawLag,
      trimmed: parseInteger(reply[4], 'tidy trimmed'),
      droppedUnconsumed: parseInteger(reply[5], 'tidy dropped'),
    };
    markRecorded(report);
    const unrecorded = String(reply[6] ?? '');
    if (unrecorded !== '') warnUnrecorded(o.logger, report, unrecorded);
    if (report.droppedUnconsumed > 0) {
      o.logger.error('maxLength dropped entries that a consumer group had not processed yet', {
        stream: keys.stream,
        group: o.group,
        maxLength: o.maxLength,
        droppedUnconsumed: report.droppedUnconsumed,
      });
    }
    return report;
  } catch (error) {
    o.logger.warn('tidy phase failed', { stream: keys.stream, group: o.group, error: describeError(error) });
    return unmeasured;
  }
}
