/**
 * Bounded waits for states no event announces (a key expiring, a client blocking on the server):
 * poll the observed condition instead of sleeping for a guessed time.
 */

export interface WaitForOptions {
  /** Longest wait before failing the test. */
  readonly timeoutMs: number;
  /** What is awaited, for the failure message ("the lease to expire"). */
  readonly what: string;
  /** Pause between checks. @default 10 */
  readonly intervalMs?: number;
}

/**
 * Checks `condition` until it answers true; throws, naming `what`, after `timeoutMs`. A check that
 * throws is retried until the time is up (its last error is reported).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs, what, intervalMs = 10 }: WaitForOptions,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await condition()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= end) {
      const cause = last === undefined ? '' : ` (last check threw: ${String(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
