/**
 * Leases for ordered draining: at most one drain at a time serves a partition (or stream) for a
 * consumer group. A lease is a key holding the drain's consumer name with an expiry; the drain
 * renews it every third of `leaseMs` while its cycle runs and releases it when the cycle ends, so
 * a drain that dies holds its partitions for at most `leaseMs`.
 */
import type { Cycle } from './cycle.js';
import { runScript } from './driver.js';
import { describeError, LeaseLostError } from './errors.js';
import { parseInteger } from './replies.js';
import { LEASE } from './scripts.js';

export interface Lease {
  /** Stops renewing and gives the lease up (if this drain still holds it). Never throws. */
  release(): Promise<void>;
}

/**
 * Takes the cycle's lease, or resolves `undefined` when another drain holds it. While held, a
 * failed or refused renewal stops the cycle (`error`): no message of the partition is handed out
 * once another drain may be serving it.
 */
export async function takeLease<T>(cycle: Cycle<T>): Promise<Lease | undefined> {
  const { driver, keys, consumer, options: o } = cycle;
  const key = keys.lease(o.group);
  const hold = async (): Promise<boolean> =>
    parseInteger(await runScript(driver, LEASE, [key], ['hold', consumer, o.leaseMs]), 'lease') === 1;
  if (!(await hold())) return undefined;

  const renew = () => {
    hold().then(
      (held) => {
        if (!held) cycle.stop('error', new LeaseLostError(key));
      },
      (error: unknown) => cycle.stop('error', error),
    );
  };
  const timer = setInterval(renew, Math.max(1, Math.floor(o.leaseMs / 3)));
  // Once the cycle stops nothing new is handed out: what remains (settling) fits in the lease left.
  const stopRenewing = () => clearInterval(timer);
  cycle.signal.addEventListener('abort', stopRenewing, { once: true });
  return {
    async release() {
      stopRenewing();
      cycle.signal.removeEventListener('abort', stopRenewing);
      try {
        await runScript(driver, LEASE, [key], ['release', consumer, 0]);
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
