/**
 * One invocation's changes to drain options resolved at cold start: what a schedule's input
 * overrides, and the function's remaining time. Only the changed values are checked again.
 */

import {
  assignedOption,
  dropUndefined,
  fail,
  MAX_DURATION_MS,
  nameOption,
  optionalInteger,
  remainingTimeOption,
  signalOption,
} from './option-checks.js';
import { brandResolved, type ResolvedDrainOptions } from './options.js';
import { wakeOption } from './wake.js';

/** What one invocation may change in options resolved at cold start. */
export interface InvocationChanges {
  /** Drain this topic instead (it replaces a configured `stream`). */
  readonly topic?: string | undefined;
  readonly group?: string | undefined;
  readonly budgetMs?: number | undefined;
  readonly idleExitMs?: number | undefined;
  readonly assignedPartitions?: readonly number[] | undefined;
  /** The invocation's own remaining time (a Lambda context's, or derived from a request's start). */
  readonly remainingTimeMs?: (() => number) | undefined;
  /** The invocation's shutdown signal (the process's SIGTERM): it replaces the configured one. */
  readonly signal?: AbortSignal | undefined;
  /** The id a woken drain runs under (event-driven draining; ignored without `wake`). */
  readonly drainId?: string | undefined;
}

/**
 * Resolved options with one invocation's changes (a schedule's overrides, the function's remaining
 * time), only the changed values checked again. No change: the same object.
 */
export function withInvocation<T>(
  o: ResolvedDrainOptions<T>,
  changes: InvocationChanges,
): ResolvedDrainOptions<T> {
  const c = dropUndefined(changes);
  if (Object.keys(c).length === 0) return o;
  const target = c.topic === undefined ? o.target : { topic: nameOption('topic', c.topic) };
  if ('stream' in target && c.assignedPartitions !== undefined)
    fail('assignedPartitions', '`assignedPartitions` applies to a `topic`, not to a `stream`');
  return brandResolved({
    ...o,
    target,
    group: c.group === undefined ? o.group : nameOption('group', c.group),
    budgetMs: optionalInteger('budgetMs', c.budgetMs, 1, MAX_DURATION_MS) ?? o.budgetMs,
    idleExitMs:
      c.idleExitMs === undefined
        ? o.idleExitMs
        : optionalInteger('idleExitMs', c.idleExitMs, 0, MAX_DURATION_MS),
    assignedPartitions: assignedOption(c.assignedPartitions) ?? o.assignedPartitions,
    remainingTimeMs: remainingTimeOption(c.remainingTimeMs) ?? o.remainingTimeMs,
    signal: signalOption(c.signal) ?? o.signal,
    wake:
      c.drainId === undefined || o.wake === undefined
        ? o.wake
        : wakeOption({ ...o.wake, drainId: c.drainId }),
  });
}
