/** What the page is set to: where its API is, how often it polls, how much it keeps. */

export const TOKEN_KEY = 'sluice.adminToken';
/** Polls kept per group for its chart. */
export const MAX_POINTS = 360;
/** Dead letters a page. */
export const PAGE = 20;
/** The page's own path without a trailing `/` or `/dashboard`: the ops routes are below it. */
export const base = location.pathname.replace(/\/+$/, '').replace(/\/dashboard$/, '');
const asked = Number(new URLSearchParams(location.search).get('refresh'));
/** `?refresh=<seconds>`, 1 to 300; 5 by default. */
export const refreshSeconds = Number.isFinite(asked) && asked >= 1 ? Math.min(300, Math.floor(asked)) : 5;
