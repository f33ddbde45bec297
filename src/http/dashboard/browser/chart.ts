/** The chart of a group: lag and pending over time, an SVG drawn from the polls kept in the tab. */
import { svg } from './dom.js';
import { clock, count } from './format.js';
import { refreshSeconds } from './settings.js';
import type { Point } from './state.js';

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

/** The path of one series; a gap where its value is unknown. */
function line(
  points: readonly Point[],
  key: 'lag' | 'pending',
  x: (t: number) => number,
  y: (v: number) => number,
) {
  let d = '';
  let pen = false;
  for (const p of points) {
    const v = p[key];
    if (v === null || v === undefined) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)} ${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

// Drawn at the size it is shown (one user unit = one CSS pixel), so that labels keep their size on a
// phone; the left margin fits the longest y-axis label (about 7 px a character at 11 px).
export function drawChart(node: SVGSVGElement, points: readonly Point[], now: number): void {
  const W = Math.max(280, Math.round(node.clientWidth || 640));
  const H = 176;
  const R = 14;
  const T = 10;
  const B = 24;
  node.setAttribute('viewBox', `0 0 ${W} ${H}`);
  node.replaceChildren();
  node.setAttribute('data-points', String(points.length));
  const top = Math.max(1, ...points.map((p) => Math.max(p.lag || 0, p.pending)));
  const step = niceStep(top / 4);
  const max = step * Math.ceil(top / step);
  const L = 12 + 7 * count(max).length;
  const span = Math.max(12 * refreshSeconds * 1000, now - (points[0] ? points[0].t : now));
  const t0 = now - span;
  const x = (t: number) => L + ((t - t0) / span) * (W - L - R);
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  for (let v = 0; v <= max; v += step) {
    node.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const label = svg('text', { class: 'axis', x: L - 8, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = count(v);
    node.append(label);
  }
  for (const [t, anchor] of [
    [t0, 'start'],
    [t0 + span / 2, 'middle'],
    [now, 'end'],
  ] as const) {
    const label = svg('text', { class: 'axis', x: x(t), y: H - 6, 'text-anchor': anchor });
    label.textContent = clock.format(new Date(t));
    node.append(label);
  }
  if (points.length < 2) {
    const wait = svg('text', {
      class: 'placeholder',
      x: (L + W - R) / 2,
      y: (T + H - B) / 2,
      'text-anchor': 'middle',
    });
    wait.textContent = 'collecting history…';
    node.append(wait);
  }
  const known = points.filter((p) => p.lag !== null && p.lag !== undefined);
  const first = known[0];
  const last = known[known.length - 1];
  if (first && last && known.length > 1) {
    const area = `M${x(first.t).toFixed(1)} ${y(0)}${line(points, 'lag', x, y).replace(/^M/, 'L')}L${x(last.t).toFixed(1)} ${y(0)}Z`;
    node.append(svg('path', { class: 'lag-area', d: known.length === points.length ? area : '' }));
  }
  node.append(svg('path', { class: 'line pending', d: line(points, 'pending', x, y) }));
  node.append(svg('path', { class: 'line lag', d: line(points, 'lag', x, y) }));
  const end = points[points.length - 1];
  if (end) {
    node.append(svg('circle', { class: 'pending-dot', cx: x(end.t), cy: y(end.pending), r: 3.5 }));
    if (end.lag !== null)
      node.append(svg('circle', { class: 'lag-dot', cx: x(end.t), cy: y(end.lag), r: 3.5 }));
  }
}
