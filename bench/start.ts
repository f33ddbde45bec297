/**
 * `npm run bench` starts here: bench/run.ts and all it imports (sluice's sources and the
 * hand-written loops alike) are compiled by esbuild into one file, as a function's bundle is, and
 * run with the same arguments. Not under tsx: tsx compiles with `keepNames`, which wraps every
 * closure sluice creates per batch in a naming call (about a tenth of its client time at batch 10)
 * that no build of sluice — the package's tsc output, a function's bundle — pays.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const outfile = fileURLToPath(new URL('./.run.mjs', import.meta.url));
await build({
  entryPoints: [fileURLToPath(new URL('./run.ts', import.meta.url))],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
