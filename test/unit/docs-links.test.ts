/**
 * Every relative link of the README, docs/*.md and bench/README.md leads somewhere: the file (or
 * folder) exists, and an anchor (`page.md#heading`, `#heading`) names a heading of that page, slugged
 * as GitHub does. Links to other sites are not followed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PAGES = [
  'README.md',
  'bench/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** The text outside fenced code blocks, inline code spans kept as plain words. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`+([^`\n]*)`+/g, (_, code: string) => code.replace(/[[\]()]/g, ' '));
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (a repeated one gets `-1`, `-2`, … as on GitHub). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, text] of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(text as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** What is wrong with each relative link of `markdown` (a page at `page`, a path from the root). */
function brokenLinks(page: string, markdown: string, read = readPage): string[] {
  const problems: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const link = target as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:, …
    const [path = '', anchor] = link.split('#', 2);
    const file = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), decodeURI(path)));
    const text = read(file);
    if (text === undefined) {
      problems.push(`${link}: ${file} does not exist`);
      continue;
    }
    if (anchor !== undefined && !anchors(text).has(decodeURI(anchor).toLowerCase())) {
      problems.push(`${link}: ${file} has no heading #${anchor}`);
    }
  }
  return problems;
}

/** A page's text; '' for a file that is not Markdown or a folder (no anchors); undefined if missing. */
function readPage(file: string): string | undefined {
  const path = join(ROOT, file);
  if (file.startsWith('..') || !existsSync(path)) return undefined;
  if (statSync(path).isDirectory() || !file.endsWith('.md')) return '';
  return readFileSync(path, 'utf8');
}

describe('links between the docs', () => {
  it('covers the README, the docs and the benchmarks page', () => {
    expect(PAGES).toContain('docs/README.md');
    expect(PAGES.length).toBeGreaterThan(8);
  });

  it('docs/README.md lists every page of docs/', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    for (const page of PAGES.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')) {
      expect(index, page).toContain(`](${page.slice('docs/'.length)}`);
    }
  });

  it.each(PAGES)('%s: every relative link resolves', (page) => {
    expect(brokenLinks(page, readFileSync(join(ROOT, page), 'utf8'))).toEqual([]);
  });

  it('finds a missing file, a missing anchor, and passes what exists', () => {
    const page = [
      '# Page B',
      '[ok](a.md#the-sluiceops-entry-one) [ok](../README.md#title-1) [ok](#page-b) [web](https://x.y/#z)',
      '[gone](c.md) [no anchor](a.md#nothing) ![img](../missing.png)',
      '```md\n[in code](nowhere.md)\n```',
    ].join('\n');
    const pages: Record<string, string> = {
      'docs/a.md': '# Page A\n\n## The `sluice/ops` entry: (one)\n',
      'docs/b.md': page,
      'README.md': '# Title\n\n## Title\n',
    };
    expect(brokenLinks('docs/b.md', page, (file) => pages[file])).toEqual([
      'c.md: docs/c.md does not exist',
      'a.md#nothing: docs/a.md has no heading #nothing',
      '../missing.png: missing.png does not exist',
    ]);
  });
});
