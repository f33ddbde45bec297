/**
 * ensureGroup / ensureGroups: create consumer groups (and their stream) once per warm container.
 */
import { type Driver, runScript } from './driver.js';
import { SluiceError } from './errors.js';
import type { Logger } from './logger.js';
import { CREATE_GROUPS } from './scripts.js';

/** What making sure of a group did. */
export interface GroupEnsured {
  readonly group: string;
  /** True when this call created the group (false: it existed, or this container made sure of it before). */
  readonly created: boolean;
  /**
   * Entries the stream already held when the group was created at `$`: that group will never see
   * them. 0 when it was created at `0`, over a new stream, or not created by this call.
   */
  readonly skipped: number;
}

const ensured = new WeakMap<Driver, Map<string, Promise<GroupEnsured>>>();

/** What `driver` made sure of, by {@link groupKey}. */
function knownGroups(driver: Driver): Map<string, Promise<GroupEnsured>> {
  let known = ensured.get(driver);
  if (!known) {
    known = new Map();
    ensured.set(driver, known);
  }
  return known;
}

function groupKey(stream: string, group: string): string {
  return `${stream}\u0000${group}`;
}

/**
 * Makes sure `group` exists on `stream` (creating the stream if needed). An existing group is fine.
 * Success is remembered for the driver's lifetime (a warm container), and concurrent calls share
 * one round trip. Resolves `true` when this call created the group.
 */
export async function ensureGroup(
  driver: Driver,
  stream: string,
  group: string,
  startId: '$' | '0' = '$',
): Promise<boolean> {
  const [result] = await ensureGroups(driver, stream, [group], startId);
  return result?.created === true;
}

/**
 * Makes sure every group of `groups` exists on `stream`, creating those not known to exist in one
 * round trip (none once this container made sure of all of them). A group created at `$` over a
 * stream that already holds entries reports how many it skipped.
 */
export function ensureGroups(
  driver: Driver,
  stream: string,
  groups: readonly string[],
  startId: '$' | '0' = '$',
): Promise<GroupEnsured[]> {
  const cache = knownGroups(driver);
  const cacheKey = (group: string) => groupKey(stream, group);
  const unknown = [...new Set(groups)].filter((group) => !cache.has(cacheKey(group)));
  if (unknown.length > 0) {
    const attempt = create(driver, stream, unknown, startId);
    unknown.forEach((group, i) => {
      const one = attempt.then((results) => results[i] as GroupEnsured);
      cache.set(cacheKey(group), one);
      one.catch(() => cache.delete(cacheKey(group)));
    });
  }
  const fresh = new Set(unknown);
  return Promise.all(
    groups.map((group) =>
      fresh.has(group)
        ? (cache.get(cacheKey(group)) as Promise<GroupEnsured>)
        : (cache.get(cacheKey(group)) as Promise<GroupEnsured>).then(() => ({
            group,
            created: false,
            skipped: 0,
          })),
    ),
  );
}

/**
 * Says loudly that a group created at `$` skipped entries the stream already held (`where` names
 * the stream or topic), and how to avoid it.
 */
export function warnSkipped(
  logger: Pick<Logger, 'warn'>,
  where: Record<string, string>,
  group: string,
  skipped: number,
): void {
  logger.warn('consumer group created at "$" after entries were written: it will never see them', {
    ...where,
    group,
    skipped,
    fix: 'declare the groups a topic is consumed by before publishing (declareTopic, `sluice topic create -g`, the publish function\'s SLUICE_GROUP); startId "0" reads what the stream keeps',
  });
}

/** Whether this container made sure of (or is making sure of) `group` on `stream` through `driver`. */
export function knowsGroup(driver: Driver, stream: string, group: string): boolean {
  return ensured.get(driver)?.has(groupKey(stream, group)) === true;
}

/** Remembers that `group` exists on `stream`: another script made sure of it (the drain's reclaim). */
export function rememberGroup(driver: Driver, stream: string, group: string): void {
  knownGroups(driver).set(groupKey(stream, group), Promise.resolve({ group, created: false, skipped: 0 }));
}

/** Forgets that a group exists (after Redis said NOGROUP: it was destroyed, or the stream deleted). */
export function forgetGroup(driver: Driver, stream: string, group: string): void {
  ensured.get(driver)?.delete(groupKey(stream, group));
}

async function create(
  driver: Driver,
  stream: string,
  groups: readonly string[],
  startId: string,
): Promise<GroupEnsured[]> {
  const reply = await runScript(driver, CREATE_GROUPS, [stream], [startId, ...groups]);
  if (!Array.isArray(reply) || reply.length !== groups.length) {
    throw new SluiceError(
      `Unexpected reply creating consumer groups: ${JSON.stringify(reply)?.slice(0, 200)}`,
    );
  }
  return groups.map((group, i) => {
    const skipped = Number(reply[i]);
    return { group, created: skipped >= 0, skipped: Math.max(0, skipped) };
  });
}
