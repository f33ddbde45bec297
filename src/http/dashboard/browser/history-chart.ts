/**
 * A group's last 24 hours from its drain history: messages processed and failed (dead-lettered
 * included) per minute, averaged over bins (10 minutes wide, 30 on a narrow card), as stacked bars.
 * It comes from Redis, so a reload shows it at once.
 */
import { svg } from './dom.js';
import { clock, count } from './format.js';
import type { HistoryMinute } from './types.js';

const DAY_MS = 86_400_000;

function niceTop(raw: number): number {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Per bin: processed and failed per minute (averaged over the bin's minutes), and whether a drain errored. */
function binsOf(history: readonly HistoryMinute[], now: number, binMinutes: number) {
  const binMs = binMinutes * 60_000;
  const end = Math.floor(now / binMs) * binMs + binMs;
  const start = end - DAY_MS;
  const bins = Array.from({ length: DAY_MS / binMs }, (_, i) => ({
    t: start + i * binMs,
    processed: 0,
    failed: 0,
    errors: 0,
  }));
  for (const m of history) {
    const bin = bins[Math.floor((m.at - start) / binMs)];
    if (!bin) continue;
    bin.processed += m.acked / binMinutes;
    bin.failed += (m.failed + m.deadLettered) / binMinutes;
    bin.errors += m.errors;
  }
  return { bins, start, end };
}

// Drawn at the size it is shown, like the lag chart (one user unit = one CSS pixel).
export function drawHistoryChart(node: SVGSVGElement, history: readonly HistoryMinute[], now: number): void {
  const W = Math.max(280, Math.round(node.clientWidth || 640));
  const H = 132;
  const R = 14;
  const T = 10;
  const B = 22;
  node.setAttribute('viewBox', `0 0 ${W} ${H}`);
  node.replaceChildren();
  node.setAttribute('data-minutes', String(history.length));
  const { bins, start, end } = binsOf(history, now, W < 560 ? 30 : 10);
  const top = niceTop(Math.max(...bins.map((b) => b.processed + b.failed)));
  const ticks = [0, top / 2, top].map((v) => ({ v, text: count(Math.round(v * 10) / 10) }));
  const L = 12 + 7 * Math.max(...ticks.map((t) => t.text.length));
  const x = (t: number) => L + ((t - start) / (end - start)) * (W - L - R);
  const y = (v: number) => T + (1 - v / top) * (H - T - B);
  for (const { v, text } of ticks) {
    node.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const label = svg('text', { class: 'axis', x: L - 8, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = text;
    node.append(label);
  }
  for (const [t, anchor] of [
    [start, 'start'],
    [start + DAY_MS / 2, 'middle'],
    [end, 'end'],
  ] as const) {
    const label = svg('text', { class: 'axis', x: x(t), y: H - 5, 'text-anchor': anchor });
    label.textContent = clock.format(new Date(t)).slice(0, 5);
    node.append(label);
  }
  const width = Math.max(1, (W - L - R) / bins.length - 1);
  for (const bin of bins) {
    if (bin.processed > 0) {
      const h = y(0) - y(bin.processed);
      node.append(
        svg('rect', { class: 'bar processed', x: x(bin.t), y: y(0) - h, width, height: Math.max(1, h) }),
      );
    }
    if (bin.failed > 0) {
      const base = y(bin.processed);
      const h = Math.max(1, base - y(bin.processed + bin.failed));
      node.append(svg('rect', { class: 'bar failed', x: x(bin.t), y: base - h, width, height: h }));
    }
    if (bin.errors > 0)
      node.append(svg('circle', { class: 'error-dot', cx: x(bin.t) + width / 2, cy: T, r: 2.5 }));
  }
  if (history.length === 0) {
    const none = svg('text', {
      class: 'placeholder',
      x: (L + W - R) / 2,
      y: (T + H - B) / 2,
      'text-anchor': 'middle',
    });
    none.textContent = 'no drain recorded in the last 24 hours';
    node.append(none);
  }
}
