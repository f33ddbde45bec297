/**
 * The drain functions' `maxDuration` in vercel.json, in seconds. Vercel has no remaining-time call,
 * so the drain derives its deadline from this: keep the two equal (a test checks they are).
 */
export const MAX_DURATION_SECONDS = 60;
