// Vercel routes /api/publish here; vercel.json rewrites POST /topics/{topic}/messages to it.
export { POST } from '../functions/vercel/publish.js';
