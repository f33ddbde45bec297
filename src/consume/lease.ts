/**
 * Leases for ordered draining: at most one drain at a time serves a partition (or stream) for a
 * consumer group. A lease is a key holding the drain's consumer name with an expiry; the drain
 * renews it every third of `leaseMs` while its cycle runs and releases it when the cycle ends, so
 * a drain that dies holds its partitions for at most `leaseMs`.
 */

import { runScript } from '../core/driver.js';
import { describeError, LeaseLostError } from '../core/errors.js';
import { parseInteger } from '../core/replies.js';
import { LEASE } from '../core/scripts.js';
import type { Cycle } from './cycle.js';

export interface Lease {
  /**
   * Stops renewing and gives the lease up (if this drain still holds it) — or, with `keepMs`,
   * keeps it that much longer and lets it expire (handlers still running when the cycle ended may
   * yet finish: no other drain may hand out what comes after their messages meanwhile). Never throws.
   */
  release(keepMs?: number): Promise<void>;
}

/**
 * Takes the cycle's lease, or resolves `undefined` when another drain holds it. While held, the
 * cycle stops (`error`) when a renewal fails or finds the lease gone, and — renewals stuck behind
 * a slow connection — a margin before the lease could have expired in Redis: no message of the
 * partition is handed out once another drain may be serving it.
 */
export async function takeLease<T>(cycle: Cycle<T>): Promise<Lease | undefined> {
  const { driver, keys, consumer, options: o } = cycle;
  const key = keys.lease(o.group);
  const send = async (op: 'take' | 'renew' | 'release', ttlMs: number): Promise<boolean> =>
    parseInteger(await runScript(driver, LEASE, [key], [op, consumer, ttlMs]), 'lease') === 1;
  const takenAt = Date.now();
  if (!(await send('take', o.leaseMs))) return undefined;
  if (cycle.signal.aborted) {
    // The cycle ended while the lease was being taken (its hard stop passed): nothing will be
    // handed out, and no timer may outlive it.
    await send('release', 0).catch(() => {});
    return undefined;
  }

  // The lease lasts leaseMs from when its last hold was sent (Redis's expiry starts later still).
  const marginMs = Math.min(1_000, Math.floor(o.leaseMs / 10));
  let expiry: ReturnType<typeof setTimeout> | undefined;
  const heldFrom = (sentAt: number) => {
    clearTimeout(expiry);
    if (cycle.signal.aborted) return; // a renewal answered after the cycle stopped: no new timer
    expiry = setTimeout(
      () => cycle.stop('error', new LeaseLostError(key, 'expired before a renewal was answered')),
      Math.max(0, sentAt + o.leaseMs - marginMs - Date.now()),
    );
  };
  heldFrom(takenAt);
  let renewing: Promise<void> | undefined;
  const renew = () => {
    if (renewing !== undefined) return;
    const sentAt = Date.now();
    renewing = send('renew', o.leaseMs)
      .then(
        (held) => (held ? heldFrom(sentAt) : cycle.stop('error', new LeaseLostError(key))),
        (error: unknown) => cycle.stop('error', error),
      )
      .finally(() => {
        renewing = undefined;
      });
  };
  const timer = setInterval(renew, Math.max(1, Math.floor(o.leaseMs / 3)));
  // Once the cycle stops nothing new is handed out: what remains (settling) fits in the lease left.
  const stopRenewing = () => {
    clearInterval(timer);
    clearTimeout(expiry);
  };
  cycle.signal.addEventListener('abort', stopRenewing, { once: true });
  return {
    async release(keepMs = 0) {
      stopRenewing();
      cycle.signal.removeEventListener('abort', stopRenewing);
      await renewing; // settles, never rejects: a late renewal must not re-take what is released
      try {
        if (keepMs > 0) await send('renew', keepMs);
        else await send('release', 0);
      } catch (error) {
        o.logger.warn('could not release a lease; it expires by itself', {
          key,
          leaseMs: o.leaseMs,
          error: describeError(error),
        });
      }
    },
  };
}
