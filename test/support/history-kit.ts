/**
 * What the drain history's tests share: rates over the last minute count a minute's bucket fully
 * only while that minute lasts, so tests that assert them exactly start with time left in it.
 */
import { waitFor } from './wait-for.js';

/** Resolves once the clock is not in the last 15 s of a minute (at once, most of the time). */
export async function notNearMinuteEnd(): Promise<void> {
  await waitFor(() => Date.now() % 60_000 < 45_000, { timeoutMs: 20_000, what: 'a minute with time left' });
}
