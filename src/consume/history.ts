/**
 * A drain's report, recorded in its group's history (`core/history-scripts.ts`): one script call per
 * stream the drain served, whatever the cycle did (never one per message). A cycle that tidies
 * records its report in its tidy script (`tidy.ts`: no round trip of its own); what no tidy recorded
 * is recorded here. Recording never fails a drain nor holds it up for long: a failed or slow write
 * is logged as a warning and forgotten.
 */
import { type Driver, runScript } from '../core/driver.js';
import { describeError } from '../core/errors.js';
import { HISTORY_MINUTES, HISTORY_REPORTS, RECORD_DRAIN } from '../core/history-scripts.js';
import { streamKeys } from '../core/keys.js';
import type { Logger } from '../core/logger.js';
import type { DrainReport } from './report.js';

/** Longest a drain waits for its history to be written before it returns its report anyway. */
export const HISTORY_WRITE_MS = 1_000;

/** The longest error text kept in a recorded report. */
const MAX_ERROR_CHARS = 500;

/** Reports already recorded (by their cycle's tidy script), or whose recording failed and was said so. */
const recordedReports = new WeakSet<object>();

/** Notes that `report` is recorded (or its recording failed and was warned about): no other write for it. */
export function markRecorded(report: DrainReport): void {
  recordedReports.add(report);
}

/** `part`, a copy of `report` (as a partition's report), recorded when `report` is. */
export function recordedAs<R extends DrainReport>(report: DrainReport, part: R): R {
  if (recordedReports.has(report)) recordedReports.add(part);
  return part;
}

/** The warning for a report that could not be recorded (once per drain). */
export function warnUnrecorded(logger: Pick<Logger, 'warn'>, report: DrainReport, error: string): void {
  logger.warn('could not record the drain in its history', {
    stream: report.stream,
    group: report.group,
    error,
  });
}

/**
 * Records a drain's report in the history of its group: each partition's on that partition's
 * stream, else the report on its stream. Resolves when written, or after {@link HISTORY_WRITE_MS}.
 * A report of a cycle that failed (`stoppedBy: 'error'`, most often Redis unreachable or stalled)
 * is sent without waiting for the answer: the drain already used its time, and must end by its
 * deadline and grace whatever Redis does; the write lands if Redis takes it.
 */
export async function recordHistory(
  driver: Driver,
  report: DrainReport,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const parts = (report.partitions ?? [report]).filter((part) => !recordedReports.has(part));
  if (parts.length === 0) return;
  const written = Promise.allSettled(parts.map((part) => recordOne(driver, part)));
  let warned = false;
  const warn = (error: string) => {
    if (warned) return;
    warned = true;
    warnUnrecorded(logger, report, error);
  };
  const settled = written.then((outcome) => {
    const failure = outcome.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure !== undefined) warn(describeError(failure.reason));
  });
  if (report.stoppedBy === 'error') return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), HISTORY_WRITE_MS);
  });
  try {
    if ((await Promise.race([settled, late])) === 'late') warn(`no answer within ${HISTORY_WRITE_MS} ms`);
  } finally {
    clearTimeout(timer);
  }
}

async function recordOne(driver: Driver, report: DrainReport): Promise<void> {
  await runScript(driver, RECORD_DRAIN, historyKeys(report), recordArgs(recorded(report), report));
}

/** The keys of the history of `report`'s group on its stream: its per-minute hash, its reports list. */
export function historyKeys(report: DrainReport): [string, string] {
  const keys = streamKeys({ stream: report.stream });
  return [keys.history(report.group), keys.reports(report.group)];
}

/**
 * RECORD_DRAIN's arguments for `report`, kept as `kept` (the tidy script's: without what it
 * measures, {@link unmeasuredPart}, which it adds).
 */
export function recordArgs(kept: Record<string, unknown>, report: DrainReport): (string | number)[] {
  return [
    Math.max(0, Math.round(report.durationMs)),
    report.stoppedBy === 'error' ? 1 : 0,
    JSON.stringify(kept),
    report.acked,
    report.failed,
    report.deadLettered,
    report.read,
    report.reclaimed,
    HISTORY_REPORTS,
    HISTORY_MINUTES,
  ];
}

/** What a history keeps of a report: its counts and outcome, not its partitions (each has its own). */
function recorded(report: DrainReport): Record<string, unknown> {
  const { partitions: _partitions, stream: _stream, group: _group, error, ...kept } = report;
  return error === undefined ? kept : { ...kept, error: error.slice(0, MAX_ERROR_CHARS) };
}

/** What a history keeps of a cycle's report, as a script records it, with its partition. */
export function recordedPart(report: DrainReport, partition: number | undefined): Record<string, unknown> {
  return partition === undefined ? recorded(report) : { partition, ...recorded(report) };
}

/**
 * What a history keeps of a cycle's report before its tidy script measured the group (which adds
 * `consumersRemoved`, `trimmed`, `droppedUnconsumed`, `lag` and `pending`), with its partition.
 */
export function unmeasuredPart(report: DrainReport, partition: number | undefined): Record<string, unknown> {
  const {
    consumersRemoved: _removed,
    trimmed: _trimmed,
    droppedUnconsumed: _dropped,
    lag: _lag,
    pending: _pending,
    ...kept
  } = recordedPart(report, partition);
  return kept;
}
