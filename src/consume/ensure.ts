/**
 * Phase 1, ensure group: XGROUP CREATE … MKSTREAM through the create-groups script, remembered per
 * driver for the life of the warm container. A group created at `$` over a stream that already held
 * entries says how many it skipped, loudly.
 */
import type { Driver } from '../core/driver.js';
import { RedisReplyError } from '../core/errors.js';
import { ensureGroups, forgetGroup, warnSkipped } from '../core/group.js';
import type { Cycle } from './cycle.js';

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
      const [group] = await cycle.guard(ensureGroups(driver, keys.stream, [o.group], o.startId));
      noteSkipped(cycle, group?.skipped ?? 0);
      await phases();
      return;
    } catch (error) {
      if (attempt > 1 || !(error instanceof RedisReplyError && error.code === 'NOGROUP')) throw error;
      forgetGroup(driver, keys.stream, o.group);
    }
  }
}

/** A group this cycle created at `$` skipped what the stream held: say so, loudly. */
function noteSkipped<T>(cycle: Cycle<T>, skipped: number): void {
  if (skipped === 0) return;
  cycle.counts.skipped += skipped;
  warnSkipped(cycle.options.logger, { stream: cycle.keys.stream }, cycle.options.group, skipped);
}
