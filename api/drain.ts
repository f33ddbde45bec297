// Vercel routes /api/drain here; the cron in vercel.json calls it.
export { GET } from '../functions/vercel/drain.js';
