/**
 * Cold start: from a fresh node process's start to the end of its first drain cycle over an empty
 * stream (require the bundle, connect, ensure the group, one read), for the drain functions of both
 * drivers against the minimal function with the same client (bench/minimal/). Each run is its own
 * process on a fresh topic, so the group is created as in a first deployment; runs alternate, and
 * the figure is the median of the per-round ratios. The bundles are built as serverless.yml builds
 * them; the drain is invoked as the schedule does, with `idleExitMs: 0` so the first empty read
 * ends it without blocking (as the minimal function's read does), and event-driven mode off (whose
 * idle tick ends before reading at all).
 *
 * The bundles are written outside the repository, and each process runs in the bundle's directory
 * (as Lambda runs a function in its task root), as a deployed function has them: inside the
 * repository, Node would find its node_modules (from the bundle's path, or from the working
 * directory, where sluice also looks), and sluice's drain would load the `@opentelemetry/api` the
 * tests use (about 20 ms; an application that installs it pays that, and gets traces for it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { SERVERLESS_BUILD } from './bundles.js';
import type { BenchContext } from './lib/context.js';
import { runNodeScript } from './lib/node-child.js';
import { median } from './lib/stats.js';

const PAIRS = [
  { driver: 'ioredis', sluice: 'functions/aws/drain.ts', minimal: 'bench/minimal/drain-ioredis.ts' },
  { driver: 'upstash', sluice: 'functions/aws/drain-upstash.ts', minimal: 'bench/minimal/drain-upstash.ts' },
] as const;

export interface ColdStartResult {
  readonly runs: number;
  readonly byDriver: Record<
    'ioredis' | 'upstash',
    {
      /** Medians, ms from process start (performance.timeOrigin) to the cycle's end. */
      readonly sluiceMs: number;
      readonly minimalMs: number;
      /** Median of the per-round ratios sluice / minimal. */
      readonly ratio: number;
      /** Medians, ms from process start to the end of `require()` of the bundle. */
      readonly sluiceRequireMs: number;
      readonly minimalRequireMs: number;
    }
  >;
}

/** Requires the bundle, runs its handler once as a scheduled invocation, prints the times. */
const CHILD = `
process.chdir(require('node:path').dirname(process.env.COLD_BUNDLE));
const required = performance.now();
const { handler } = require(process.env.COLD_BUNDLE);
const loaded = performance.now();
const context = { getRemainingTimeInMillis: () => 60000, functionName: 'drain', awsRequestId: 'cold' };
Promise.resolve(handler({ idleExitMs: 0 }, context)).then((result) => {
  const done = performance.now();
  if (result && result.stoppedBy === 'error') throw new Error('drain failed: ' + result.error);
  process.stdout.write('\\nCOLD ' + JSON.stringify({ requireMs: loaded, cycleMs: done }) + '\\n');
  process.exit(0);
}).catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

async function coldRun(
  file: string,
  env: Record<string, string>,
): Promise<{ requireMs: number; cycleMs: number }> {
  const run = await runNodeScript(CHILD, { ...env, COLD_BUNDLE: file });
  const line = /\nCOLD (\{.*\})\n/.exec(run.stdout);
  if (run.exitCode !== 0 || !line)
    throw new Error(`cold run of ${file} failed (${run.exitCode}): ${run.stderr}${run.stdout}`);
  return JSON.parse(line[1] as string);
}

export async function benchColdStart(context: BenchContext, runs: number): Promise<ColdStartResult> {
  const out = mkdtempSync(join(tmpdir(), 'sluice-cold-'));
  try {
    return await coldStarts(context, runs, out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function coldStarts(context: BenchContext, runs: number, out: string): Promise<ColdStartResult> {
  const { redis, rest } = context.servers;
  const env = {
    ioredis: { REDIS_URL: redis.url },
    upstash: { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token },
  };
  const byDriver = {} as Record<'ioredis' | 'upstash', ColdStartResult['byDriver']['ioredis']>;
  for (const pair of PAIRS) {
    const files = {
      sluice: join(out, `sluice-${pair.driver}.cjs`),
      minimal: join(out, `minimal-${pair.driver}.cjs`),
    };
    await build({ ...SERVERLESS_BUILD, entryPoints: [pair.sluice], outfile: files.sluice });
    await build({ ...SERVERLESS_BUILD, entryPoints: [pair.minimal], outfile: files.minimal });
    const samples = { sluice: [] as number[], minimal: [] as number[] };
    const requires = { sluice: [] as number[], minimal: [] as number[] };
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? (['sluice', 'minimal'] as const) : (['minimal', 'sluice'] as const);
      for (const which of order) {
        const { topic, stream } = context.topic(`cold-${pair.driver}-${which}`);
        const t = await coldRun(files[which], {
          ...env[pair.driver],
          SLUICE_TOPIC: topic,
          MINIMAL_STREAM: stream,
          SLUICE_WAKE: 'false',
        });
        samples[which].push(t.cycleMs);
        requires[which].push(t.requireMs);
        await context.servers.admin.unlink(stream);
      }
    }
    byDriver[pair.driver] = {
      sluiceMs: median(samples.sluice),
      minimalMs: median(samples.minimal),
      ratio: median(samples.sluice.map((s, i) => s / (samples.minimal[i] as number))),
      sluiceRequireMs: median(requires.sluice),
      minimalRequireMs: median(requires.minimal),
    };
  }
  return { runs, byDriver };
}
