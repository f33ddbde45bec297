/**
 * ensureGroup: create a consumer group (and its stream) once per warm container.
 */
import type { Driver } from './driver.js';
import { RedisReplyError } from './errors.js';

const ensured = new WeakMap<Driver, Map<string, Promise<boolean>>>();

/**
 * Makes sure `group` exists on `stream` (creating the stream if needed). `BUSYGROUP` means another
 * caller created it first, which is fine. Success is remembered for the driver's lifetime, and
 * concurrent calls share one round trip. Resolves `true` when this call created the group.
 */
export function ensureGroup(
  driver: Driver,
  stream: string,
  group: string,
  startId: '$' | '0' = '$',
): Promise<boolean> {
  let known = ensured.get(driver);
  if (!known) {
    known = new Map();
    ensured.set(driver, known);
  }
  const cacheKey = `${stream}\u0000${group}`;
  const cached = known.get(cacheKey);
  if (cached) return cached.then(() => false);
  const attempt = create(driver, stream, group, startId);
  known.set(cacheKey, attempt);
  attempt.catch(() => known.delete(cacheKey));
  return attempt;
}

/** Forgets that a group exists (after Redis said NOGROUP: it was destroyed, or the stream deleted). */
export function forgetGroup(driver: Driver, stream: string, group: string): void {
  ensured.get(driver)?.delete(`${stream}\u0000${group}`);
}

async function create(driver: Driver, stream: string, group: string, startId: string): Promise<boolean> {
  try {
    await driver.createGroup(stream, group, startId);
    return true;
  } catch (error) {
    if (error instanceof RedisReplyError && error.code === 'BUSYGROUP') return false;
    throw error;
  }
}
