/**
 * The dashboard script's base: helpers, the API client, sign-in, notices, polling, and the summary
 * and topic sections. A fragment of the page's one script (see dashboard.ts), sharing its scope.
 */
export const BASE_SCRIPT = String.raw`
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
  window.addEventListener('resize', () => {
    for (const card of cards.values()) card.redraw();
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
`;
