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
 *   chart of lag and pending over time; per group with dead letters, the oldest 20 with reason,
 *   error, deliveries, source id and time, and Redrive buttons (the group's, and one per message).
 *
 * `<base>` is the page's own path without a trailing `/` or `/dashboard`, so the page works under
 * any prefix (`/ops`, `/dev/ops`). The response headers carry a Content-Security-Policy that allows
 * exactly this page's script and style (by hash) and requests to its own origin only.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #172033; --muted: #667085; --faint: #98a2b3;
  --border: #e4e7ec; --grid: #eef0f3; --accent: #2563eb; --accent-soft: #dbe7fe; --amber: #d97706;
  --amber-soft: #fef3c7; --red: #d92d20; --red-soft: #fee4e2; --green: #079455; --green-soft: #dcfae6;
  --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1420; --panel: #161d2c; --text: #e6e9ef; --muted: #98a2b3; --faint: #667085;
    --border: #273044; --grid: #1f2738; --accent: #6895f7; --accent-soft: #1d2b4d; --amber: #f5a524;
    --amber-soft: #3b2a0c; --red: #f97066; --red-soft: #3d1613; --green: #47cd89; --green-soft: #0f2e1f;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
button {
  font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; padding: 6px 14px; cursor: pointer;
}
button:hover { filter: brightness(1.08); }
button:disabled { opacity: .55; cursor: progress; }
button.ghost { background: transparent; color: var(--muted); border-color: var(--border); }
button.small { padding: 3px 10px; font-size: 12.5px; }
button.outline { background: transparent; color: var(--accent); }
.bar {
  position: sticky; top: 0; z-index: 2; display: flex; align-items: center; gap: 16px;
  padding: 12px 28px; background: var(--panel); border-bottom: 1px solid var(--border);
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 700; font-size: 16px; letter-spacing: -.01em; }
.brand svg { display: block; }
.brand .sub { color: var(--muted); font-weight: 500; }
.status { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--faint); }
.dot.ok { background: var(--green); box-shadow: 0 0 0 3px var(--green-soft); }
.dot.error { background: var(--red); box-shadow: 0 0 0 3px var(--red-soft); }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 12px; box-shadow: var(--shadow); }
.signin { max-width: 440px; margin: 72px auto; padding: 28px; }
.signin h1 { margin: 0 0 6px; font-size: 20px; }
.signin p { color: var(--muted); margin: 0 0 18px; }
.signin form { display: flex; gap: 8px; }
.signin input {
  flex: 1; font: inherit; padding: 7px 10px; border-radius: 8px; border: 1px solid var(--border);
  background: var(--bg); color: var(--text);
}
.signin input:focus { outline: 2px solid var(--accent-soft); border-color: var(--accent); }
.error { color: var(--red); }
.signin .error { margin: 14px 0 0; }
.signin .error:empty { display: none; }
.notice {
  display: flex; align-items: center; gap: 12px; padding: 10px 14px; margin-bottom: 18px;
  border-radius: 10px; border: 1px solid var(--border); background: var(--panel);
}
.notice.ok { border-color: var(--green); background: var(--green-soft); }
.notice.error { border-color: var(--red); background: var(--red-soft); }
.notice span { flex: 1; }
.summary { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; margin-bottom: 26px; }
.tile { padding: 14px 16px; }
.tile .label { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 24px; font-weight: 700; margin-top: 2px; font-variant-numeric: tabular-nums; }
.tile.bad .value { color: var(--red); }
.topic { margin-bottom: 30px; }
.topic-head { display: flex; align-items: baseline; flex-wrap: wrap; gap: 6px 14px; margin: 0 2px 12px; }
.topic-head h2 { margin: 0; font-size: 18px; letter-spacing: -.01em; }
.topic-head .kind { color: var(--muted); font-weight: 500; font-size: 13px; margin-right: 6px; }
.topic-head code { color: var(--muted); }
.facts { display: flex; gap: 16px; color: var(--muted); font-size: 13px; margin-left: auto; }
.facts b { color: var(--text); font-variant-numeric: tabular-nums; }
.groups { display: grid; gap: 14px; }
.group { padding: 16px 18px; }
.group-head { display: flex; align-items: center; gap: 10px; margin-bottom: 12px; }
.group-head h3 { margin: 0; font-size: 15px; }
.group-head .where { color: var(--faint); font-size: 12.5px; margin-left: auto; }
.badge {
  display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--grid); color: var(--muted); white-space: nowrap;
}
.badge.ok { background: var(--green-soft); color: var(--green); }
.badge.warn { background: var(--amber-soft); color: var(--amber); }
.badge.bad { background: var(--red-soft); color: var(--red); }
.group-body { display: grid; grid-template-columns: minmax(260px, 320px) 1fr; gap: 22px; align-items: start; }
.metrics { border: 1px solid var(--border); border-radius: 10px; overflow: hidden; }
.metric {
  display: grid; grid-template-columns: 1fr auto; column-gap: 12px; align-items: center;
  padding: 7px 14px; border-bottom: 1px solid var(--grid);
}
.metric:last-child { border-bottom: 0; }
.metric-label { grid-column: 1; font-weight: 600; font-size: 13px; }
.metric-note { grid-column: 1; color: var(--faint); font-size: 11.5px; }
.metric-value {
  grid-column: 2; grid-row: 1 / span 2; font-size: 20px; font-weight: 700; font-variant-numeric: tabular-nums;
}
.metric.bad .metric-value { color: var(--red); }
.metric.warn .metric-value { color: var(--amber); }
.chart { margin: 0; min-width: 0; }
.chart svg { display: block; width: 100%; height: auto; }
.chart .grid { stroke: var(--grid); stroke-width: 1; }
.chart .axis { fill: var(--faint); font-size: 11px; font-variant-numeric: tabular-nums; }
.chart .lag { stroke: var(--accent); }
.chart .lag-area { fill: var(--accent); fill-opacity: .09; }
.chart .pending { stroke: var(--amber); }
.chart .line { fill: none; stroke-width: 2.25; stroke-linejoin: round; stroke-linecap: round; }
.chart .lag-dot { fill: var(--accent); }
.chart .pending-dot { fill: var(--amber); }
.chart .placeholder { fill: var(--faint); font-size: 12px; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12.5px; margin: 4px 0 0 44px; }
.legend i { display: inline-block; width: 14px; height: 3px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.legend .lag i { background: var(--accent); }
.legend .pending i { background: var(--amber); }
.dlq { margin-top: 16px; border-top: 1px solid var(--border); padding-top: 12px; }
.dlq-head { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.dlq-head h4 { margin: 0; font-size: 13.5px; }
.dlq-head .dlq-actions { margin-left: auto; }
.dlq .empty, .topic .empty { color: var(--muted); margin: 0; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; table-layout: fixed; }
col.when { width: 104px; } col.reason { width: 128px; } col.deliveries { width: 88px; }
col.source { width: 172px; } col.payload { width: 170px; } col.act { width: 92px; }
th {
  text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  font-weight: 600; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap;
}
td { padding: 7px 10px; border-bottom: 1px solid var(--grid); vertical-align: middle; }
tr:last-child td { border-bottom: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.payload, td.source { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.err { color: var(--red); }
td.err div { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; overflow-wrap: anywhere; }
td.payload { color: var(--muted); }
td.when { white-space: nowrap; color: var(--muted); }
td.act { text-align: right; }
th.num { text-align: right; }
.more { color: var(--faint); font-size: 12.5px; margin: 8px 0 0; }
.loading { color: var(--muted); padding: 40px 0; text-align: center; }
@media (max-width: 900px) {
  .summary { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .group-body { grid-template-columns: 1fr; }
  .bar, main { padding-left: 16px; padding-right: 16px; }
}
`;

const SCRIPT = String.raw`
(() => {
  'use strict';
  const TOKEN_KEY = 'sluice.adminToken';
  const MAX_POINTS = 360;
  const PAGE = 20;
  const base = location.pathname.replace(/\/+$/, '').replace(/\/dashboard$/, '');
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  const refreshSeconds = Number.isFinite(asked) && asked >= 1 ? Math.min(300, Math.floor(asked)) : 5;
  const $ = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat('en-US');
  const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const sections = new Map();
  const cards = new Map();
  let running = false;
  let polling = false;
  let again = false;
  let timer = 0;

  class AuthError extends Error {}

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }
  const count = (n) => (n === null || n === undefined ? '—' : numbers.format(n));
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return Math.round(ms) + ' ms';
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
    const h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  function ago(iso) {
    const t = Date.parse(iso || '');
    return Number.isNaN(t) ? '—' : duration(Math.max(0, Date.now() - t)) + ' ago';
  }
  // A partition of a partitioned topic is shown as "orders [3]" (topic names hold no spaces or brackets).
  const label = (stats) =>
    (stats.topic === null ? stats.stream : stats.topic) + (stats.partition === undefined ? '' : ' [' + stats.partition + ']');
  const path = (shown, group, action) => {
    const m = /^(.*) \[(\d+)\]$/.exec(shown);
    const topic = m ? m[1] : shown;
    return '/topics/' + encodeURIComponent(topic) + '/groups/' + encodeURIComponent(group) + '/' + action +
      (m ? '?partition=' + m[2] : '');
  };
  const withQuery = (url, query) => url + (url.includes('?') ? '&' : '?') + query;

  async function api(route, init) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) throw new AuthError('Enter the admin token.');
    const headers = { authorization: 'Bearer ' + token };
    if (init && init.body) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(base + route, { ...init, headers, cache: 'no-store' });
    } catch (error) {
      throw new Error('the ops endpoint cannot be reached (' + error.message + ')');
    }
    let body = null;
    try {
      body = await response.json();
    } catch {}
    const message = body && typeof body.error === 'string' ? body.error : 'HTTP ' + response.status;
    if (response.status === 401) throw new AuthError(message);
    if (!response.ok) throw new Error(message);
    return body;
  }

  // ---- sign-in ------------------------------------------------------------------------------
  function showSignin(message) {
    running = false;
    clearTimeout(timer);
    $('board').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('signin-error').textContent = message || '';
    $('token').value = '';
    $('token').focus();
  }
  function start() {
    $('signin').hidden = true;
    $('board').hidden = false;
    $('signout').hidden = false;
    running = true;
    pollSoon();
  }
  function forget(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const section of sections.values()) section.node.remove();
    sections.clear();
    cards.clear();
    $('loading').hidden = false;
    $('summary').hidden = true;
    notify(null);
    setStatus('', 'Signed out');
    showSignin(message);
  }
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $('signout').addEventListener('click', () => forget(''));

  // ---- status and notices -------------------------------------------------------------------
  function setStatus(kind, text) {
    $('dot').className = 'dot ' + kind;
    $('status-text').textContent = text;
  }
  function notify(kind, text) {
    const notice = $('notice');
    notice.hidden = kind === null;
    if (kind === null) return;
    notice.className = 'notice ' + kind;
    $('notice-text').textContent = text;
  }
  $('notice-close').addEventListener('click', () => notify(null));

  // ---- polling ------------------------------------------------------------------------------
  function pollSoon() {
    clearTimeout(timer);
    if (polling) again = true;
    else void poll();
  }
  async function poll() {
    polling = true;
    again = false;
    try {
      if (!document.hidden) {
        const data = await api('/stats');
        if (!running) return;
        render(data);
        setStatus('ok', 'Live · updated ' + clock.format(new Date(data.measuredAt)) + ' · every ' + refreshSeconds + ' s');
      }
    } catch (error) {
      if (error instanceof AuthError) return forget(error.message);
      setStatus('error', error.message);
    } finally {
      polling = false;
    }
    if (!running) return;
    if (again) return pollSoon();
    timer = setTimeout(poll, refreshSeconds * 1000);
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && running) pollSoon();
  });

  // ---- rendering ----------------------------------------------------------------------------
  function tile(label) {
    const value = el('div', { class: 'value', text: '—' });
    const node = el('div', { class: 'card tile', 'data-summary': label }, el('div', { class: 'label', text: label }), value);
    $('summary').append(node);
    return { node, value };
  }
  const tiles = {
    topics: tile('Topics'),
    groups: tile('Groups'),
    lag: tile('Lag'),
    pending: tile('Pending'),
    oldest: tile('Oldest pending'),
    dead: tile('Dead letters'),
  };

  function render(data) {
    $('loading').hidden = true;
    $('summary').hidden = false;
    const seenTopics = new Set();
    const seenCards = new Set();
    let groups = 0, lag = 0, pending = 0, dead = 0, oldest = null, lagKnown = true;
    data.topics.forEach((stats, index) => {
      const name = label(stats);
      seenTopics.add(name);
      const section = topicSection(name, index);
      section.update(stats);
      stats.groups.forEach((g, gi) => {
        const key = name + '\u0000' + g.name;
        seenCards.add(key);
        let card = cards.get(key);
        if (!card) {
          card = groupCard(name, g.name);
          cards.set(key, card);
        }
        if (section.list.children[gi] !== card.node) section.list.insertBefore(card.node, section.list.children[gi] || null);
        card.update(g, stats.measuredAt);
        groups += 1;
        pending += g.pending;
        dead += g.deadLetters;
        if (g.lag === null) lagKnown = false;
        else lag += g.lag;
        if (g.oldestPendingAgeMs !== null) oldest = Math.max(oldest || 0, g.oldestPendingAgeMs);
      });
    });
    for (const [key, card] of cards) if (!seenCards.has(key)) { card.node.remove(); cards.delete(key); }
    for (const [key, section] of sections) if (!seenTopics.has(key)) { section.node.remove(); sections.delete(key); }
    tiles.topics.value.textContent = count(data.topics.length);
    tiles.groups.value.textContent = count(groups);
    tiles.lag.value.textContent = count(lag) + (lagKnown ? '' : '+');
    tiles.pending.value.textContent = count(pending);
    tiles.oldest.value.textContent = duration(oldest);
    tiles.dead.value.textContent = count(dead);
    tiles.dead.node.classList.toggle('bad', dead > 0);
  }

  function topicSection(name, index) {
    let section = sections.get(name);
    if (!section) {
      const key = el('code');
      const facts = el('div', { class: 'facts' });
      const empty = el('p', { class: 'empty card group' });
      const list = el('div', { class: 'groups' });
      const node = el(
        'section',
        { class: 'topic', 'data-topic': name },
        el('div', { class: 'topic-head' }, el('h2', {}, el('span', { class: 'kind', text: 'topic' }), name), key, facts),
        list,
        empty,
      );
      section = { node, list, update: null };
      section.update = (stats) => {
        key.textContent = stats.stream;
        facts.replaceChildren(
          el('span', {}, 'length ', el('b', { text: count(stats.length) })),
          el('span', {}, 'groups ', el('b', { text: count(stats.groups.length) })),
          el('span', {}, 'last id ', el('code', { text: stats.lastId || '—' })),
        );
        empty.hidden = stats.exists && stats.groups.length > 0;
        empty.textContent = stats.exists
          ? 'No consumer groups yet: the first drain cycle creates its group.'
          : 'No stream yet: nothing has been published to this topic.';
      };
      sections.set(name, section);
    }
    const container = $('topics');
    if (container.children[index] !== section.node) container.insertBefore(section.node, container.children[index] || null);
    return section;
  }

  function metric(name, label, note) {
    const value = el('div', { class: 'metric-value', text: '—' });
    const node = el(
      'div',
      { class: 'metric', 'data-metric': name },
      el('div', { class: 'metric-label', text: label }),
      value,
      el('div', { class: 'metric-note', text: note }),
    );
    return { node, value };
  }

  function groupCard(topic, group) {
    const metrics = {
      lag: metric('lag', 'Lag', 'published, not yet read'),
      pending: metric('pending', 'Pending', 'read, not yet acknowledged'),
      oldest: metric('oldestPendingAge', 'Oldest pending', 'age of the oldest pending'),
      consumers: metric('consumers', 'Consumers', 'known to the group'),
      dead: metric('deadLetters', 'Dead letters', 'given up on, kept for redrive'),
    };
    const badge = el('span', { class: 'badge' });
    const deadBadge = el('span', { class: 'badge bad' });
    const where = el('span', { class: 'where mono' });
    const chart = svg('svg', { viewBox: '0 0 640 176', role: 'img', 'aria-label': 'lag and pending over time', 'data-points': 0 });
    const legendLag = el('b');
    const legendPending = el('b');
    const dlqCount = el('span', { class: 'badge' });
    const redriveAll = el('button', { class: 'small', type: 'button', 'data-action': 'redrive-group', text: 'Redrive all' });
    const dlqBody = el('div', { class: 'dlq-body' });
    const node = el(
      'article',
      { class: 'card group', 'data-topic': topic, 'data-group': group },
      el('header', { class: 'group-head' }, el('h3', { text: group }), badge, deadBadge, where),
      el(
        'div',
        { class: 'group-body' },
        el('div', { class: 'metrics' }, ...Object.values(metrics).map((m) => m.node)),
        el(
          'figure',
          { class: 'chart' },
          chart,
          el(
            'figcaption',
            { class: 'legend' },
            el('span', { class: 'lag' }, el('i'), 'lag ', legendLag),
            el('span', { class: 'pending' }, el('i'), 'pending ', legendPending),
          ),
        ),
      ),
      el(
        'div',
        { class: 'dlq' },
        el('div', { class: 'dlq-head' }, el('h4', { text: 'Dead letters' }), dlqCount, el('div', { class: 'dlq-actions' }, redriveAll)),
        dlqBody,
      ),
    );
    const card = { node, history: [], shown: -1, fetchedAt: 0, loading: false };
    redriveAll.addEventListener('click', () => redriveMessages(topic, group, undefined, redriveAll));

    card.update = (g, measuredAt) => {
      const last = card.history[card.history.length - 1];
      if (!last || last.t !== measuredAt) card.history.push({ t: measuredAt, lag: g.lag, pending: g.pending });
      if (card.history.length > MAX_POINTS) card.history.splice(0, card.history.length - MAX_POINTS);
      metrics.lag.value.textContent = count(g.lag);
      metrics.pending.value.textContent = count(g.pending);
      metrics.oldest.value.textContent = duration(g.oldestPendingAgeMs);
      metrics.consumers.value.textContent = count(g.consumers);
      metrics.dead.value.textContent = count(g.deadLetters);
      metrics.dead.node.classList.toggle('bad', g.deadLetters > 0);
      metrics.oldest.node.classList.toggle('warn', g.oldestPendingIdleMs !== null && g.oldestPendingIdleMs > 60000);
      legendLag.textContent = count(g.lag);
      legendPending.textContent = count(g.pending);
      where.textContent = 'last delivered ' + g.lastDeliveredId;
      const behind = (g.lag || 0) + g.pending;
      badge.className = 'badge ' + (behind > 0 ? 'warn' : 'ok');
      badge.textContent = behind > 0 ? 'behind by ' + count(behind) : 'caught up';
      deadBadge.hidden = g.deadLetters === 0;
      deadBadge.textContent = count(g.deadLetters) + (g.deadLetters === 1 ? ' dead letter' : ' dead letters');
      dlqCount.textContent = count(g.deadLetters);
      dlqCount.className = 'badge' + (g.deadLetters > 0 ? ' bad' : '');
      redriveAll.hidden = g.deadLetters === 0;
      redriveAll.textContent = 'Redrive all ' + count(g.deadLetters);
      drawChart(chart, card.history, measuredAt);
      if (g.deadLetters === 0) {
        card.shown = 0;
        dlqBody.replaceChildren(el('p', { class: 'empty', text: 'No dead letters.' }));
      } else if (card.shown !== g.deadLetters || Date.now() - card.fetchedAt > 30000) {
        void loadDeadLetters(card, topic, group, dlqBody, g.deadLetters);
      }
    };
    return card;
  }

  async function loadDeadLetters(card, topic, group, into, total) {
    if (card.loading) return;
    card.loading = true;
    try {
      const page = await api(withQuery(path(topic, group, 'dead-letters'), 'count=' + PAGE));
      card.shown = total;
      card.fetchedAt = Date.now();
      into.replaceChildren(deadLetterTable(topic, group, page));
    } catch (error) {
      if (error instanceof AuthError) return forget(error.message);
      into.replaceChildren(el('p', { class: 'error', text: 'Dead letters could not be loaded: ' + error.message }));
    } finally {
      card.loading = false;
    }
  }

  function preview(letter) {
    let text;
    try {
      text = letter.format === 'sluice' ? JSON.stringify(letter.data) : JSON.stringify(letter.fields);
    } catch {
      text = '';
    }
    return text && text.length > 120 ? text.slice(0, 119) + '…' : text || '';
  }

  function deadLetterTable(topic, group, page) {
    if (page.deadLetters.length === 0) return el('p', { class: 'empty', text: 'No dead letters.' });
    const columns = [
      ['when', 'When'],
      ['reason', 'Reason'],
      ['error', 'Error'],
      ['deliveries', 'Deliveries'],
      ['source', 'Source id'],
      ['payload', 'Payload'],
      ['act', ''],
    ];
    const cols = el('colgroup', {}, ...columns.map(([name]) => el('col', { class: name })));
    const head = el('tr', {}, ...columns.map(([name, h]) => el('th', { class: name === 'deliveries' ? 'num' : null, text: h })));
    const rows = page.deadLetters.map((letter) => {
      const button = el('button', { class: 'small outline', type: 'button', 'data-action': 'redrive-one', text: 'Redrive' });
      button.addEventListener('click', () => redriveMessages(topic, group, [letter.id], button));
      const reason = letter.reason || 'unknown';
      return el(
        'tr',
        { 'data-id': letter.id },
        el('td', { class: 'when', title: letter.deadAt || '', text: ago(letter.deadAt) }),
        el('td', {}, el('span', { class: 'badge ' + (reason === 'permanent' ? 'bad' : 'warn'), text: reason })),
        el('td', { class: 'err mono', title: letter.error || '' }, el('div', { text: letter.error || '—' })),
        el('td', { class: 'num', text: count(letter.deliveries) }),
        el('td', { class: 'source' }, el('code', { text: letter.sourceId || '—' })),
        el('td', { class: 'payload mono', title: preview(letter), text: preview(letter) }),
        el('td', { class: 'act' }, button),
      );
    });
    const table = el('div', { class: 'table-wrap' }, el('table', {}, cols, el('thead', {}, head), el('tbody', {}, ...rows)));
    if (page.total <= page.deadLetters.length) return table;
    const rest = el('p', { class: 'more', text: 'Showing the oldest ' + page.deadLetters.length + ' of ' + count(page.total) + '.' });
    const wrap = el('div', {}, table, rest);
    return wrap;
  }

  async function redriveMessages(topic, group, ids, button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Redriving…';
    try {
      const report = await api(path(topic, group, 'redrive'), { method: 'POST', body: JSON.stringify(ids ? { ids } : {}) });
      const c = report.counts;
      const parts = [];
      if (c.pending) parts.push(c.pending + ' back to pending');
      if (c.unread) parts.push(c.unread + ' still unread');
      if (c.appended) parts.push(c.appended + ' re-appended');
      if (c.blocked) parts.push(c.blocked + ' blocked until other groups catch up');
      if (c.missing) parts.push(c.missing + ' already gone');
      if (c.invalid) parts.push(c.invalid + ' without a source to redrive');
      const noun = report.redriven === 1 ? ' dead letter' : ' dead letters';
      notify(
        report.redriven > 0 ? 'ok' : 'error',
        group + ' on ' + topic + ': ' + report.redriven + noun + ' redriven' + (parts.length ? ' (' + parts.join(', ') + ')' : '') +
          '; ' + report.remaining + ' left.',
      );
      const card = cards.get(topic + '\u0000' + group);
      if (card) card.shown = -1;
      pollSoon();
    } catch (error) {
      if (error instanceof AuthError) return forget(error.message);
      notify('error', 'Redrive of ' + group + ' on ' + topic + ' failed: ' + error.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  // ---- chart --------------------------------------------------------------------------------
  function niceStep(raw) {
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
    return Math.max(1, 10 * power);
  }

  function drawChart(node, points, now) {
    const W = 640, H = 176, L = 44, R = 14, T = 10, B = 24;
    node.replaceChildren();
    node.setAttribute('data-points', String(points.length));
    const top = Math.max(1, ...points.map((p) => Math.max(p.lag || 0, p.pending)));
    const step = niceStep(top / 4);
    const max = step * Math.ceil(top / step);
    const span = Math.max(12 * refreshSeconds * 1000, now - (points.length ? points[0].t : now));
    const t0 = now - span;
    const x = (t) => L + ((t - t0) / span) * (W - L - R);
    const y = (v) => T + (1 - v / max) * (H - T - B);
    for (let v = 0; v <= max; v += step) {
      node.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      const label = svg('text', { class: 'axis', x: L - 8, y: y(v) + 4, 'text-anchor': 'end' });
      label.textContent = count(v);
      node.append(label);
    }
    for (const [t, anchor] of [[t0, 'start'], [t0 + span / 2, 'middle'], [now, 'end']]) {
      const label = svg('text', { class: 'axis', x: x(t), y: H - 6, 'text-anchor': anchor });
      label.textContent = clock.format(new Date(t));
      node.append(label);
    }
    if (points.length < 2) {
      const wait = svg('text', { class: 'placeholder', x: (L + W - R) / 2, y: (T + H - B) / 2, 'text-anchor': 'middle' });
      wait.textContent = 'collecting history…';
      node.append(wait);
    }
    const line = (key) => {
      let d = '';
      let pen = false;
      for (const p of points) {
        const v = p[key];
        if (v === null || v === undefined) {
          pen = false;
          continue;
        }
        d += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(v).toFixed(1);
        pen = true;
      }
      return d;
    };
    const known = points.filter((p) => p.lag !== null && p.lag !== undefined);
    if (known.length > 1) {
      const area = 'M' + x(known[0].t).toFixed(1) + ' ' + y(0) + line('lag').replace(/^M/, 'L') +
        'L' + x(known[known.length - 1].t).toFixed(1) + ' ' + y(0) + 'Z';
      node.append(svg('path', { class: 'lag-area', d: known.length === points.length ? area : '' }));
    }
    node.append(svg('path', { class: 'line pending', d: line('pending') }));
    node.append(svg('path', { class: 'line lag', d: line('lag') }));
    const last = points[points.length - 1];
    if (last) {
      node.append(svg('circle', { class: 'pending-dot', cx: x(last.t), cy: y(last.pending), r: 3.5 }));
      if (last.lag !== null) node.append(svg('circle', { class: 'lag-dot', cx: x(last.t), cy: y(last.lag), r: 3.5 }));
    }
  }

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
