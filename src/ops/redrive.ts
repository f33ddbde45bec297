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
  const { signal, onProgress } = options;
  const dryRun = options.dryRun === true;
  const limit = integerOption('limit', options.limit ?? Number.MAX_SAFE_INTEGER, 1);
  const batchSize = integerOption('batchSize', options.batchSize ?? OPS_DEFAULTS.redriveBatchSize, 1, 1_000);
  const rate =
    options.ratePerSecond === undefined ? 0 : integerOption('ratePerSecond', options.ratePerSecond, 1);
  const ids = options.ids?.map((id) => streamIdOption('ids', id));
  const step = Math.min(batchSize, rate || batchSize);
  const results: RedriveResult[] = [];
  const runBatch = batchRunner(driver, keys, group, dryRun, results);
  const startedAt = Date.now();
  /** Waits until the rate allows the next batch (not after the last one). */
  const pace = async (more: boolean) => {
    if (rate > 0 && more) await sleep(startedAt + (results.length / rate) * 1000 - Date.now(), signal);
  };

  if (ids !== undefined) {
    const chosen = ids.slice(0, limit);
    for (let i = 0; i < chosen.length && !signal?.aborted; i += step) {
      await runBatch(chosen.slice(i, i + step));
      onProgress?.({ done: results.length, total: chosen.length });
      await pace(i + step < chosen.length);
    }
  } else {
    // From the oldest dead letter on, a page of `step` at a time.
    let start = '-';
    let total: number | undefined;
    let more = true;
    while (more && !signal?.aborted) {
      const want = Math.min(step, limit - results.length);
      const page = await range(driver, keys.deadLetters(group), start, '+', want);
      total ??= Math.min(page.length, limit);
      if (page.entries.length === 0) break;
      const batch = page.entries.map((e) => e.id);
      await runBatch(batch);
      start = `(${batch[batch.length - 1]}`;
      more = page.entries.length === want && results.length < limit;
      onProgress?.({ done: results.length, total: Math.max(total, results.length) });
      await pace(more);
    }
  }

  // Nothing to redrive still needs the group to exist: an empty call checks it.
  if (results.length === 0 && !signal?.aborted) await runBatch([]);
  return report(keys, group, dryRun, results);
}

/** What runs one atomic REDRIVE script call on a batch of dead letters and adds its results to `results`. */
function batchRunner(
  driver: Driver,
  keys: StreamKeys,
  group: string,
  dryRun: boolean,
  results: RedriveResult[],
): (batch: readonly string[]) => Promise<void> {
  // A fresh consumer per call holds what it re-pends, until the drain reclaims it (the drain's tidy
  // phase removes it once it holds nothing).
  const consumer = `sluice-redrive-${globalThis.crypto.randomUUID().slice(0, 8)}`;
  return async (batch) => {
    const reply = await withGroup(keys, group, () =>
      runScript(
        driver,
        REDRIVE,
        [keys.stream, keys.deadLetters(group)],
        [group, consumer, dryRun ? 1 : 0, ...batch],
      ),
    );
    for (const row of rows(reply, 'redrive')) {
      const r = rows(row, 'redrive result');
      const behind = optionalString(r[4], 'groups behind');
      results.push({
        id: parseString(r[0], 'dead letter id'),
        outcome: parseString(r[1], 'redrive outcome') as RedriveOutcome,
        sourceId: optionalString(r[2], 'source id'),
        newId: optionalString(r[3], 'new id'),
        groupsBehind: behind === null ? [] : behind.split(','),
      });
    }
  };
}

function report(keys: StreamKeys, group: string, dryRun: boolean, results: RedriveResult[]): RedriveReport {
  const counts: Record<RedriveOutcome, number> = {
    pending: 0,
    unread: 0,
    appended: 0,
    blocked: 0,
    missing: 0,
    invalid: 0,
  };
  for (const r of results) counts[r.outcome]++;
  return {
    stream: keys.stream,
    deadLetterStream: keys.deadLetters(group),
    group,
    dryRun,
    redriven: counts.pending + counts.unread + counts.appended,
    counts,
    results,
  };
}
