/**
 * Redrive: put a group's dead letters back so that only that group gets them again (the REDRIVE
 * script decides per dead letter, atomically per batch), paced and abortable.
 */
import { type Driver, runScript } from '../core/driver.js';
import type { StreamKeys } from '../core/keys.js';
import { parseString } from '../core/replies.js';
import { sleep } from '../core/signals.js';
import { streamIdOption } from '../core/stream-ids.js';
import { integerOption } from '../core/validate.js';
import { optionalString, range, rows, withGroup } from './replies.js';
import { REDRIVE } from './scripts.js';
import { checkGroup, OPS_DEFAULTS, type OpsTarget, targetKeys } from './target.js';

/**
 * What became of one dead letter:
 * - `pending`: back in the group's pending list (its source entry is still in the stream); the
 *   next drain cycle's reclaim phase delivers it again, same id, fresh delivery count;
 * - `unread`: the group had not read its source entry yet (a replay moved it back): it will;
 * - `appended`: the source entry was trimmed, so the original fields were appended as a new
 *   entry, and every other group (all had read the whole stream) was moved past it;
 * - `blocked`: source trimmed and other groups (`groupsBehind`) still have unread entries: left
 *   as a dead letter, try again once they have caught up;
 * - `missing`: no such dead letter; `invalid`: it has no source id or no original fields.
 */
export type RedriveOutcome = 'pending' | 'unread' | 'appended' | 'blocked' | 'missing' | 'invalid';

export interface RedriveResult {
  /** The dead letter's id. */
  readonly id: string;
  readonly outcome: RedriveOutcome;
  readonly sourceId: string | null;
  /** The new entry's id (`appended`, not in a dry run). */
  readonly newId: string | null;
  /** The other groups with unread entries (`blocked`). */
  readonly groupsBehind: readonly string[];
}

export interface RedriveReport {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly group: string;
  readonly dryRun: boolean;
  /** Dead letters redriven (or, in a dry run, that would be): `pending` + `unread` + `appended`. */
  readonly redriven: number;
  /** Per outcome. */
  readonly counts: Readonly<Record<RedriveOutcome, number>>;
  readonly results: readonly RedriveResult[];
}

export interface RedriveProgress {
  /** Dead letters handled so far. */
  readonly done: number;
  /** How many will be handled in all (the dead letters there were, capped by `limit`). */
  readonly total: number;
}

export interface RedriveOptions {
  /** These dead letters only (ids in the dead-letter stream). Default: from the oldest on. */
  readonly ids?: readonly string[];
  /** At most this many. Default: all. */
  readonly limit?: number;
  /** Decide, report, write nothing. @default false */
  readonly dryRun?: boolean;
  /** At most this many dead letters per second. Default: no limit. */
  readonly ratePerSecond?: number;
  /**
   * Dead letters per script call (each call is atomic).
   * @default 100
   */
  readonly batchSize?: number;
  /** Aborting stops after the batch under way. */
  readonly signal?: AbortSignal;
  /** Called after each batch. */
  readonly onProgress?: (progress: RedriveProgress) => void;
}

/**
 * Puts dead letters back so that only the group that dead-lettered them gets them again — never
 * by adding them to the stream for every group (see {@link RedriveOutcome} and the REDRIVE script).
 * The group must exist ({@link GroupNotFoundError} otherwise).
 *
 * @example
 * ```ts
 * const report = await redrive(driver, 'orders', 'billing', { dryRun: true });
 * console.log(report.counts); // { pending: 12, appended: 1, blocked: 0, … }
 * ```
 */
export async function redrive(
  driver: Driver,
  target: OpsTarget,
  group: string,
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const limit =
    options.limit === undefined ? Number.MAX_SAFE_INTEGER : integerOption('limit', options.limit, 1);
  const batchSize = integerOption('batchSize', options.batchSize ?? OPS_DEFAULTS.redriveBatchSize, 1, 1_000);
  const rate =
    options.ratePerSecond === undefined ? 0 : integerOption('ratePerSecond', options.ratePerSecond, 1);
  const ids = options.ids?.map((id) => streamIdOption('ids', id));
  const run: Run = {
    driver,
    keys,
    group,
    deadLetterStream: keys.deadLetters(group),
    // A fresh consumer per call holds what it re-pends, until the drain reclaims it (the drain's
    // tidy phase removes it once it holds nothing).
    consumer: `sluice-redrive-${globalThis.crypto.randomUUID().slice(0, 8)}`,
    dryRun: options.dryRun === true,
    limit,
    step: Math.min(batchSize, rate || batchSize),
    rate,
    startedAt: Date.now(),
    options,
    results: [],
  };
  if (ids !== undefined) await redriveIds(run, ids.slice(0, limit));
  else await redriveOldestFirst(run);
  // Nothing to redrive still needs the group to exist: an empty call checks it.
  if (run.results.length === 0 && !options.signal?.aborted) await runBatch(run, []);
  return report(run);
}

/** One redrive call: what it works on, how, and what it has done so far. */
interface Run {
  readonly driver: Driver;
  readonly keys: StreamKeys;
  readonly group: string;
  readonly deadLetterStream: string;
  readonly consumer: string;
  readonly dryRun: boolean;
  readonly limit: number;
  /** Dead letters per script call. */
  readonly step: number;
  /** Per second, 0 for no limit. */
  readonly rate: number;
  readonly startedAt: number;
  readonly options: RedriveOptions;
  readonly results: RedriveResult[];
}

/** The dead letters named, `step` at a time. */
async function redriveIds(run: Run, chosen: readonly string[]): Promise<void> {
  const { options, step } = run;
  for (let i = 0; i < chosen.length && !options.signal?.aborted; i += step) {
    await runBatch(run, chosen.slice(i, i + step));
    options.onProgress?.({ done: run.results.length, total: chosen.length });
    await pace(run, i + step < chosen.length);
  }
}

/** The dead letters from the oldest on, a page of `step` at a time, up to `limit`. */
async function redriveOldestFirst(run: Run): Promise<void> {
  const { options, results, limit } = run;
  let start = '-';
  let total: number | undefined;
  let more = true;
  while (more && !options.signal?.aborted) {
    const want = Math.min(run.step, limit - results.length);
    const page = await range(run.driver, run.deadLetterStream, start, '+', want);
    total ??= Math.min(page.length, limit);
    if (page.entries.length === 0) break;
    const batch = page.entries.map((e) => e.id);
    await runBatch(run, batch);
    start = `(${batch[batch.length - 1]}`;
    more = page.entries.length === want && results.length < limit;
    options.onProgress?.({ done: results.length, total: Math.max(total, results.length) });
    await pace(run, more);
  }
}

/** One atomic REDRIVE script call on `batch`; its results are added to the run's. */
async function runBatch(run: Run, batch: readonly string[]): Promise<void> {
  const { driver, keys, group } = run;
  const reply = await withGroup(keys, group, () =>
    runScript(
      driver,
      REDRIVE,
      [keys.stream, run.deadLetterStream],
      [group, run.consumer, run.dryRun ? 1 : 0, ...batch],
    ),
  );
  for (const row of rows(reply, 'redrive')) {
    const r = rows(row, 'redrive result');
    const behind = optionalString(r[4], 'groups behind');
    run.results.push({
      id: parseString(r[0], 'dead letter id'),
      outcome: parseString(r[1], 'redrive outcome') as RedriveOutcome,
      sourceId: optionalString(r[2], 'source id'),
      newId: optionalString(r[3], 'new id'),
      groupsBehind: behind === null ? [] : behind.split(','),
    });
  }
}

/** Waits until the rate allows the next batch (not after the last one). */
async function pace(run: Run, more: boolean): Promise<void> {
  if (run.rate > 0 && more) {
    const dueAt = run.startedAt + (run.results.length / run.rate) * 1000;
    await sleep(dueAt - Date.now(), run.options.signal);
  }
}

function report(run: Run): RedriveReport {
  const counts: Record<RedriveOutcome, number> = {
    pending: 0,
    unread: 0,
    appended: 0,
    blocked: 0,
    missing: 0,
    invalid: 0,
  };
  for (const r of run.results) counts[r.outcome]++;
  return {
    stream: run.keys.stream,
    deadLetterStream: run.deadLetterStream,
    group: run.group,
    dryRun: run.dryRun,
    redriven: counts.pending + counts.unread + counts.appended,
    counts,
    results: run.results,
  };
}
