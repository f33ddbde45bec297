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
 * The page is assembled here from the parts in `dashboard/`: the stylesheet, and the script's base
 * (helpers, sign-in, polling, summary), group cards (metrics, dead letters) and chart.
 */
import { createHash } from 'node:crypto';
import { BASE_SCRIPT } from './dashboard/script-base.js';
import { CHART_SCRIPT } from './dashboard/script-chart.js';
import { GROUPS_SCRIPT } from './dashboard/script-groups.js';
import { STYLE } from './dashboard/style.js';

const SCRIPT = `
(() => {
  'use strict';
${BASE_SCRIPT}
${GROUPS_SCRIPT}
${CHART_SCRIPT}
  if (sessionStorage.getItem(TOKEN_KEY)) start();
  else showSignin('');
})();
`;

const LOGO = `<svg width="26" height="26" viewBox="0 0 26 26" aria-hidden="true"><rect width="26" height="26" rx="7" fill="#2563eb"/><path d="M6 9.5c2.3-2 4.7-2 7 0s4.7 2 7 0M6 14c2.3-2 4.7-2 7 0s4.7 2 7 0M6 18.5c2.3-2 4.7-2 7 0s4.7 2 7 0" fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round"/></svg>`;

/** The dashboard page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sluice · operations</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="bar">
  <div class="brand">${LOGO}<span>sluice</span><span class="sub">operations</span></div>
  <div class="status"><span id="dot" class="dot"></span><span id="status-text">Not signed in</span></div>
  <button id="signout" class="ghost small" type="button" hidden>Sign out</button>
</header>
<main>
  <noscript><p class="card signin">This dashboard needs JavaScript.</p></noscript>
  <section id="signin" class="card signin" hidden>
    <h1>Operations dashboard</h1>
    <p>Enter the admin token (<code>SLUICE_ADMIN_TOKEN</code>). It stays in this browser tab only and is sent as a bearer token.</p>
    <form id="signin-form" autocomplete="off">
      <input id="token" type="password" autocomplete="off" placeholder="admin token" aria-label="admin token" spellcheck="false" required>
      <button type="submit">Open</button>
    </form>
    <p id="signin-error" class="error" role="alert"></p>
  </section>
  <section id="board" hidden>
    <div id="notice" class="notice" role="status" hidden><span id="notice-text"></span><button id="notice-close" class="ghost small" type="button" aria-label="dismiss">Dismiss</button></div>
    <div id="summary" class="summary" hidden></div>
    <p id="loading" class="loading">Loading statistics…</p>
    <div id="topics"></div>
  </section>
</main>
<dialog id="confirm" class="card confirm" aria-labelledby="confirm-text">
  <p id="confirm-text"></p>
  <div class="confirm-actions"><button id="confirm-cancel" class="ghost" type="button">Cancel</button><button id="confirm-ok" class="danger" type="button">Purge</button></div>
</dialog>
<script>${SCRIPT}</script>
</body>
</html>
`;

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
