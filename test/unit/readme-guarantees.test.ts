/**
 * The Guarantees table (in the README, or the doc page it moved to) names, for every promise, the test files and test names behind it.
 * This keeps the names true: every file a row names exists, and every quoted test name (the parts of
 * it that are written out: `…` stands for the rest, `›` separates a describe block from its test) is
 * found in one of the files the row names. A renamed or deleted test fails here until the README
 * says what proves the promise now.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Shorter written-out parts (`ioredis: …`) are too generic to look for. */
const MIN_FRAGMENT = 15;

/** Every test file, as a path from the repository root. */
function testFiles(): string[] {
  return (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `test/${file.split('\\').join('/')}`);
}

function guaranteeRows(): { promise: string; testedBy: string }[] {
  // The section lives in the README or in one of the docs it links to (docs/*.md).
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`)].filter(
    (file) => file.endsWith('.md'),
  );
  const texts = pages.map((file) => readFileSync(join(ROOT, file), 'utf8'));
  const page = texts.find((text) => /^## Guarantees$/m.test(text)) ?? '';
  const section = page.split(/^## Guarantees$/m)[1]?.split(/^## /m)[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| promise') && !line.startsWith('|---'))
    .map((line) => {
      const cells = line.split(' | ');
      return { promise: (cells[0] ?? '').slice(2), testedBy: cells.at(-1) ?? '' };
    });
}

const ALL = testFiles();
const rows = guaranteeRows();

describe("the README's Guarantees name tests that exist", () => {
  it('the table has its rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
  });

  it.each(rows)('$promise', ({ testedBy }) => {
    const named = [...testedBy.matchAll(/`((?:test\/[\w/-]+\/)?[\w-]+\.test\.ts)`/g)].map(
      (m) => m[1] as string,
    );
    expect(named.length, 'the row names no test file').toBeGreaterThan(0);
    const files = named.map((name) => {
      const found = name.includes('/')
        ? ALL.filter((f) => f === name)
        : ALL.filter((f) => f.endsWith(`/${name}`));
      expect(found, `${name}: no such test file (or more than one)`).toHaveLength(1);
      return found[0] as string;
    });
    const sources = files.map((file) => readFileSync(join(ROOT, file), 'utf8'));
    for (const [, name] of testedBy.matchAll(/"([^"]+)"/g)) {
      for (const fragment of (name as string).split(/…| › /)) {
        const text = fragment.trim().replace(/[,:;]$/, '');
        if (text.length < MIN_FRAGMENT) continue;
        expect(
          sources.some((source) => source.includes(text)),
          `"${text}" is in none of ${files.join(', ')}`,
        ).toBe(true);
      }
    }
  });
});
