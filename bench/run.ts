/**
 * `npm run bench`: sluice's benchmarks against a private redis-server (and the local Upstash REST
 * server in front of it), never part of `npm test`.
 *
 *   npm run bench                      full run (a few minutes): bench/results.json, bench/scaling.svg
 *   npm run bench -- --quick           smaller run: bench/results-quick.json, bench/scaling-quick.svg
 *   npm run bench -- --only drain,rest sections only (drain reclaim rest idle wake publish latency bundles scaling partitions sweep rest-delay cold), nothing written
 *   npm run bench -- --only partitions --merge
 *                                      the same, then those sections' figures replace theirs in bench/results.json
 *                                      (results-quick.json with --quick); the other sections' figures stay as they were
 *   npm run bench -- --chart           redraw bench/scaling.svg from bench/results.json (no measuring)
 *   npm run bench -- --profile [w…]    CPU profiles of workloads, summary in bench/profile-summary.txt (drain-sluice drain-baseline rest-sluice
 *                                      rest-fetch rest-sdk publish-sluice publish-http publish-raw)
 *
 * Every figure that compares sluice with a baseline is a ratio of runs made side by side in one
 * process, alternating which goes first, median over repetitions: the machine is shared and noisy,
 * absolute rates are only indicative.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchBundles } from './bundles.js';
import { scalingChart } from './chart.js';
import { benchColdStart } from './cold-start.js';
import { benchIdle, benchRestDelays, benchRestDrain } from './drain-rest.js';
import { benchBatchSweep, benchTcpDrain } from './drain-tcp.js';
import { benchLatencyRest, benchLatencyTcp } from './latency.js';
import { type BenchContext, closeContext, createContext } from './lib/context.js';
import { installRequestCounter } from './lib/rest-counter.js';
import { startServers } from './lib/servers.js';
import { benchPartitions } from './partitions.js';
import { parseWorkloads, printSummary, profileWorkload } from './profile.js';
import { benchPublish } from './publish.js';
import { benchReclaim } from './reclaim.js';
import { judge, type Results, renderTables } from './report.js';
import { benchScaling } from './scaling.js';
import { benchWake } from './wake.js';
import { benchWakeStack } from './wake-stack.js';

const SECTIONS = [
  'drain',
  'reclaim',
  'rest',
  'idle',
  'publish',
  'latency',
  'bundles',
  'scaling',
  'partitions',
  'wake',
  'sweep',
  'rest-delay',
  'cold',
  'wake-stack',
] as const;
type Section = (typeof SECTIONS)[number];

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const file = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

/** How much each section does, full run and --quick. */
function plan(quick: boolean) {
  return {
    warmup: { messages: quick ? 10_000 : 30_000, restMessages: quick ? 1_000 : 3_000 },
    drain: { messages: quick ? 20_000 : 50_000, batchSize: 100, reps: quick ? 5 : 12 },
    rest: { messages: quick ? 3_000 : 10_000, batchSize: 100, reps: quick ? 2 : 5 },
    reclaim: { messages: quick ? 10_000 : 30_000, batchSize: 100, reps: quick ? 3 : 5 },
    wake: {
      idleBudgetMs: quick ? 10_000 : 50_000,
      sparse: quick ? 12 : 48,
      tickMs: 60_000,
      backlog: 300_000,
      stackMessages: quick ? 10 : 30,
    },
    idleBudgetMs: quick ? 10_000 : 50_000,
    publish: { batchSize: 100, messages: quick ? 10_000 : 50_000, reps: quick ? 2 : 5 },
    latency: { tcp: quick ? 200 : 1_000, rest: quick ? 20 : 60, restPauseMs: 300 },
    bundleRuns: quick ? 3 : 9,
    coldRuns: quick ? 5 : 15,
    sweep: {
      points: [
        { batchSize: 1, messages: quick ? 3_000 : 10_000 },
        { batchSize: 10, messages: quick ? 10_000 : 30_000 },
        { batchSize: 100, messages: quick ? 20_000 : 50_000 },
        { batchSize: 1000, messages: quick ? 20_000 : 50_000 },
      ],
      reps: quick ? 3 : 7,
    },
    restDelay: { delaysMs: [0, 5, 20], messages: quick ? 2_000 : 5_000, batchSize: 100, reps: quick ? 2 : 5 },
    scaling: {
      batchSizes: [
        { batchSize: 1, messages: quick ? 3_000 : 10_000 },
        { batchSize: 10, messages: quick ? 10_000 : 50_000 },
        { batchSize: 100, messages: quick ? 30_000 : 100_000 },
        { batchSize: 1000, messages: quick ? 30_000 : 100_000 },
      ],
      concurrencies: [1, 2, 4, 8, 16, 32, 64],
      concurrencySeconds: quick ? 0.4 : 1,
      backlogs: quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000],
      reps: quick ? 1 : 2,
      memoryMessages: quick ? 100_000 : 300_000,
    },
    partitions: {
      messages: quick ? 60_000 : 150_000,
      batchSize: 100,
      partitions: [1, 2, 4, 8],
      reps: quick ? 3 : 8,
    },
  };
}

function gitState() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const dirty = git('status', '--porcelain', '--', 'src', 'functions')
    .split('\n')
    .filter((l) => l !== '');
  return {
    commit: git('rev-parse', 'HEAD'),
    /** Uncommitted changes to what is measured (src/, functions/), and a hash of their diff. */
    uncommitted: dirty,
    diffSha1:
      dirty.length > 0
        ? createHash('sha1')
            .update(git('diff', '--', 'src', 'functions'))
            .digest('hex')
        : null,
  };
}

interface ChartMeta {
  readonly git: { readonly commit: string; readonly uncommitted: readonly string[] };
  readonly node: string;
  readonly redis: string;
  readonly cpus: number;
  readonly mode: string;
  readonly startedAt: string;
}

function chartSubtitle(meta: ChartMeta): string {
  const dirty = meta.git.uncommitted.length > 0 ? '+' : '';
  return `sluice ${meta.git.commit.slice(0, 7)}${dirty} · node ${meta.node} · redis ${meta.redis} · ${meta.cpus} cores · ${meta.mode} run ${meta.startedAt.slice(0, 10)}`;
}

async function warmUp(context: BenchContext, p: ReturnType<typeof plan>): Promise<void> {
  context.log('warm-up (JIT, connections, scripts) …');
  await benchTcpDrain(context, {
    ...p.drain,
    messages: p.warmup.messages,
    reps: 2,
    concurrency: 1,
    handler: async () => {},
  });
  await benchRestDrain(context, { ...p.rest, messages: p.warmup.restMessages, reps: 1 });
  await benchPublish(context, { ...p.publish, messages: p.warmup.messages / 5, reps: 1 });
}

async function runSections(
  context: BenchContext,
  sections: ReadonlySet<Section>,
  p: ReturnType<typeof plan>,
) {
  const results: Results = {};
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    context.log(`${name} …`);
    const value = await work();
    timings[name] = Math.round((performance.now() - started) / 1000);
    return value;
  };
  if (['drain', 'rest', 'publish', 'sweep', 'rest-delay'].some((name) => sections.has(name as Section)))
    await warmUp(context, p);
  if (sections.has('drain'))
    results.drainTcp = await timed('drain over TCP', () =>
      benchTcpDrain(context, { ...p.drain, concurrency: 1, handler: async () => {} }),
    );
  if (sections.has('reclaim'))
    results.reclaim = await timed('reclaim', () => benchReclaim(context, p.reclaim));
  if (sections.has('rest'))
    results.drainRest = await timed('drain over REST', () => benchRestDrain(context, p.rest));
  if (sections.has('sweep'))
    results.sweep = await timed('batch-size sweep over TCP', () => benchBatchSweep(context, p.sweep));
  if (sections.has('rest-delay'))
    results.restDelay = await timed('drain over REST with added delays', () =>
      benchRestDelays(context, p.restDelay),
    );
  if (sections.has('publish'))
    results.publish = await timed('publish', () => benchPublish(context, p.publish));
  if (sections.has('latency')) {
    results.latencyTcp = await timed('latency over TCP', () => benchLatencyTcp(context, p.latency.tcp));
    results.latencyRest = await timed('latency over REST', () =>
      benchLatencyRest(context, p.latency.rest, p.latency.restPauseMs),
    );
  }
  // The idle cycles cost almost no CPU and count requests, not time: they run beside the bundles.
  const idle = sections.has('idle')
    ? timed('idle cycles', () => benchIdle(context, p.idleBudgetMs))
    : undefined;
  if (sections.has('bundles')) results.bundles = await timed('bundles', () => benchBundles(p.bundleRuns));
  if (idle) results.idle = await idle;
  if (sections.has('cold'))
    results.coldStart = await timed('cold starts', () => benchColdStart(context, p.coldRuns));
  if (sections.has('scaling'))
    results.scaling = await timed('scaling', () => benchScaling(context, p.scaling));
  if (sections.has('wake'))
    results.wake = await timed('event-driven draining', () => benchWake(context, p.wake));
  if (sections.has('wake-stack'))
    results.wakeStack = await timed('event-driven draining on the local stack', () =>
      benchWakeStack(context, p.wake.stackMessages),
    );
  if (sections.has('partitions'))
    results.partitions = await timed('partitions', () => benchPartitions(context, p.partitions));
  return { results, timings };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      merge: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      chart: { type: 'boolean', default: false },
    },
  });
  if (values.chart) {
    const suffix = values.quick ? '-quick' : '';
    const saved = JSON.parse(readFileSync(file(`results${suffix}.json`), 'utf8')) as Results & {
      readonly meta: ChartMeta;
    };
    if (!saved.scaling) throw new Error(`bench/results${suffix}.json has no scaling results`);
    writeFileSync(file(`scaling${suffix}.svg`), scalingChart(saved.scaling, chartSubtitle(saved.meta)));
    process.stdout.write(`redrew bench/scaling${suffix}.svg\n`);
    return;
  }
  const startedAt = new Date();
  const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
  // What is measured is what the modules were when they were loaded: now.
  const git = gitState();
  const started = performance.now();
  installRequestCounter();
  // Process warnings (e.g. MaxListenersExceededWarning) are part of what a run found: keep them.
  const warnings = new Map<string, number>();
  process.on('warning', (warning) => {
    const key = `${warning.name}: ${warning.message.slice(0, 160)}`;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  });
  const servers = await startServers();
  // Whatever ends the run, the servers it started go with it: Ctrl-C, kill, or a closed pipe (| head).
  process.stdout.on('error', () => {});
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      servers
        .stop()
        .finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
    });
  }
  try {
    if (values.profile) {
      const lines: string[] = [];
      for (const workload of parseWorkloads(positionals)) {
        const text = printSummary(workload, await profileWorkload(servers, workload));
        process.stdout.write(`${text}\n\n`);
        lines.push(text);
      }
      const state = git;
      writeFileSync(
        file('profile-summary.txt'),
        [
          `sluice ${state.commit}${state.uncommitted.length ? ` + uncommitted changes (diff sha1 ${state.diffSha1})` : ''}, node ${process.version}`,
          'Each workload runs in its own node under --cpu-prof (tsx, which like serverless.yml builds with keepNames:',
          'every function created gets an Object.defineProperty `name`, seen as `__name` and `set natives`).',
          'Self % = samples in that frame / busy samples. "phases" = inclusive time of named functions; for async',
          'functions only the synchronous part until their first await is inside them (continuations run from',
          '`runMicrotasks`). tsx strips line breaks, so frames of src/ have no line; anonymous ones show a column.',
          'Raw profiles: bench/.profiles/<workload>/*.cpuprofile (open in Chrome DevTools).',
          '',
          lines.join('\n\n'),
          '',
        ].join('\n'),
      );
      return;
    }
    const only = values.only?.split(',').map((s) => s.trim());
    for (const name of only ?? [])
      if (!(SECTIONS as readonly string[]).includes(name))
        throw new Error(`unknown section ${name}; one of ${SECTIONS.join(', ')}`);
    const suffix = values.quick ? '-quick' : '';
    if (values.merge && !only) throw new Error('--merge goes with --only (a full run writes every section)');
    if (values.merge && !existsSync(file(`results${suffix}.json`)))
      throw new Error(
        `no bench/results${suffix}.json to merge into: run the whole bench${suffix ? ' with --quick' : ''} first`,
      );
    const sections = new Set<Section>((only as Section[] | undefined) ?? SECTIONS);
    const context = createContext(servers, values.quick);
    const p = plan(values.quick);
    const { results, timings } = await runSections(context, sections, p);
    await closeContext(context);

    const targets = judge(results);
    const tables = renderTables(results, targets);
    process.stdout.write(`\n${tables}\n`);
    if (only) {
      if (!values.merge) return;
      // The sections measured now replace theirs in the saved results; the rest is left as it was.
      const path = file(`results${suffix}.json`);
      const {
        meta: savedMeta,
        targets: _targets,
        ...saved
      } = JSON.parse(readFileSync(path, 'utf8')) as Results & {
        readonly meta: Record<string, unknown> & { readonly sectionSeconds?: Record<string, number> };
        readonly targets: unknown;
      };
      const merged: Results = { ...saved, ...results };
      const previous = Array.isArray(savedMeta.merged) ? (savedMeta.merged as unknown[]) : [];
      const meta = {
        ...savedMeta,
        sectionSeconds: { ...savedMeta.sectionSeconds, ...timings },
        /** Sections measured later, on their own, and merged in: when, on what, under what load. */
        merged: [
          ...previous.filter(
            (m) => !(m as { sections: string[] }).sections.every((name) => sections.has(name as Section)),
          ),
          {
            sections: [...sections],
            startedAt: startedAt.toISOString(),
            durationSeconds: Math.round((performance.now() - started) / 1000),
            node: process.version,
            redis: servers.redisVersion,
            cpus: cpus().length,
            loadAverageAtStart: loadAtStart,
            git,
            processWarnings: Object.fromEntries(warnings),
          },
        ],
      };
      writeFileSync(path, `${JSON.stringify({ meta, targets: judge(merged), ...merged }, null, 2)}\n`);
      process.stdout.write(`\nmerged ${[...sections].join(', ')} into bench/results${suffix}.json\n`);
      return;
    }

    const meta = {
      mode: values.quick ? 'quick' : 'full',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - started) / 1000),
      sectionSeconds: timings,
      node: process.version,
      redis: servers.redisVersion,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverageAtStart: loadAtStart,
      git,
      processWarnings: Object.fromEntries(warnings),
      note: 'Ratios are of runs made side by side in one process, alternating order, medians over repetitions; absolute rates depend on a shared 2-core machine.',
    };
    writeFileSync(
      file(`results${suffix}.json`),
      `${JSON.stringify({ meta, targets, ...results }, null, 2)}\n`,
    );
    if (results.scaling) {
      writeFileSync(file(`scaling${suffix}.svg`), scalingChart(results.scaling, chartSubtitle(meta)));
    }
    process.stdout.write(
      `\nwrote bench/results${suffix}.json${results.scaling ? ` and bench/scaling${suffix}.svg` : ''} (${meta.durationSeconds} s)\n`,
    );
  } finally {
    await servers.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
