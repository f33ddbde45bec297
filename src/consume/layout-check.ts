/**
 * A topic whose layout the container does not know yet (a cold start, or no partition count
 * recorded) is first drained as a plain topic, its layout read by the cycle's first script on the
 * stream — the event-driven probe, else the first reclaim — in that script (one round trip fewer).
 * The script leaves a partitioned topic's plain stream alone, and the drain then serves its
 * partitions (`drain.ts`).
 */
import type { Driver } from '../core/driver.js';
import type { StreamKeys } from '../core/keys.js';
import { declaredGroupsKey, partitionCountKey, rememberLayout } from '../core/partitions.js';
import type { Cycle } from './cycle.js';

/** The cycle's topic turned out partitioned (or its count unreadable): it ends, having done nothing. */
export class TopicNotPlainSignal extends Error {
  override name = 'TopicNotPlainSignal';
  constructor() {
    super('the topic is not a plain one: its partitions are drained instead');
  }
}

/** A layout the first script of the cycle on a plain topic's stream (probe or reclaim) reads. */
export interface LayoutCheck {
  /** The caller's driver (layouts are remembered per driver object). */
  readonly driver: Driver;
  readonly topic: string;
  /** Whether the script ran and read it. */
  read: boolean;
  /** Whether it found the topic not plain: the cycle did nothing. */
  notPlain: boolean;
}

// Keyed by the keys the cycle is opened with (the cycle's own `keys`).
const checks = new WeakMap<StreamKeys, LayoutCheck>();

/** Asks the first script of the cycle on `keys` (the plain stream of `topic`) to read the layout. */
export function checkLayoutInFirstScript(driver: Driver, topic: string, keys: StreamKeys): LayoutCheck {
  const check: LayoutCheck = { driver, topic, read: false, notPlain: false };
  checks.set(keys, check);
  return check;
}

/** The layout check the cycle's next script is to make, once (the probe's or the first reclaim's). */
export function takeLayoutCheck<T>(cycle: Cycle<T>): LayoutCheck | undefined {
  const check = checks.get(cycle.keys);
  return check === undefined || check.read ? undefined : check;
}

/** Whether the cycle's stream may not be its topic's (its layout is still to be read): leave it alone. */
export function layoutUnread<T>(cycle: Cycle<T>): boolean {
  const check = checks.get(cycle.keys);
  return check !== undefined && (!check.read || check.notPlain);
}

/** The keys of a topic's layout, in its plain stream's slot: its partition count, its declared groups. */
export function layoutKeys(topic: string): string[] {
  return [partitionCountKey(topic), declaredGroupsKey(topic)];
}

/**
 * Notes what the script read: `recorded` the partition count (0 or absent: none), `groups` the
 * declared groups. A recorded count is remembered; a topic not plain ends the cycle (throws).
 */
export function noteLayout(check: LayoutCheck, recorded: unknown, groups: unknown): void {
  check.read = true;
  const count = Number(recorded ?? 0);
  if (count === 0) return;
  if (Number.isInteger(count) && count >= 1) rememberLayout(check.driver, check.topic, count, groups);
  if (count === 1) return;
  // Partitioned, or a count that is not one (the layout script says what is wrong with it).
  check.notPlain = true;
  throw new TopicNotPlainSignal();
}
