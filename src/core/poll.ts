/**
 * The back-off between polls of a driver that cannot block (no BLOCK over REST): after an empty
 * poll wait 50 ms, doubling after each further empty one up to a longest wait; anything read starts
 * it over. Used wherever sluice polls a stream (the drain's read phase, `tail`).
 */
import { sleep } from './signals.js';

/** The first wait after an empty poll. */
export const FIRST_POLL_DELAY_MS = 50;

export interface PollBackoff {
  /**
   * Waits before the next poll after an empty one: the current delay, at most `atMostMs` and at
   * least 1 ms, or until `signal` aborts; then doubles the delay (up to the longest). Resolves with
   * the wait it took (before an abort ended it).
   */
  wait(signal?: AbortSignal, atMostMs?: number): Promise<number>;
  /** Something was read: the next wait is the first one again. */
  reset(): void;
  /** The delay the next wait takes (before `atMostMs`). */
  readonly delayMs: number;
}

/** A poll back-off from {@link FIRST_POLL_DELAY_MS} doubling to `maxDelayMs` (the first is never longer). */
export function pollBackoff(maxDelayMs: number): PollBackoff {
  const first = Math.min(FIRST_POLL_DELAY_MS, maxDelayMs);
  let delayMs = first;
  return {
    async wait(signal, atMostMs = Number.POSITIVE_INFINITY) {
      const waitMs = Math.max(1, Math.min(delayMs, atMostMs));
      delayMs = Math.min(delayMs * 2, maxDelayMs);
      await sleep(waitMs, signal);
      return waitMs;
    },
    reset() {
      delayMs = first;
    },
    get delayMs() {
      return delayMs;
    },
  };
}
