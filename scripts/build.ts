/**
 * `npm run build`: dist/ from nothing, for both module systems.
 *
 * - dist/: ES modules and their declarations, by tsc (tsconfig.build.json), CLI included.
 * - dist/cjs/: the library again as CommonJS (esbuild, one file per source file, so every subpath
 *   shares one copy of each module and `instanceof SluiceError` holds across them), with the same
 *   declarations and a package.json `{"type":"commonjs"}` that makes Node and TypeScript read both as
 *   CommonJS. Packages (drivers, dependencies) stay `require()`s, never bundled in. The CLI is not in
 *   it: it is an ES module run by bin/sluice.js.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const cjs = join(dist, 'cjs');

/**
 * Files below `dir` (relative paths) that `keep` accepts, never below the CLI, the CJS output or the
 * dashboard's browser script (inlined in the page by scripts/build-dashboard.ts, not a module of the library).
 */
function filesBelow(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => !/^(cli|cjs|http\/dashboard\/browser)(\/|$)/.test(path) && keep(path))
    .sort();
}

rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

await build({
  entryPoints: filesBelow(src, (path) => path.endsWith('.ts') && !path.endsWith('.d.ts')).map((path) =>
    join(src, path),
  ),
  outbase: src,
  outdir: cjs,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  bundle: false,
  logLevel: 'warning',
  // CommonJS has no import.meta: esbuild would replace it with {} and only warn.
  logOverride: { 'empty-import-meta': 'error' },
});

for (const path of filesBelow(dist, (file) => file.endsWith('.d.ts'))) {
  mkdirSync(dirname(join(cjs, path)), { recursive: true });
  copyFileSync(join(dist, path), join(cjs, path));
}
writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
