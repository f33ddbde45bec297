/**
 * Event-driven draining, the drain's side (`wake` option): a cycle first asks Redis whether there
 * is anything to do (`PROBE`: one script — an idle tick ends there), counts itself among the
 * group's live drains while it runs, wakes helpers when its backlog is more than it can finish
 * before its deadline (`FAN_OUT`), and on its way out leaves the count and wakes its successor when
 * work is left and no other drain is live (`FINISH`). The decisions are the scripts'
 * (`core/wake-scripts.ts`); the wakes go through the `Waker` the options name.
 */
import { randomBytes } from 'node:crypto';
import { runScript } from '../core/driver.js';
import { describeError, InvalidOptionError } from '../core/errors.js';
import { parseString } from '../core/replies.js';
import { describeGot, integerOption } from '../core/validate.js';
import { FAN_OUT, FINISH, PROBE } from '../core/wake-scripts.js';
import { type WakeReason, type Waker, wakeWithin } from '../core/waker.js';
import type { Cycle } from './cycle.js';
import { historyKeys, markRecorded, recordArgs, recordedPart, warnUnrecorded } from './history.js';
import { layoutKeys, noteLayout, takeLayoutCheck } from './layout-check.js';
import type { DrainReport } from './report.js';

/** Event-driven draining settings of a drain. */
export interface WakeOptions {
  /**
   * How this drain starts others: its successor when it ends with work left, helpers when its
   * backlog is more than it can finish. Unset: it still ends at once when idle and counts itself,
   * but starts no drain.
   */
  readonly waker?: Waker | undefined;
  /**
   * Most drains of a group on one stream at once, woken or scheduled: past it, a drain starting
   * ends at once and no helper is woken.
   * @default 4
   */
  readonly maxConcurrentDrains?: number;
  /** The id this drain was woken under (a wake payload's `drainId`). Unset: its consumer name. */
  readonly drainId?: string | undefined;
  /**
   * How long a backlog may take to drain: a drain that sees more than it can handle in this time
   * (at the rate it measures, and within its deadline) wakes helpers.
   * @default 5000
   */
  readonly drainWithinMs?: number;
  /**
   * How long a drain woken but not started yet counts as live (a cold start's allowance). A wake
   * that never starts a drain holds back further wakes of the group this long, no more.
   * @default 15000
   */
  readonly wakeMs?: number;
}

export const WAKE_DEFAULTS = Object.freeze({
  maxConcurrentDrains: 4,
  wakeMs: 15_000,
  drainWithinMs: 5_000,
  /** A drain ends this long after it ran dry, unless `idleExitMs` says otherwise. */
  idleExitMs: 3_000,
});

/** Wake options, checked and with their defaults. */
export interface ResolvedWakeOptions {
  readonly waker: Waker | undefined;
  readonly maxConcurrentDrains: number;
  readonly drainId: string | undefined;
  readonly wakeMs: number;
  readonly drainWithinMs: number;
}

const DRAIN_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Checks the `wake` option (an `InvalidOptionError` names the field). */
export function wakeOption(wake: WakeOptions | undefined): ResolvedWakeOptions | undefined {
  if (wake === undefined) return undefined;
  if (typeof wake !== 'object' || wake === null)
    throw new InvalidOptionError('wake', `Expected \`wake\` to be an object, got ${describeGot(wake)}`);
  const { waker, drainId } = wake;
  if (
    waker !== undefined &&
    (typeof waker !== 'object' || waker === null || typeof waker.wake !== 'function')
  ) {
    throw new InvalidOptionError(
      'wake.waker',
      `Expected \`wake.waker\` to be a Waker ({ name, wake() }), got ${describeGot(waker)}`,
    );
  }
  if (drainId !== undefined && (typeof drainId !== 'string' || !DRAIN_ID.test(drainId))) {
    throw new InvalidOptionError(
      'wake.drainId',
      `Expected \`wake.drainId\` to match ${DRAIN_ID}, got ${describeGot(drainId)}`,
    );
  }
  return Object.freeze({
    waker,
    drainId,
    maxConcurrentDrains: integerOption(
      'wake.maxConcurrentDrains',
      wake.maxConcurrentDrains ?? WAKE_DEFAULTS.maxConcurrentDrains,
      1,
      1_000,
    ),
    wakeMs: integerOption('wake.wakeMs', wake.wakeMs ?? WAKE_DEFAULTS.wakeMs, 100, 900_000),
    drainWithinMs: integerOption(
      'wake.drainWithinMs',
      wake.drainWithinMs ?? WAKE_DEFAULTS.drainWithinMs,
      100,
      900_000,
    ),
  });
}

/** How often a running drain reconsiders its backlog (the first time sooner: a rate to go by). */
const FAN_OUT_EVERY_MS = 1_000;
const FAN_OUT_FIRST_MS = 250;

/** Beyond the deadline, how long a running drain stays counted (its settling, a slow Redis). */
const LIVE_AFTER_DEADLINE_MS = 5_000;

export type ProbeVerdict = 'run' | 'idle' | 'full';

/** The drain's id in the group's set of live drains. */
function drainIdOf<T>(cycle: Cycle<T>): string {
  return cycle.options.wake?.drainId ?? cycle.consumer;
}

/** A fresh id for a drain this one wakes. */
function newDrainId(): string {
  return `w-${randomBytes(9).toString('base64url')}`;
}

function scriptKeys<T>(cycle: Cycle<T>): string[] {
  const { keys, options: o } = cycle;
  return [keys.stream, keys.drains(o.group), keys.scheduled];
}

/**
 * The cycle's first step in event-driven mode (one script): `run` — it joins the group's live
 * drains until its deadline — or `idle` / `full` (nothing to do, or enough drains live), and then
 * the cycle ends at once, `ended` its report, which the script records in the group's history.
 * While the container does not know the topic's layout, the script reads it first
 * (`layout-check.ts`: a topic found not plain throws, the script having done nothing). Resolves the
 * verdict and the group's lag (-1 unknown).
 */
export async function probe<T>(
  cycle: Cycle<T>,
  ended: DrainReport,
): Promise<{ verdict: ProbeVerdict; lag: number }> {
  const { options: o } = cycle;
  const wake = o.wake as NonNullable<typeof o.wake>;
  const liveMs = cycle.deadline - Date.now() + LIVE_AFTER_DEADLINE_MS;
  const layout = takeLayoutCheck(cycle);
  const reply = await runScript(
    cycle.driver,
    PROBE,
    [...scriptKeys(cycle), ...historyKeys(ended), ...(layout === undefined ? [] : layoutKeys(layout.topic))],
    [
      o.group,
      drainIdOf(cycle),
      Math.max(1, liveMs),
      o.visibilityTimeoutMs,
      wake.maxConcurrentDrains,
      layout === undefined ? 0 : 1,
      ...recordArgs(recordedPart(ended, cycle.partition), ended),
    ],
  );
  const [verdict, lag, , count, unrecorded, groups] = Array.isArray(reply) ? reply : [];
  if (layout !== undefined) noteLayout(layout, count, groups);
  const said = parseString(verdict, 'probe verdict') as ProbeVerdict;
  if (said !== 'run') {
    markRecorded(ended);
    if (unrecorded) warnUnrecorded(o.logger, ended, String(unrecorded));
  }
  return { verdict: said, lag: Number(lag) };
}

/**
 * The cycle's last step in event-driven mode: it leaves the group's live drains and, when work is
 * left and no other drain is live, wakes its successor. Never throws: a failure is logged (the
 * drain's entry expires by itself; the schedule picks up what is left).
 */
export async function finish<T>(cycle: Cycle<T>): Promise<void> {
  const { options: o } = cycle;
  const wake = o.wake as NonNullable<typeof o.wake>;
  try {
    const successor = newDrainId();
    const reply = await runScript(cycle.driver, FINISH, scriptKeys(cycle), [
      o.group,
      drainIdOf(cycle),
      wakerOf(cycle) === undefined ? '' : successor,
      wake.wakeMs,
      o.visibilityTimeoutMs,
    ]);
    const woken = Array.isArray(reply) ? String(reply[0]) : '';
    const waker = wakerOf(cycle);
    if (woken !== '' && waker !== undefined) await wakeOne(cycle, waker, woken, 'successor');
  } catch (error) {
    o.logger.warn('could not end the drain’s entry among the live drains; it expires by itself', {
      stream: cycle.keys.stream,
      group: o.group,
      error: describeError(error),
    });
  }
}

/**
 * The waker a cycle may use: its option's, on a topic only — the wake payload names a topic (a stream
 * used as it is has no drain route to name it; such a drain still probes and counts itself).
 */
function wakerOf<T>(cycle: Cycle<T>): Waker | undefined {
  return 'topic' in cycle.options.target ? cycle.options.wake?.waker : undefined;
}

/** Wakes one drain; a failure is logged, never thrown (its entry expires after `wakeMs`). */
async function wakeOne<T>(cycle: Cycle<T>, waker: Waker, drainId: string, reason: WakeReason): Promise<void> {
  const { options: o, keys } = cycle;
  try {
    await wakeWithin(waker, {
      topic: (o.target as { topic: string }).topic,
      stream: keys.stream,
      group: o.group,
      ...(cycle.partition === undefined ? {} : { partition: cycle.partition }),
      drainId,
      reason,
    });
  } catch (error) {
    o.logger.warn('could not wake a drain; the schedule will pick the work up', {
      stream: keys.stream,
      group: o.group,
      waker: waker.name,
      reason,
      error: describeError(error),
    });
  }
}

/** Watches a running cycle's progress and wakes helpers when its backlog outruns its time. */
export interface FanOut {
  /** Called after each batch: at most once a second it measures, and wakes what is needed. */
  check(): Promise<void>;
}

/**
 * The fan-out of a cycle whose probe saw `lag` entries behind: soon after it starts, then once a
 * second, from the rate it handles messages at it wants `ceil(left / (rate × horizon))` drains in
 * all — the horizon being `drainWithinMs`, or less when its deadline is nearer — and asks
 * `FAN_OUT` for the missing ones (within `maxConcurrentDrains`).
 */
export function fanOut<T>(cycle: Cycle<T>, lag: number): FanOut | undefined {
  const wake = cycle.options.wake;
  const waker = wakerOf(cycle);
  if (wake === undefined || waker === undefined || lag <= 0 || wake.maxConcurrentDrains <= 1)
    return undefined;
  const startedAt = Date.now();
  let nextAt = startedAt + FAN_OUT_FIRST_MS;
  return {
    async check() {
      const now = Date.now();
      if (now < nextAt) return;
      nextAt = now + FAN_OUT_EVERY_MS;
      const { counts } = cycle;
      const handled = counts.acked + counts.failed + counts.deadLettered;
      const left = lag - counts.read;
      const horizon = Math.min(wake.drainWithinMs, cycle.deadline - now);
      if (handled === 0 || left <= 0 || horizon <= 0) return;
      const rate = handled / (now - startedAt);
      const wanted = Math.min(wake.maxConcurrentDrains, Math.ceil(left / (rate * horizon)));
      if (wanted <= 1) return;
      const ids = Array.from({ length: wanted - 1 }, newDrainId);
      const reply = await runScript(
        cycle.driver,
        FAN_OUT,
        [cycle.keys.drains(cycle.options.group)],
        [wanted, wake.wakeMs, ...ids],
      );
      const added = Array.isArray(reply) ? reply.map(String) : [];
      await Promise.all(added.map((id) => wakeOne(cycle, waker, id, 'backlog')));
    },
  };
}
