// Vercel routes /api/qstash-drain here; point the QStash schedule at it.
export { POST } from '../functions/vercel/qstash-drain.js';
