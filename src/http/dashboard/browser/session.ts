/** Signing in and out, the status line and notices, and polling the statistics. */
import { AuthError, api } from './api.js';
import { $ } from './dom.js';
import { clock } from './format.js';
import { refreshSeconds, TOKEN_KEY } from './settings.js';
import { cards, sections } from './state.js';
import type { StatsAnswer } from './types.js';

let running = false;
let polling = false;
let again = false;
let timer = 0;
/** When the last poll brought the drain history (it changes by the minute: asked for every 20 s). */
let historyAt = Number.NEGATIVE_INFINITY;
const HISTORY_EVERY_MS = 20_000;
let render: (data: StatsAnswer) => void = () => {};

/** What draws each poll's statistics. */
export function onStats(draw: (data: StatsAnswer) => void): void {
  render = draw;
}

export function showSignin(message: string): void {
  running = false;
  clearTimeout(timer);
  $('board').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $<HTMLInputElement>('token').value = '';
  $('token').focus();
}

export function start(): void {
  $('signin').hidden = true;
  $('board').hidden = false;
  $('signout').hidden = false;
  running = true;
  pollSoon();
}

/** Signs out: the token and everything shown are gone, and the sign-in asks again. */
export function forget(message: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const section of sections.values()) section.node.remove();
  sections.clear();
  cards.clear();
  historyAt = Number.NEGATIVE_INFINITY;
  $('loading').hidden = false;
  $('summary').hidden = true;
  notify(null);
  setStatus('', 'Signed out');
  showSignin(message);
}

export function setStatus(kind: string, text: string): void {
  $('dot').className = `dot ${kind}`;
  $('status-text').textContent = text;
}

/** Shows a notice (`ok` or `error`), or hides it (null). */
export function notify(kind: string | null, text?: string): void {
  const notice = $('notice');
  notice.hidden = kind === null;
  if (kind === null) return;
  notice.className = `notice ${kind}`;
  $('notice-text').textContent = text ?? '';
}

/** Polls now with the drain history (after a replay, say). */
export function historySoon(): void {
  historyAt = Number.NEGATIVE_INFINITY;
  pollSoon();
}

/** Polls now, or right after the poll that runs. */
export function pollSoon(): void {
  clearTimeout(timer);
  if (polling) again = true;
  else void poll();
}

async function poll(): Promise<void> {
  polling = true;
  again = false;
  try {
    if (!document.hidden) {
      const withHistory = Date.now() - historyAt >= HISTORY_EVERY_MS;
      const data = await api<StatsAnswer>(withHistory ? '/stats?history=1' : '/stats');
      if (!running) return;
      if (withHistory) historyAt = Date.now();
      render(data);
      setStatus(
        'ok',
        `Live · updated ${clock.format(new Date(data.measuredAt))} · every ${refreshSeconds} s`,
      );
    }
  } catch (error) {
    if (error instanceof AuthError) return forget(error.message);
    setStatus('error', (error as Error).message);
  } finally {
    polling = false;
  }
  if (!running) return;
  if (again) return pollSoon();
  timer = setTimeout(poll, refreshSeconds * 1000);
}

/** The sign-in form, sign-out, the notice's dismissal, and polling again when the tab is shown. */
export function listen(): void {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $<HTMLInputElement>('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $('signout').addEventListener('click', () => forget(''));
  $('notice-close').addEventListener('click', () => notify(null));
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && running) pollSoon();
  });
  window.addEventListener('resize', () => {
    for (const card of cards.values()) card.redraw();
  });
}
