/**
 * The scaling chart, as plain SVG: three line charts side by side (throughput against batch size,
 * against handler concurrency, drain time against backlog), with axes, ticks, units and legends.
 */
import type { ScalingResult } from './scaling.js';

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logY: boolean;
  readonly series: readonly Series[];
  readonly note?: string;
}

const WIDTH = 420;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 28, top: 44, bottom: 74 };
const SLUICE = '#1f6fb4';
const BASELINE = '#e4761b';
const REFERENCE = '#8a8a8a';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return `${Number(value.toPrecision(3))}`;
}

/** 0 … max in 4–8 steps of 1, 2 or 5 × 10^k. */
function linearTicks(max: number): number[] {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => max / s <= 6) ??
    10 * magnitude) as number;
  const ticks: number[] = [];
  for (let t = 0; t <= max * 1.0001 + step; t += step) {
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

function panel(p: Panel, offsetX: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = [...new Set(p.series.flatMap((s) => s.points.map((pt) => pt.x)))].sort((a, b) => a - b);
  const ys = p.series.flatMap((s) => s.points.map((pt) => pt.y)).filter((y) => y > 0);
  const [xMin, xMax] = [Math.log(xs[0] as number), Math.log(xs[xs.length - 1] as number)];
  const yTicks = p.logY ? logTicks(Math.min(...ys), Math.max(...ys)) : linearTicks(Math.max(...ys));
  const [yMin, yMax] = p.logY
    ? [Math.log(yTicks[0] as number), Math.log(yTicks[yTicks.length - 1] as number)]
    : [0, yTicks[yTicks.length - 1] as number];
  const sx = (x: number) => MARGIN.left + ((Math.log(x) - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number) =>
    MARGIN.top + plotH - (((p.logY ? Math.log(y) : y) - yMin) / (yMax - yMin || 1)) * plotH;

  const out: string[] = [`<g transform="translate(${offsetX},0)">`];
  out.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" class="title">${escapeXml(p.title)}</text>`);
  // Grid and y ticks.
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y}" dy="4" text-anchor="end">${formatNumber(t)}</text>`);
  }
  // x ticks at the measured points.
  for (const x of xs) {
    const px = sx(x).toFixed(1);
    out.push(`<line x1="${px}" x2="${px}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="grid"/>`);
    out.push(`<text x="${px}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${formatNumber(x)}</text>`);
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle" class="label">${escapeXml(p.xLabel)}</text>`,
    `<text transform="translate(16,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeXml(p.yLabel)}</text>`,
  );
  for (const s of p.series) {
    const path = s.points.map((pt) => `${sx(pt.x).toFixed(1)},${sy(pt.y).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
    );
    if (!s.dashed)
      for (const pt of s.points)
        out.push(
          `<circle cx="${sx(pt.x).toFixed(1)}" cy="${sy(pt.y).toFixed(1)}" r="3.5" fill="${s.color}"/>`,
        );
  }
  // Legend under the x label.
  let lx = MARGIN.left;
  const ly = HEIGHT - 14;
  for (const s of p.series) {
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      `<text x="${lx + 23}" y="${ly}">${escapeXml(s.name)}</text>`,
    );
    lx += 30 + s.name.length * 6.4;
  }
  if (p.note)
    out.push(`<text x="${MARGIN.left + 6}" y="${MARGIN.top + 15}" class="note">${escapeXml(p.note)}</text>`);
  out.push('</g>');
  return out.join('\n');
}

export function scalingChart(result: ScalingResult, subtitle: string): string {
  const sluice = (list: readonly { x: number; sluice: number }[]) =>
    list.map((p) => ({ x: p.x, y: p.sluice }));
  const baseline = (list: readonly { x: number; baseline: number }[]) =>
    list.map((p) => ({ x: p.x, y: p.baseline }));
  const panels: Panel[] = [
    {
      title: 'Throughput vs batch size (no-op handler)',
      xLabel: 'batch size (XREADGROUP COUNT), log scale',
      yLabel: 'messages / s',
      logY: false,
      series: [
        { name: 'sluice', color: SLUICE, points: sluice(result.batchSize) },
        {
          name: 'hand-written loop',
          color: BASELINE,
          points: baseline(result.batchSize),
        },
      ],
    },
    {
      title: `Throughput vs concurrency (${result.handlerMs} ms handler)`,
      xLabel: 'handlers at once (batch 100), log scale',
      yLabel: 'messages / s (log scale)',
      logY: true,
      series: [
        {
          name: 'sluice',
          color: SLUICE,
          points: sluice(result.concurrency),
        },
        {
          name: 'hand-written loop',
          color: BASELINE,
          points: baseline(result.concurrency),
        },
        {
          name: `ideal (c / ${result.handlerMs} ms)`,
          color: REFERENCE,
          dashed: true,
          points: result.concurrencyIdeal.map((p) => ({ x: p.x, y: p.perSecond })),
        },
      ],
    },
    {
      title: 'Drain time vs backlog (batch 100)',
      xLabel: 'messages in the backlog, log scale',
      yLabel: 'drain time, ms (log scale)',
      logY: true,
      note: `slope ${result.backlogSlope.sluice.toFixed(2)} (1 = linear)`,
      series: [
        { name: 'sluice', color: SLUICE, points: sluice(result.backlog) },
        {
          name: 'hand-written loop',
          color: BASELINE,
          points: baseline(result.backlog),
        },
        {
          name: 'linear',
          color: REFERENCE,
          dashed: true,
          points: result.backlog.map((p) => ({
            x: p.x,
            y: ((result.backlog[0]?.sluice ?? 1) * p.x) / (result.backlog[0]?.x ?? 1),
          })),
        },
      ],
    },
  ];
  const totalWidth = WIDTH * panels.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="title" width="${totalWidth}" height="${HEIGHT + 24}" viewBox="0 0 ${totalWidth} ${HEIGHT + 24}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title id="title">sluice scaling: throughput against batch size and handler concurrency, drain time against backlog (${escapeXml(subtitle)})</title>`,
    '<style>.title{font-size:14px;font-weight:bold}.label{font-size:12px;fill:#333}.note{font-size:12px;fill:#555}.grid{stroke:#e3e3e3;stroke-width:1}.frame{fill:none;stroke:#999}text{fill:#222}</style>',
    `<rect width="${totalWidth}" height="${HEIGHT + 24}" fill="#fff"/>`,
    ...panels.map((p, i) => panel(p, i * WIDTH)),
    `<text x="${totalWidth / 2}" y="${HEIGHT + 16}" text-anchor="middle" class="note">${escapeXml(subtitle)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
