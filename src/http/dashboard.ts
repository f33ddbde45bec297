/**
 * The operations dashboard: one self-contained HTML page (inline CSS, inline script, an SVG chart
 * drawn by that script; nothing loaded from elsewhere), served by the ops endpoint at `/ops`.
 *
 * What it does, in the browser:
 * - asks for the admin token once and keeps it in the tab's `sessionStorage` (gone when the tab
 *   closes; never put in a URL, a cookie or `localStorage`), and sends it as `Authorization: Bearer`;
 *   a 401 forgets it and asks again;
 * - polls `<base>/stats` every 5 seconds (`?refresh=<seconds>`, 1 to 300, changes that), skipping
 *   polls while the tab is hidden, and keeps the history in memory (the last 360 polls);
 * - per topic and group: length, lag, pending, oldest pending age, consumers, dead letters, and a
 *   chart of lag and pending over time; per group with dead letters, 20 a page from the newest back
 *   to the oldest, with reason, error, deliveries, source id and time; a row opens to the whole
 *   message; Redrive (the group's, one message) and Purge (the same, after a confirmation).
 *
 * `<base>` is the page's own path without a trailing `/` or `/dashboard`, so the page works under
 * any prefix (`/ops`, `/dev/ops`). The response headers carry a Content-Security-Policy that allows
 * exactly this page's script and style (by hash) and requests to its own origin only.
 *
 * The page is built from its assets in `dashboard/`: the page (page.html), its stylesheet (style/*.css)
 * and its script (browser/*.ts, TypeScript checked against the DOM), which scripts/build-dashboard.ts
 * bundles and minifies into `dashboard/assets.generated.ts`; here they are put inline and hashed.
 */
import { createHash } from 'node:crypto';
import { PAGE_TEMPLATE, SCRIPT, STYLE } from './dashboard/assets.generated.js';

/** The dashboard page. */
export const DASHBOARD_HTML = PAGE_TEMPLATE.replace(
  '<style></style>',
  () => `<style>${STYLE}</style>`,
).replace('<script></script>', () => `<script>${SCRIPT}</script>`);

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Headers of the page: no caching, and a Content-Security-Policy that runs only this page's own
 * script and style and lets it talk only to its own origin.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
});
