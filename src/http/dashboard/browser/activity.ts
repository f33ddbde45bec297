/**
 * A group's drains, from the drain history Redis keeps (so it survives a reload): processed and
 * failures per second, drains running, the last 24 hours as a chart, the last drains with why each
 * stopped, and Replay from a time.
 */
import { el, svg } from './dom.js';
import { clock, count, duration } from './format.js';
import { drawHistoryChart } from './history-chart.js';
import { replayForm } from './replay.js';
import type { DrainRecord, GroupStats, HistoryMinute } from './types.js';

/** Drains listed per group. */
const RECENT = 5;

export interface Activity {
  readonly node: HTMLElement;
  /** Shows a poll's history (polls without one leave what is shown). */
  update(g: GroupStats, measuredAt: number): void;
  redraw(): void;
}

/** Messages per second as the page shows them: `0`, `0.03`, `2.5`, `120`. */
export function perSecond(n: number): string {
  if (n === 0) return '0';
  if (n >= 100) return count(Math.round(n));
  return n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function rateCell(name: string, label: string): { node: HTMLElement; value: HTMLElement; note: HTMLElement } {
  const value = el('b', { class: 'rate-value', text: '—' });
  const note = el('span', { class: 'rate-note' });
  const node = el(
    'div',
    { class: 'rate', 'data-rate': name },
    el('span', { class: 'rate-label', text: label }),
    value,
    note,
  );
  return { node, value, note };
}

/** One drain: when it ended, how long it took, what it did, why it stopped. */
function drainRow(d: DrainRecord, now: number): HTMLElement {
  const stopped = el('span', {
    class: `badge stop ${d.stoppedBy === 'error' ? 'bad' : d.stoppedBy === 'budget' ? 'warn' : ''}`,
    'data-stopped-by': d.stoppedBy,
    text: d.stoppedBy,
    title: d.error,
  });
  const did = [`${count(d.acked)} processed`];
  if (d.failed) did.push(`${count(d.failed)} failed`);
  if (d.deadLettered) did.push(`${count(d.deadLettered)} dead`);
  return el(
    'li',
    { class: 'drain' },
    el('span', {
      class: 'when mono',
      text: clock.format(new Date(d.endedAt)),
      title: `${duration(now - d.endedAt)} ago`,
    }),
    el('span', { class: 'took', text: duration(d.durationMs) }),
    el('span', { class: 'did', text: did.join(' · ') }),
    stopped,
    d.error ? el('span', { class: 'drain-error', text: d.error }) : null,
  );
}

export function activity(topic: string, group: string): Activity {
  const running = el('span', { class: 'badge', 'data-role': 'running' });
  const processed = rateCell('processed', 'processed/s');
  const failures = rateCell('failures', 'failures/s');
  const last = rateCell('last', 'last drain');
  const chart = svg('svg', {
    viewBox: '0 0 640 132',
    role: 'img',
    'aria-label': 'messages per minute, last 24 hours',
  });
  const list = el('ol', { class: 'drains' });
  const replay = replayForm(topic, group);
  let shown: { history: readonly HistoryMinute[]; at: number } = { history: [], at: 0 };
  const node = el(
    'div',
    { class: 'activity' },
    el('div', { class: 'activity-head' }, el('h4', { text: 'Drains' }), running, replay.button),
    replay.form,
    el('div', { class: 'rates' }, processed.node, failures.node, last.node),
    el(
      'figure',
      { class: 'chart history-chart' },
      chart,
      el(
        'figcaption',
        { class: 'legend' },
        el('span', { class: 'processed' }, el('i'), 'processed / min'),
        el('span', { class: 'failed' }, el('i'), 'failed / min'),
        el('span', { class: 'span', text: 'last 24 h' }),
      ),
    ),
    list,
  );
  const redraw = () => drawHistoryChart(chart, shown.history, shown.at);
  return {
    node,
    redraw,
    update(g, measuredAt) {
      if (g.history === undefined || g.rates === undefined || g.drains === undefined) return;
      const r = g.rates;
      processed.value.textContent = perSecond(r['1m'].processed);
      processed.note.textContent = `5 min ${perSecond(r['5m'].processed)} · 15 min ${perSecond(r['15m'].processed)}`;
      const failing = r['1m'].failed + r['1m'].deadLettered;
      failures.value.textContent = perSecond(failing);
      failures.node.classList.toggle('bad', failing > 0);
      failures.note.textContent = `dead ${perSecond(r['1m'].deadLettered)} · 15 min ${perSecond(r['15m'].failed + r['15m'].deadLettered)}`;
      const d = g.drains.last;
      last.value.textContent = d ? `${duration(Math.max(0, measuredAt - d.endedAt))} ago` : 'never';
      last.note.textContent = d ? `took ${duration(d.durationMs)} · ${d.stoppedBy}` : 'no drain in 24 h';
      last.node.classList.toggle('bad', d?.stoppedBy === 'error');
      running.textContent = g.drains.running > 0 ? `${count(g.drains.running)} running` : 'none running';
      running.className = `badge${g.drains.running > 0 ? ' ok' : ''}`;
      list.replaceChildren(...g.drains.recent.slice(0, RECENT).map((x) => drainRow(x, measuredAt)));
      shown = { history: g.history, at: measuredAt };
      redraw();
    },
  };
}
