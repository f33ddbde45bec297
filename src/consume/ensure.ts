/**
 * Phase 1, ensure group: XGROUP CREATE … MKSTREAM, remembered per driver for the life of the warm
 * container. A group the container does not know yet is created by the cycle's first reclaim, in
 * its own script (one round trip fewer at a cold start), else by the create-groups script. A group
 * created at `$` over a stream that already held entries says how many it skipped, loudly.
 */
import type { Driver } from '../core/driver.js';
import { RedisReplyError } from '../core/errors.js';
import { ensureGroups, forgetGroup, knowsGroup, rememberGroup, warnSkipped } from '../core/group.js';
import type { Cycle } from './cycle.js';
import { layoutUnread } from './layout-check.js';

/** A group the cycle's first reclaim creates: the start id to create it at, and what to do after. */
export interface GroupToCreate {
  readonly startId: '$' | '0';
  /** The reclaim created the group, or found it: `skipped` entries a group created at `$` will never see. */
  created(skipped: number): void;
}

// Keyed by the cycle object (any message type).
const toCreate = new WeakMap<object, GroupToCreate>();

/** The group the cycle's reclaim is to create, once: undefined when it is known, or another reclaim took it. */
export function takeGroupToCreate<T>(cycle: Cycle<T>): GroupToCreate | undefined {
  const group = toCreate.get(cycle);
  toCreate.delete(cycle);
  return group;
}

/**
 * Ensures the cycle's group on `driver` (the caller's driver: groups are remembered per driver
 * object), then runs the phases that use it. When the group vanished under them (destroyed, or the
 * stream deleted: `NOGROUP`), it is created again and the phases run again, once.
 */
export async function ensureGroup<T>(
  driver: Driver,
  cycle: Cycle<T>,
  phases: () => Promise<void>,
): Promise<void> {
  const { keys, options: o } = cycle;
  for (let attempt = 1; ; attempt++) {
    try {
      // Ordered draining reclaims with a script of its own, which creates no group.
      if (o.ordered || knowsGroup(driver, keys.stream, o.group)) {
        await ensureNow(driver, cycle);
        await phases();
      } else await createInFirstReclaim(driver, cycle, phases);
      return;
    } catch (error) {
      if (attempt > 1 || !(error instanceof RedisReplyError && error.code === 'NOGROUP')) throw error;
      forgetGroup(driver, keys.stream, o.group);
    }
  }
}

/** The create-groups script (nothing is sent when the container knows the group). */
async function ensureNow<T>(driver: Driver, cycle: Cycle<T>): Promise<void> {
  const { keys, options: o } = cycle;
  const [group] = await cycle.guard(ensureGroups(driver, keys.stream, [o.group], o.startId));
  noteSkipped(cycle, group?.skipped ?? 0);
}

/**
 * Runs the phases with the group left to their first reclaim, which creates it before it promotes or
 * claims anything (and before any read). Should the cycle stop before reclaiming at all, the group is
 * made sure of after the phases, as the phases after them (tidy) expect.
 */
async function createInFirstReclaim<T>(
  driver: Driver,
  cycle: Cycle<T>,
  phases: () => Promise<void>,
): Promise<void> {
  const { keys, options: o } = cycle;
  let created = false;
  toCreate.set(cycle, {
    startId: o.startId,
    created: (skipped) => {
      created = true;
      rememberGroup(driver, keys.stream, o.group);
      noteSkipped(cycle, skipped);
    },
  });
  try {
    await phases();
  } finally {
    toCreate.delete(cycle);
  }
  // (Not on a stream whose topic's layout is still unread: it may be a partitioned topic's.)
  if (!created && !layoutUnread(cycle)) await ensureNow(driver, cycle);
}

/** A group this cycle created at `$` skipped what the stream held: say so, loudly. */
function noteSkipped<T>(cycle: Cycle<T>, skipped: number): void {
  if (skipped <= 0) return;
  cycle.counts.skipped += skipped;
  warnSkipped(cycle.options.logger, { stream: cycle.keys.stream }, cycle.options.group, skipped);
}
