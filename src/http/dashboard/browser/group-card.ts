/** A group's card: its metrics, its chart, its drains (`activity.ts`), and its dead letters with Redrive and Purge. */
import { purgeMessages, redriveMessages } from './actions.js';
import { type Activity, activity } from './activity.js';
import { drawChart } from './chart.js';
import { type DeadLetterView, loadDeadLetters } from './dead-letters.js';
import { el, svg } from './dom.js';
import { count, duration } from './format.js';
import { MAX_POINTS } from './settings.js';
import type { Card } from './state.js';
import type { GroupStats } from './types.js';

function metric(name: string, label: string, note: string): { node: HTMLElement; value: HTMLElement } {
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

// One word for where the group stands; the numbers are the metrics' (one number per idea).
function standing(g: GroupStats): [string, string] {
  if (g.lag === null) return ['', 'lag unknown'];
  if (g.lag > 0) return ['warn', 'behind'];
  return g.pending > 0 ? ['', 'in progress'] : ['ok', 'caught up'];
}

function metrics() {
  return {
    lag: metric('lag', 'Lag', 'published, not yet read'),
    pending: metric('pending', 'Pending', 'read, not yet acknowledged'),
    oldest: metric('oldestPendingAge', 'Oldest pending', 'age of the oldest pending'),
    consumers: metric('consumers', 'Consumers', 'known to the group'),
    dead: metric('deadLetters', 'Dead letters', 'given up on, kept for redrive'),
  };
}

/** The parts of a card that each poll updates. */
function cardParts() {
  const position = el('span', { class: 'position' });
  const newer = el('button', {
    class: 'small ghost',
    type: 'button',
    'data-action': 'newer',
    text: '‹ Newer',
  });
  const older = el('button', {
    class: 'small ghost',
    type: 'button',
    'data-action': 'older',
    text: 'Older ›',
  });
  return {
    metrics: metrics(),
    badge: el('span', { class: 'badge', 'data-role': 'standing' }),
    where: el('span', { class: 'where mono' }),
    chart: svg('svg', {
      viewBox: '0 0 640 176',
      role: 'img',
      'aria-label': 'lag and pending over time',
      'data-points': 0,
    }),
    legendLag: el('b'),
    legendPending: el('b'),
    dlqCount: el('span', { class: 'badge' }),
    redriveAll: el('button', { class: 'small', type: 'button', 'data-action': 'redrive-group' }),
    purgeAll: el('button', {
      class: 'small danger',
      type: 'button',
      'data-action': 'purge-group',
      text: 'Purge all',
    }),
    view: { into: el('div', { class: 'dlq-body' }), position, newer, older } satisfies DeadLetterView,
    pager: el('div', { class: 'pager' }, position, newer, older),
  };
}

type Parts = ReturnType<typeof cardParts>;

function cardNode(topic: string, group: string, p: Parts, drains: Activity): HTMLElement {
  return el(
    'article',
    { class: 'card group', 'data-topic': topic, 'data-group': group },
    el('header', { class: 'group-head' }, el('h3', { text: group }), p.badge, p.where),
    el(
      'div',
      { class: 'group-body' },
      el('div', { class: 'metrics' }, ...Object.values(p.metrics).map((m) => m.node)),
      el(
        'figure',
        { class: 'chart' },
        p.chart,
        el(
          'figcaption',
          { class: 'legend' },
          el('span', { class: 'lag' }, el('i'), 'lag ', p.legendLag),
          el('span', { class: 'pending' }, el('i'), 'pending ', p.legendPending),
        ),
      ),
    ),
    drains.node,
    el(
      'div',
      { class: 'dlq' },
      el(
        'div',
        { class: 'dlq-head' },
        el('h4', { text: 'Dead letters' }),
        p.dlqCount,
        el('div', { class: 'dlq-actions' }, p.redriveAll, p.purgeAll),
      ),
      p.view.into,
      p.pager,
    ),
  );
}

/** The numbers of one poll into the card's metrics, legend and badges. */
function showNumbers(p: Parts, g: GroupStats): void {
  const { metrics: m } = p;
  m.lag.value.textContent = count(g.lag);
  m.pending.value.textContent = count(g.pending);
  m.oldest.value.textContent = duration(g.oldestPendingAgeMs);
  m.consumers.value.textContent = count(g.consumers);
  m.dead.value.textContent = count(g.deadLetters);
  m.dead.node.classList.toggle('bad', g.deadLetters > 0);
  m.lag.node.classList.toggle('warn', g.lag !== null && g.lag > 0);
  m.oldest.node.classList.toggle('warn', g.oldestPendingIdleMs !== null && g.oldestPendingIdleMs > 60000);
  p.legendLag.textContent = count(g.lag);
  p.legendPending.textContent = count(g.pending);
  p.where.textContent = `last delivered ${g.lastDeliveredId}`;
  const [kind, word] = standing(g);
  p.badge.className = `badge ${kind}`;
  p.badge.textContent = word;
  p.dlqCount.textContent = count(g.deadLetters);
  p.dlqCount.className = `badge${g.deadLetters > 0 ? ' bad' : ''}`;
  p.redriveAll.hidden = p.purgeAll.hidden = g.deadLetters === 0;
  p.redriveAll.textContent = `Redrive all ${count(g.deadLetters)}`;
}

/** A new card for a group of a topic (as the page labels it). */
export function groupCard(topic: string, group: string): Card {
  const p = cardParts();
  const drains = activity(topic, group);
  const card: Card = {
    node: cardNode(topic, group, p, drains),
    history: [],
    at: 0,
    total: -1,
    fetchedAt: 0,
    loading: false,
    starts: [null],
    next: null,
    open: new Set(),
    reset: () => {
      card.starts = [null];
      card.total = -1;
    },
    redraw: () => {
      drawChart(p.chart, card.history, card.at);
      drains.redraw();
    },
    load: () => loadDeadLetters(card, topic, group, p.view),
    update: (g, measuredAt) => {
      update(card, p, g, measuredAt);
      drains.update(g, measuredAt);
    },
  };
  p.redriveAll.addEventListener('click', () => redriveMessages(topic, group, undefined, p.redriveAll));
  p.purgeAll.addEventListener('click', () => purgeMessages(topic, group, undefined, card.total, p.purgeAll));
  p.view.newer.addEventListener('click', () => {
    if (card.starts.length > 1) card.starts.pop();
    card.load();
  });
  p.view.older.addEventListener('click', () => {
    if (!card.next) return;
    card.starts.push(card.next);
    card.load();
  });
  return card;
}

/** One poll of the group: its history, numbers and chart; its dead letters loaded again when they changed. */
function update(card: Card, p: Parts, g: GroupStats, measuredAt: number): void {
  const last = card.history[card.history.length - 1];
  if (!last || last.t !== measuredAt) card.history.push({ t: measuredAt, lag: g.lag, pending: g.pending });
  if (card.history.length > MAX_POINTS) card.history.splice(0, card.history.length - MAX_POINTS);
  card.at = measuredAt;
  showNumbers(p, g);
  card.redraw();
  if (g.deadLetters === 0) {
    card.reset();
    card.total = 0;
    p.pager.hidden = true;
    p.view.into.replaceChildren(el('p', { class: 'empty', text: 'No dead letters.' }));
  } else if (card.total !== g.deadLetters || Date.now() - card.fetchedAt > 30000) {
    card.total = g.deadLetters;
    p.pager.hidden = false;
    void card.load();
  }
}
