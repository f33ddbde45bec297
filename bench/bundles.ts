/**
 * Bundle size and cold import time of each function, built as serverless.yml builds them
 * (esbuild: bundle, minify, platform node, target node20, CommonJS), plus what each
 * package contributes and what the same bundle weighs without keepNames. Each function is weighed
 * against the minimal drain function with the same client (bench/minimal/): sluice's own share of
 * a bundle is its size minus that one's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { runNodeScript } from './lib/node-child.js';
import { median } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const OUT = fileURLToPath(new URL('./.bundles/', import.meta.url));

/** Each function entry, and the environment its module scope needs to load (no server is contacted). */
const FUNCTIONS = [
  { name: 'aws/drain', entry: 'functions/aws/drain.ts', driver: 'ioredis' },
  { name: 'aws/drain-upstash', entry: 'functions/aws/drain-upstash.ts', driver: 'upstash' },
  { name: 'aws/publish', entry: 'functions/aws/publish.ts', driver: 'ioredis' },
  { name: 'aws/publish-upstash', entry: 'functions/aws/publish-upstash.ts', driver: 'upstash' },
  { name: 'vercel/drain', entry: 'functions/vercel/drain.ts', driver: 'upstash' },
  { name: 'vercel/publish', entry: 'functions/vercel/publish.ts', driver: 'upstash' },
  { name: 'vercel/qstash-drain', entry: 'functions/vercel/qstash-drain.ts', driver: 'upstash' },
  { name: 'aws/ops', entry: 'functions/aws/ops.ts', driver: 'ioredis' },
  { name: 'aws/ops-upstash', entry: 'functions/aws/ops-upstash.ts', driver: 'upstash' },
  { name: 'minimal/ioredis', entry: 'bench/minimal/drain-ioredis.ts', driver: 'ioredis' },
  { name: 'minimal/upstash', entry: 'bench/minimal/drain-upstash.ts', driver: 'upstash' },
] as const;

/** The minimal same-client function each function is weighed against. */
export const MINIMAL: Record<'ioredis' | 'upstash', string> = {
  ioredis: 'minimal/ioredis',
  upstash: 'minimal/upstash',
};

const ENV: Record<'ioredis' | 'upstash', Record<string, string>> = {
  ioredis: { REDIS_URL: 'redis://127.0.0.1:6379' },
  upstash: { UPSTASH_REDIS_REST_URL: 'https://example.invalid', UPSTASH_REDIS_REST_TOKEN: 'bench' },
};
const COMMON_ENV = {
  SLUICE_PUBLISH_TOKEN: 'bench',
  CRON_SECRET: 'bench',
  QSTASH_CURRENT_SIGNING_KEY: 'sig_bench_current',
  QSTASH_NEXT_SIGNING_KEY: 'sig_bench_next',
};

/** serverless.yml's `custom.esbuild`. */
export const SERVERLESS_BUILD: BuildOptions = {
  bundle: true,
  minify: true,
  keepNames: false,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['aws-sdk', '@aws-sdk/*'],
  logLevel: 'silent',
  absWorkingDir: ROOT,
};

export interface BundleResult {
  readonly name: string;
  readonly driver?: 'ioredis' | 'upstash';
  /** Bytes minus those of the minimal function with the same client: what sluice adds. */
  readonly ownShareBytes?: number;
  /** Bytes of this repository's modules in the bundle (the rest is node_modules). */
  readonly repositoryBytes?: number;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly bytesWithoutKeepNames: number;
  /** Bytes in the minified output per package (or per folder of this repository), largest first. */
  readonly byPackage: Record<string, number>;
  /** Median time to `require()` the bundle in a fresh node process, and of the whole process. */
  readonly importMs: number;
  readonly processMs: number;
}

function ownerOf(input: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (modules) return modules[1] as string;
  return input.split('/').slice(0, 2).join('/');
}

async function bundle(entry: string, file: string) {
  const result = await build({ ...SERVERLESS_BUILD, entryPoints: [entry], outfile: file, metafile: true });
  const output = Object.values(result.metafile.outputs)[0];
  const byPackage: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const owner = ownerOf(input);
    byPackage[owner] = (byPackage[owner] ?? 0) + bytesInOutput;
  }
  const sorted = Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1]));
  const lean = await build({ ...SERVERLESS_BUILD, keepNames: false, entryPoints: [entry], write: false });
  return { byPackage: sorted, bytesWithoutKeepNames: lean.outputFiles?.[0]?.contents.length ?? Number.NaN };
}

/** Spawns `node` to require `file`; resolves the in-process require time and the process's wall time. */
async function coldImport(
  file: string,
  env: Record<string, string>,
): Promise<{ importMs: number; processMs: number }> {
  const code = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));process.exit(0)`;
  const run = await runNodeScript(code, env);
  if (run.exitCode !== 0) throw new Error(`requiring ${file} failed (${run.exitCode}): ${run.stderr}`);
  return { importMs: Number(run.stdout), processMs: run.wallMs };
}

export async function benchBundles(
  runs: number,
): Promise<{ bundles: BundleResult[]; emptyImport: BundleResult }> {
  mkdirSync(OUT, { recursive: true });
  const built: {
    name: string;
    driver?: 'ioredis' | 'upstash';
    file: string;
    env: Record<string, string>;
    meta: Awaited<ReturnType<typeof bundle>>;
  }[] = [];
  for (const fn of FUNCTIONS) {
    const file = `${OUT}${fn.name.replace('/', '-')}.cjs`;
    built.push({
      name: fn.name,
      driver: fn.driver,
      file,
      env: { ...COMMON_ENV, ...ENV[fn.driver] },
      meta: await bundle(fn.entry, file),
    });
  }
  const empty = `${OUT}empty.cjs`;
  writeFileSync(empty, '');
  built.push({
    name: '(empty file)',
    file: empty,
    env: {},
    meta: { byPackage: {}, bytesWithoutKeepNames: 0 },
  });

  // Interleaved: run r imports every bundle once, so a slow moment hits all of them.
  const times = new Map<string, { importMs: number[]; processMs: number[] }>();
  for (let run = 0; run < runs; run++) {
    for (const b of built) {
      const t = await coldImport(b.file, b.env);
      const entry = times.get(b.name) ?? { importMs: [], processMs: [] };
      entry.importMs.push(t.importMs);
      entry.processMs.push(t.processMs);
      times.set(b.name, entry);
    }
  }
  const size = (name: string) => readFileSync(built.find((b) => b.name === name)?.file as string).length;
  const results = built.map((b): BundleResult => {
    const bytes = readFileSync(b.file);
    const t = times.get(b.name) as { importMs: number[]; processMs: number[] };
    const repositoryBytes = Object.entries(b.meta.byPackage)
      .filter(([owner]) => /^(src|functions|bench)\//.test(owner))
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      name: b.name,
      ...(b.driver && {
        driver: b.driver,
        ownShareBytes: bytes.length - size(MINIMAL[b.driver]),
        repositoryBytes,
      }),
      bytes: bytes.length,
      gzipBytes: bytes.length === 0 ? 0 : gzipSync(bytes).length,
      bytesWithoutKeepNames: b.meta.bytesWithoutKeepNames,
      byPackage: b.meta.byPackage,
      importMs: median(t.importMs),
      processMs: median(t.processMs),
    };
  });
  return { bundles: results.slice(0, -1), emptyImport: results[results.length - 1] as BundleResult };
}
