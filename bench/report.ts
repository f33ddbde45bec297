/** The targets of the issue, judged against a run's results, and the printed tables. */
import type { BundleResult } from './bundles.js';
import { formatNumber } from './chart.js';
import type { ColdStartResult } from './cold-start.js';
import type { IdleResult, RestDelayResult, RestDrainResult } from './drain-rest.js';
import type { SweepPoint, TcpDrainResult } from './drain-tcp.js';
import type { LatencyResult } from './latency.js';
import type { PartitionsResult } from './partitions.js';
import type { PublishResult } from './publish.js';
import type { ReclaimResult } from './reclaim.js';
import type { ScalingResult } from './scaling.js';
import type { WakeResult } from './wake.js';
import type { WakeStackResult } from './wake-stack.js';

export interface Results {
  drainTcp?: TcpDrainResult;
  reclaim?: ReclaimResult;
  wake?: WakeResult;
  wakeStack?: WakeStackResult;
  drainRest?: RestDrainResult;
  idle?: IdleResult;
  publish?: PublishResult;
  latencyTcp?: LatencyResult;
  latencyRest?: LatencyResult;
  bundles?: { bundles: BundleResult[]; emptyImport: BundleResult };
  scaling?: ScalingResult;
  partitions?: PartitionsResult;
  sweep?: SweepPoint[];
  restDelay?: RestDelayResult[];
  coldStart?: ColdStartResult;
}

export interface Target {
  readonly name: string;
  readonly required: string;
  readonly measured: string;
  readonly value: number;
  readonly pass: boolean;
}

function atLeast(name: string, value: number | undefined, min: number, unit = '×'): Target | undefined {
  if (value === undefined) return undefined;
  const text = unit === '×' ? `${value.toFixed(2)}×` : `${formatNumber(value)} ${unit}`;
  return {
    name,
    required: `≥ ${min}${unit === '×' ? '×' : ` ${unit}`}`,
    measured: text,
    value,
    pass: value >= min,
  };
}

function atMost(
  name: string,
  value: number | undefined,
  max: number,
  unit: string,
  digits = 3,
): Target | undefined {
  if (value === undefined) return undefined;
  return {
    name,
    required: `≤ ${max} ${unit}`,
    measured: `${value.toFixed(digits)} ${unit}`,
    value,
    pass: value <= max,
  };
}

export function judge(results: Results): Target[] {
  const bundle = (name: string) => results.bundles?.bundles.find((b) => b.name === name);
  const share = (name: string) => {
    const b = bundle(name);
    return b?.ownShareBytes === undefined ? undefined : b.ownShareBytes / 1024;
  };
  const sweep = (batchSize: number) => results.sweep?.find((p) => p.batchSize === batchSize);
  const delay = (ms: number) => results.restDelay?.find((d) => d.delayMs === ms)?.result;
  const cold = results.coldStart?.byDriver;
  const targets = [
    atLeast(
      'drain, sluice / hand-written loop that parses (TCP, batch 100)',
      sweep(100)?.ratioToParsingLoop ?? results.drainTcp?.ratioToParsingLoop,
      1.2,
    ),
    atLeast(
      'drain, sluice / hand-written loop that parses (TCP, batch 10)',
      sweep(10)?.ratioToParsingLoop,
      1.0,
    ),
    atMost(
      'Redis commands per message (TCP, batch 100)',
      results.drainTcp?.sluiceCommandsPerMessage,
      0.03,
      'cmd/msg',
      4,
    ),
    atLeast(
      'REST drain, sluice / hand-written fetch loop (local)',
      delay(0)?.ratioToFetch ?? results.drainRest?.ratioToFetch,
      1.0,
    ),
    atLeast('REST drain, sluice / hand-written fetch loop (+5 ms per request)', delay(5)?.ratioToFetch, 1.5),
    atMost(
      'REST requests per batch (batch 100)',
      results.drainRest?.sluiceRequestsPerBatch,
      3,
      'req/batch',
      2,
    ),
    atLeast('batch publish, publishBatch / pipelined XADD (batch 100)', results.publish?.libraryRatio, 0.8),
    atLeast('batch publish, HTTP handler / pipelined XADD (batch 100)', results.publish?.httpRatio, 0.8),
    atMost('publish→handler latency p50 (TCP)', results.latencyTcp?.p50Ms, 5, 'ms', 2),
    ...(
      [
        'aws/drain',
        'aws/drain-upstash',
        'aws/publish',
        'aws/publish-upstash',
        'aws/ops',
        'aws/ops-upstash',
      ] as const
    ).map((name) => atMost(`sluice's own share of the ${name} bundle (minified)`, share(name), 25, 'KiB', 1)),
    atMost('cold start to a first empty cycle, sluice / minimal (ioredis)', cold?.ioredis.ratio, 1.2, '×', 2),
    atMost('cold start to a first empty cycle, sluice / minimal (Upstash)', cold?.upstash.ratio, 1.2, '×', 2),
  ];
  return targets.filter((t): t is Target => t !== undefined);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const rate = (n: number) => `${formatNumber(n)}/s`;
const ratio = (n: number) => `${n.toFixed(2)}×`;

/** The tables printed at the end of a run (Markdown, so they can be pasted into bench/README.md). */
export function renderTables(results: Results, targets: readonly Target[]): string {
  const out: string[] = [];
  if (targets.length > 0)
    out.push(
      '## Targets',
      '',
      table(
        ['target', 'required', 'measured', 'result'],
        targets.map((t) => [t.name, t.required, t.measured, t.pass ? 'pass' : 'FAIL']),
      ),
    );
  const d = results.drainTcp;
  const r = results.drainRest;
  if (d || r) {
    const rows: string[][] = [];
    if (d) {
      rows.push([
        'TCP (ioredis), batch 100, no-op handler',
        rate(d.perSecond.sluice),
        rate(d.perSecond.baseline),
        ratio(d.ratio),
        `${d.sluiceCommandsPerMessage.toFixed(4)} cmd/msg (hand-written ${d.baselineCommandsPerMessage.toFixed(4)}); ` +
          `client CPU ${d.cpuUsPerMessage.sluice.toFixed(2)} µs/msg (hand-written ${d.cpuUsPerMessage.baseline.toFixed(2)})`,
      ]);
      rows.push([
        'TCP, vs a hand-written loop that JSON-parses',
        rate(d.perSecond.sluice),
        rate(d.perSecond['baseline+json']),
        ratio(d.ratioToParsingLoop),
        `client CPU ${d.cpuUsPerMessage['baseline+json'].toFixed(2)} µs/msg for that loop`,
      ]);
    }
    if (r) {
      rows.push([
        'REST (@upstash/redis) vs fetch loop',
        rate(r.perSecond.sluice),
        rate(r.perSecond.fetch),
        ratio(r.ratioToFetch),
        `${r.sluiceRequestsPerMessage.toFixed(4)} req/msg, ${r.sluiceRequestsPerBatch.toFixed(2)} req/batch`,
      ]);
      rows.push([
        'REST (@upstash/redis) vs same-SDK loop',
        rate(r.perSecond.sluice),
        rate(r.perSecond.sdk),
        ratio(r.ratioToSdk),
        `hand-written: ${(r.requests.fetch / r.messages).toFixed(4)} req/msg`,
      ]);
    }
    out.push('', '## Drain', '', table(['drain', 'sluice', 'hand-written', 'ratio', 'cost'], rows));
  }
  if (results.reclaim) {
    const c = results.reclaim;
    out.push(
      '',
      `Reclaim: ${c.messages} entries left pending by a dead consumer, taken over by one cycle (batch ${c.batchSize}, no-op handler): ` +
        `${c.wallUsPerMessage.toFixed(2)} µs wall, ${c.redisUsPerMessage.toFixed(2)} µs of Redis time and ` +
        `${c.redisCommandsPerMessage.toFixed(2)} Redis commands (those inside scripts included) per reclaimed message. ` +
        `The reclaim script alone: ${c.scripts.xautoclaim.redisUs.toFixed(2)} µs, ${c.scripts.xautoclaim.commands.toFixed(2)} commands per entry ` +
        `(XAUTOCLAIM … JUSTID, the retry schedule, XCLAIM) against ${c.scripts.beforeSchedule.redisUs.toFixed(2)} µs, ` +
        `${c.scripts.beforeSchedule.commands.toFixed(2)} (XPENDING … IDLE, XCLAIM: the script before the schedule), ${c.scripts.ratio.toFixed(2)}× side by side.`,
    );
  }
  if (results.wake) out.push('', ...wakeTables(results.wake));
  if (results.wakeStack) {
    const w = results.wakeStack;
    out.push(
      '',
      `On the local stack (serverless offline, upstash build, a publish over HTTP waking the drain function through ` +
        `the Lambda Invoke API), ${w.messages} messages 2–3 s apart: publish → handler p50 ${w.latency.p50} ms, ` +
        `p90 ${w.latency.p90} ms, p99 ${w.latency.p99} ms, max ${w.latency.max} ms; a scheduled tick on the idle topic: ` +
        `${w.idleTickCommands} Redis commands, ${w.idleTickMs} ms through the Invoke API.`,
    );
  }
  if (results.idle) {
    const i = results.idle;
    out.push(
      '',
      `Idle cycle, default settings, budget ${i.budgetMs / 1000} s (one scheduled invocation per minute): ` +
        `REST ${i.restRequests} HTTP requests per cycle (${i.restRequestsPerMinute.toFixed(0)} per minute of polling); ` +
        `TCP ${i.tcpCommands} commands per cycle (${i.tcpCommandsPerMinute.toFixed(0)} per minute).`,
    );
  }
  const p = results.publish;
  if (p) {
    out.push(
      '',
      '## Publish',
      '',
      table(
        ['publish', 'messages/s', 'vs raw'],
        [
          [`publishBatch, batch ${p.batchSize}`, rate(p.perSecond.library), ratio(p.libraryRatio)],
          [`HTTP handler (Lambda), batch ${p.batchSize}`, rate(p.perSecond.http), ratio(p.httpRatio)],
          [`raw pipelined XADD, batch ${p.batchSize}`, rate(p.perSecond.raw), '1.00×'],
          ['publish(), one at a time', rate(p.single.library), ratio(p.single.ratio)],
          ['raw XADD, one at a time', rate(p.single.raw), '1.00×'],
        ],
      ),
    );
  }
  if (results.latencyTcp || results.latencyRest) {
    const rows = [
      ['TCP (XREADGROUP BLOCK)', results.latencyTcp],
      ['REST (poll back-off 50 ms → 1 s)', results.latencyRest],
    ] as const;
    out.push(
      '',
      '## Publish → handler latency',
      '',
      table(
        ['driver', 'samples', 'p50', 'p90', 'p99', 'max', 'mean pause between messages'],
        rows
          .filter(([, l]) => l !== undefined)
          .map(([name, l]) => {
            const v = l as LatencyResult;
            return [
              name,
              String(v.samples),
              `${v.p50Ms.toFixed(2)} ms`,
              `${v.p90Ms.toFixed(2)} ms`,
              `${v.p99Ms.toFixed(2)} ms`,
              `${v.maxMs.toFixed(1)} ms`,
              `${v.meanPauseMs.toFixed(0)} ms`,
            ];
          }),
      ),
    );
  }
  const b = results.bundles;
  if (b) {
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    out.push(
      '',
      `## Bundles (esbuild as serverless.yml: minify, cjs, node20); cold require in a fresh node (median; an empty file: ${b.emptyImport.importMs.toFixed(1)} ms)`,
      '',
      table(
        [
          'function',
          'minified',
          "sluice's own share",
          'gzip',
          'without keepNames',
          'require',
          'node process',
          'largest parts',
        ],
        b.bundles.map((x) => [
          x.name,
          kib(x.bytes),
          x.ownShareBytes === undefined ? '' : kib(x.ownShareBytes),
          kib(x.gzipBytes),
          kib(x.bytesWithoutKeepNames),
          `${x.importMs.toFixed(1)} ms`,
          `${x.processMs.toFixed(0)} ms`,
          Object.entries(x.byPackage)
            .slice(0, 3)
            .map(([k, v]) => `${k} ${kib(v)}`)
            .join(', '),
        ]),
      ),
    );
  }
  out.push(...performanceTables(results));
  const s = results.scaling;
  if (s) {
    out.push(
      '',
      '## Scaling (TCP)',
      '',
      table(
        ['batch size', 'messages', 'sluice', 'hand-written', 'ratio'],
        s.batchSize.map((x) => [
          String(x.x),
          formatNumber(x.messages),
          rate(x.sluice),
          rate(x.baseline),
          ratio(x.ratio),
        ]),
      ),
      '',
      table(
        [
          `concurrency (${s.handlerMs} ms handler)`,
          'messages',
          'sluice',
          'hand-written',
          'ideal',
          'sluice / ideal',
        ],
        s.concurrency.map((x, i) => {
          const ideal = s.concurrencyIdeal[i]?.perSecond ?? Number.NaN;
          return [
            String(x.x),
            formatNumber(x.messages),
            rate(x.sluice),
            rate(x.baseline),
            rate(ideal),
            ratio(x.sluice / ideal),
          ];
        }),
      ),
      '',
      table(
        ['backlog', 'sluice drain', 'hand-written', 'sluice µs/msg', 'ratio (speed)', 'fill (Lua XADD)'],
        s.backlog.map((x) => [
          formatNumber(x.x),
          `${x.sluice.toFixed(0)} ms`,
          `${x.baseline.toFixed(0)} ms`,
          (x.sluiceMsPerMessage * 1000).toFixed(2),
          ratio(x.ratio),
          rate(x.fillPerSecond),
        ]),
      ),
      '',
      `Memory inside one cycle of ${formatNumber(s.memory.messages)} messages (heap after a full GC): sluice keeps ` +
        `${s.memory.sluiceBytesPerMessage.toFixed(0)} B per message drained (+${s.memory.sluiceGrowthMB.toFixed(0)} MB), ` +
        `the hand-written loop ${s.memory.baselineBytesPerMessage.toFixed(0)} B (+${s.memory.baselineGrowthMB.toFixed(0)} MB).`,
      '',
      `Drain time grows as backlog^${s.backlogSlope.sluice.toFixed(3)} (sluice) and backlog^${s.backlogSlope.baseline.toFixed(3)} (hand-written): 1 = linear.`,
    );
  }
  const pt = results.partitions;
  if (pt) {
    const cores = (n: number) => n.toFixed(2);
    const largest = Math.max(...pt.rows.map((r) => r.partitions));
    out.push(
      '',
      `## Partitions (${pt.masters}-master Redis Cluster; a drain process per partition, drain i with assignedPartitions [i], unless one process drains them all; ${formatNumber(pt.messages)} messages, batch ${pt.batchSize}, no-op handler; ${pt.cores} cores)`,
      '',
      table(
        [
          'setup',
          'partitions',
          'drain processes',
          'messages/s',
          'vs one stream',
          'slowest ÷ fastest drain',
          'CPU busy (cores): machine',
          'drains',
          'redis',
          'other',
          'CPU µs/msg: drains',
          'redis',
        ],
        pt.rows.map((r) => [
          r.label,
          String(r.partitions),
          String(r.drains),
          rate(r.perSecond),
          ratio(r.ratio),
          r.drainSpread.toFixed(2),
          cores(r.cpu.machine),
          cores(r.cpu.drains),
          cores(r.cpu.redis),
          cores(r.cpu.other + r.cpu.parent),
          r.cpu.drainUsPerMessage.toFixed(2),
          r.cpu.redisUsPerMessage.toFixed(2),
        ]),
      ),
      '',
      `"other" is everything else that ran meanwhile: this process (${cores(Math.max(...pt.rows.map((r) => r.cpu.parent)))} cores at most), the REST server, other users of the machine.`,
      '',
      `Ordered ÷ unordered at ${largest} partitions: ${ratio(pt.orderedRatio)}. ` +
        `Partitions per master: ${Object.entries(pt.placement)
          .map(([layout, perMaster]) => `${layout.replace('cluster-', 'P=')} ${perMaster}`)
          .join(', ')}. ` +
        `Pre-fill with publishBatch: ${rate(pt.fillPerSecond.server)} (redis-server), ${rate(pt.fillPerSecond.cluster)} (cluster).`,
    );
  }
  return out.join('\n');
}

/** Event-driven draining against schedule-only (bench/wake.ts). */
function wakeTables(w: WakeResult): string[] {
  const day = (perHour: number) => formatNumber(Math.round(perHour * 24));
  const l = w.latency;
  const b = w.backlog;
  return [
    '## Event-driven draining (REST, in-process drains)',
    '',
    table(
      [
        'idle topic, per scheduled tick',
        'REST requests',
        'function time',
        'requests per day',
        'function-seconds per day',
      ],
      (['scheduleOnly', 'eventDriven'] as const).map((mode) => {
        const t = w.idle[mode];
        return [
          mode === 'scheduleOnly' ? `schedule only (budget ${w.idle.budgetMs / 1000} s)` : 'event-driven',
          String(t.requests),
          `${(t.durationMs / 1000).toFixed(3)} s`,
          day(t.requestsPerHour),
          day(t.functionSecondsPerHour),
        ];
      }),
    ),
    '',
    table(
      ['publish → handler, a message every 2–3 s', 'p50', 'p90', 'p99', 'max'],
      [
        ['event-driven (each publish wakes a drain)', l.eventDriven],
        [`schedule only (a drain every ${l.scheduleTickMs / 1000} s)`, l.scheduleOnly],
      ].map(([name, p]) => {
        const v = p as WakeResult['latency']['eventDriven'];
        return [name as string, `${v.p50} ms`, `${v.p90} ms`, `${v.p99} ms`, `${v.max} ms`];
      }),
    ),
    '',
    `Backlog of ${formatNumber(b.messages)} published at once: one drain ${(b.oneDrainMs / 1000).toFixed(1)} s, ` +
      `fan-out to 4 ${(b.fanOutMs / 1000).toFixed(1)} s (${b.speedup.toFixed(2)}×); ` +
      `4 drains live ${b.fourDrainsAfterMs === undefined ? 'never' : `${b.fourDrainsAfterMs} ms`} after the first tick (peak ${b.peakDrains}); ` +
      `one drain's rate ${formatNumber(b.perDrainRate)} messages/s.`,
  ];
}

/** The batch-size sweep, the REST delays and the cold starts (issue 16's measurements). */
function performanceTables(results: Results): string[] {
  const out: string[] = [];
  if (results.sweep)
    out.push(
      '',
      '## Batch-size sweep (TCP, no-op handler, in order)',
      '',
      table(
        [
          'batch size',
          'messages',
          'sluice',
          'hand-written',
          'ratio',
          'hand-written + JSON.parse',
          'ratio',
          'client CPU µs/msg (sluice / parsing loop)',
        ],
        results.sweep.map((p) => [
          String(p.batchSize),
          formatNumber(p.messages),
          rate(p.perSecond.sluice),
          rate(p.perSecond.baseline),
          ratio(p.ratio),
          rate(p.perSecond['baseline+json']),
          ratio(p.ratioToParsingLoop),
          `${p.cpuUsPerMessage.sluice.toFixed(2)} / ${p.cpuUsPerMessage['baseline+json'].toFixed(2)}`,
        ]),
      ),
    );
  if (results.restDelay)
    out.push(
      '',
      '## REST drain with a delay added to every request (batch 100, no-op handler)',
      '',
      table(
        [
          'added delay',
          'sluice',
          'fetch loop',
          'ratio',
          'same-SDK loop',
          'ratio',
          'sluice req/batch',
          'sluice, prefetch 2',
          'ratio to fetch',
        ],
        results.restDelay.map(({ delayMs, result: r }) => [
          `${delayMs} ms`,
          rate(r.perSecond.sluice),
          rate(r.perSecond.fetch),
          ratio(r.ratioToFetch),
          rate(r.perSecond.sdk),
          ratio(r.ratioToSdk),
          r.sluiceRequestsPerBatch.toFixed(2),
          r.perSecond.sluice2 === undefined ? '—' : rate(r.perSecond.sluice2),
          r.prefetch2RatioToFetch === undefined ? '—' : ratio(r.prefetch2RatioToFetch),
        ]),
      ),
    );
  const c = results.coldStart;
  if (c)
    out.push(
      '',
      `## Cold start: process start → end of a first drain cycle over an empty stream (median of ${c.runs} processes each)`,
      '',
      table(
        [
          'driver',
          'sluice (aws/drain)',
          'minimal function',
          'ratio',
          'of which require(): sluice',
          'minimal',
        ],
        (['ioredis', 'upstash'] as const).map((driver) => {
          const d = c.byDriver[driver];
          return [
            driver,
            `${d.sluiceMs.toFixed(1)} ms`,
            `${d.minimalMs.toFixed(1)} ms`,
            ratio(d.ratio),
            `${d.sluiceRequireMs.toFixed(1)} ms`,
            `${d.minimalRequireMs.toFixed(1)} ms`,
          ];
        }),
      ),
    );
  return out;
}
