/**
 * Test support stays in test/: no file of the library, the app, the scripts, the benchmarks or the
 * dev tools imports from test/ (the local Redis, cluster and REST launchers live in dev/, which
 * `npm start`, the tests and the benchmarks share).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { root } from '../support/cli-run.js';

const OUTSIDE_TEST = ['src', 'functions', 'api', 'scripts', 'bench', 'dev'];
const SPECIFIER =
  /(?:from|import|import\(|require\()\s*['"](\.{1,2}\/[^'"]+)['"]|new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => /\.(ts|mts|cts|js|mjs)$/.test(path) && !path.includes('node_modules'))
    .map((path) => join(dir, path));
}

it('no file outside test/ imports (or points at) a file in test/', () => {
  const offenders: string[] = [];
  for (const file of OUTSIDE_TEST.flatMap(sources)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2] ?? '';
      const target = relative(root, resolve(root, dirname(file), specifier));
      if (target.startsWith(`test/`)) offenders.push(`${file} → ${target}`);
    }
  }
  expect(offenders).toEqual([]);
});
