/** The dashboard's stylesheet (inline in the page, allowed by its hash). */
export const STYLE = `
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
.topic-head code { overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 16px; color: var(--muted); font-size: 13px; margin-left: auto; min-width: 0; }
.facts b { color: var(--text); font-variant-numeric: tabular-nums; }
.groups { display: grid; gap: 14px; }
.group { padding: 16px 18px; }
.group-head { display: flex; align-items: center; flex-wrap: wrap; gap: 6px 10px; margin-bottom: 12px; }
.group-head h3 { margin: 0; font-size: 15px; }
.group-head .where { color: var(--faint); font-size: 12.5px; margin-left: auto; min-width: 0; overflow-wrap: anywhere; }
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
col.source { width: 172px; } col.payload { width: 200px; }
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
tr.letter { cursor: pointer; }
tr.letter:hover td, tr.letter[aria-expanded="true"] td { background: var(--bg); }
tr.letter:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
tr.detail > td { background: var(--bg); padding: 4px 14px 14px; }
.message dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 6px 0 10px; font-size: 12.5px; }
.message dt { color: var(--muted); font-weight: 600; }
.message dd { margin: 0; overflow-wrap: anywhere; }
.payload-head { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; }
.payload-head b { margin-right: auto; font-size: 12.5px; }
.payload-full {
  margin: 0; padding: 10px 12px; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  background: var(--panel); border: 1px solid var(--border); border-radius: 8px;
}
.pager { display: flex; align-items: center; justify-content: flex-end; gap: 8px; margin-top: 8px; }
.pager .position { color: var(--muted); font-size: 12.5px; margin-right: auto; font-variant-numeric: tabular-nums; }
button.danger { background: var(--red); border-color: var(--red); color: #fff; }
.dlq-actions { display: flex; gap: 8px; }
dialog.confirm { max-width: 420px; padding: 20px 22px; color: var(--text); }
dialog.confirm::backdrop { background: rgba(16, 24, 40, .45); }
dialog.confirm p { margin: 0 0 16px; }
.confirm-actions { display: flex; justify-content: flex-end; gap: 8px; }
th.num { text-align: right; }
.more { color: var(--faint); font-size: 12.5px; margin: 8px 0 0; }
.loading { color: var(--muted); padding: 40px 0; text-align: center; }
@media (max-width: 900px) {
  .summary { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .group-body { grid-template-columns: 1fr; }
  .bar, main { padding-left: 16px; padding-right: 16px; }
}
@media (max-width: 640px) {
  .summary { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .bar { gap: 10px; }
  .brand .sub { display: none; }
  .status { font-size: 12px; }
  #signout { white-space: nowrap; }
  .tile .value { font-size: 20px; }
  .group { padding: 14px 12px; }
  .facts { margin-left: 0; }
  .group-head .where { margin-left: 0; flex-basis: 100%; }
  .group-body { grid-template-columns: minmax(0, 1fr); }
  .dlq-head { flex-wrap: wrap; }
  .legend { margin-left: 0; }
  .dlq table, .dlq tbody { display: block; }
  .dlq colgroup, .dlq thead { display: none; }
  .dlq tr.letter { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 2px 10px; padding: 8px 4px; border-bottom: 1px solid var(--grid); }
  .dlq tr.letter td { padding: 0; border: 0; }
  .dlq td.err, .dlq td.payload { grid-column: 1 / -1; }
  .dlq td.deliveries, .dlq td.source { display: none; }
  .dlq tr.detail { display: block; }
  .dlq tr.detail > td { display: block; padding: 4px 4px 12px; }
}
`;
