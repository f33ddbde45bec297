/**
 * The dashboard script's chart: lag and pending over time, an SVG drawn from the polls kept in the tab.
 * A fragment of the page's one script (see dashboard.ts), sharing its scope.
 */
export const CHART_SCRIPT = `
  // ---- chart --------------------------------------------------------------------------------
  function niceStep(raw) {
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
    return Math.max(1, 10 * power);
  }

  // Drawn at the size it is shown (one user unit = one CSS pixel), so that labels keep their size on a
  // phone; the left margin fits the longest y-axis label (about 7 px a character at 11 px).
  function drawChart(node, points, now) {
    const W = Math.max(280, Math.round(node.clientWidth || 640)), H = 176, R = 14, T = 10, B = 24;
    node.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    node.replaceChildren();
    node.setAttribute('data-points', String(points.length));
    const top = Math.max(1, ...points.map((p) => Math.max(p.lag || 0, p.pending)));
    const step = niceStep(top / 4);
    const max = step * Math.ceil(top / step);
    const L = 12 + 7 * count(max).length;
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
`;
