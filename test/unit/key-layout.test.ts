/**
 * The key layout is stored data: renaming a key strands what deployments already keep under the old
 * name. This is the guard, kept as a table in the test rather than a snapshot (a snapshot is
 * rewritten with `-u` in the same commit that breaks it):
 *
 * 1. every key kind sluice writes, built by the library's own functions, matches its pattern here;
 * 2. every source line that builds a key from `KEY_PREFIX` is one this table knows (a new key kind
 *    cannot slip in beside it);
 * 3. the patterns' fingerprint is the one recorded for {@link LAYOUT_VERSION}, and
 *    docs/upgrading.md's last `## Key layout version N` section is that version and lists exactly
 *    these patterns.
 *
 * So a layout change fails here until it gets a new version: a new fingerprint below, and a new
 * `## Key layout version N+1` section in docs/upgrading.md saying what it means for stored data.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEY_PREFIX, streamKeys } from '../../src/core/keys.js';
import { declaredGroupsKey, partitionCountKey, partitionKeys } from '../../src/core/partitions.js';
import { signatureKey } from '../../src/http/signature.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The current layout's version: the last `## Key layout version N` heading of docs/upgrading.md. */
const LAYOUT_VERSION = 5;
/** sha256 (first 16 hex digits) of each version's sorted patterns. Append; never rewrite. */
const LAYOUT_FINGERPRINTS: Readonly<Record<number, string>> = {
  1: 'e6a2581a622ed092',
  2: '6408c6b82bc09ea1',
  3: '8af52c25ba0b88ff',
  4: '638480c5ef0b35e6',
  5: '353b61687555f270',
};

const SAMPLE = {
  topic: 'orders',
  group: 'billing',
  key: 'order-7',
  index: '1',
  id: '1700000000000-0',
  replay: 'ab12',
  tag: 'orders#2.31',
};

/** Every key kind: what it holds, its pattern (placeholders in <>), and the key the library builds for SAMPLE. */
const LAYOUT: readonly { kind: string; pattern: string; built: string }[] = (() => {
  const k = streamKeys({ topic: SAMPLE.topic });
  const p = partitionKeys(SAMPLE.topic, 2, 4);
  return [
    { kind: 'stream', pattern: 'sluice:{<topic>}', built: k.stream },
    {
      kind: 'dead letters of a group',
      pattern: 'sluice:{<topic>}:dlq:<group>',
      built: k.deadLetters(SAMPLE.group),
    },
    { kind: 'idempotency record', pattern: 'sluice:{<topic>}:idem:<key>', built: k.idempotency(SAMPLE.key) },
    {
      kind: 'batch idempotency record',
      pattern: 'sluice:{<topic>}:idem-batch:<index>:<key>',
      built: k.batchIdempotency(SAMPLE.key, 1),
    },
    {
      kind: 'processed mark (idempotent handlers)',
      pattern: 'sluice:{<topic>}:done:<group>:<id>',
      built: k.processed(SAMPLE.group, SAMPLE.id),
    },
    {
      kind: 'lease (ordered drains)',
      pattern: 'sluice:{<topic>}:lease:<group>',
      built: k.lease(SAMPLE.group),
    },
    {
      kind: 'retry schedule of a group',
      pattern: 'sluice:{<topic>}:retry:<group>',
      built: k.retrySchedule(SAMPLE.group),
    },
    { kind: 'delayed messages (schedule)', pattern: 'sluice:{<topic>}:scheduled', built: k.scheduled },
    {
      kind: 'delayed messages (fields)',
      pattern: 'sluice:{<topic>}:scheduled:msgs',
      built: k.scheduledMessages,
    },
    {
      kind: 'drains of a group (event-driven mode)',
      pattern: 'sluice:{<topic>}:drains:<group>',
      built: k.drains(SAMPLE.group),
    },
    {
      kind: 'drain history of a group (per-minute buckets)',
      pattern: 'sluice:{<topic>}:history:<group>',
      built: k.history(SAMPLE.group),
    },
    {
      kind: 'last drain reports of a group',
      pattern: 'sluice:{<topic>}:reports:<group>',
      built: k.reports(SAMPLE.group),
    },
    {
      kind: 'rate limit of a group (token bucket)',
      pattern: 'sluice:{<topic>}:rate:<group>',
      built: k.rate(SAMPLE.group),
    },
    {
      kind: 'partition count',
      pattern: 'sluice:{<topic>}:partitions',
      built: partitionCountKey(SAMPLE.topic),
    },
    { kind: 'declared groups', pattern: 'sluice:{<topic>}:groups', built: declaredGroupsKey(SAMPLE.topic) },
    {
      kind: 'signature replay record',
      pattern: 'sluice:sig:<replay>',
      built: signatureKey(SAMPLE.topic, 'ab12'),
    },
    { kind: 'partition stream', pattern: 'sluice:{<tag>}', built: p.stream },
    {
      kind: 'partition dead letters',
      pattern: 'sluice:{<tag>}:dlq:<group>',
      built: p.deadLetters(SAMPLE.group),
    },
    { kind: 'partition lease', pattern: 'sluice:{<tag>}:lease:<group>', built: p.lease(SAMPLE.group) },
  ];
})();

/** Source lines that build keys from KEY_PREFIX, by file: each is one of the kinds above. */
const KEY_BUILDERS: Readonly<Record<string, number>> = {
  'src/core/keys.ts': 2, // the stream; the companion prefix of every per-topic key
  'src/core/partitions.ts': 3, // partition count, declared groups, partition stream
  'src/http/signature.ts': 1, // signature replay record
  'src/cli/discover.ts': 2, // reads only: the SCAN pattern of partition counts, the prefix test
};

/** How a key is built from the prefix in src: a template literal starting with it. */
const BUILDER = ['`$', '{KEY_PREFIX}'].join('');

function fill(pattern: string): string {
  return pattern.replace(/<([a-z]+)>/g, (_, name: keyof typeof SAMPLE) => SAMPLE[name]);
}

function fingerprint(patterns: readonly string[]): string {
  return createHash('sha256')
    .update([...patterns].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** Every TypeScript file under src/, as a path from the repository root. */
function sourceFiles(): string[] {
  return (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => `src/${file.split('\\').join('/')}`);
}

describe('the key layout (stored data: a change needs a migration note)', () => {
  it.each(LAYOUT)('$kind: $pattern', ({ pattern, built }) => {
    expect(built).toBe(fill(pattern));
    expect(built.startsWith(`${KEY_PREFIX}:`)).toBe(true);
  });

  it('partition tags are part of the layout: the streams of a topic of 4 partitions', () => {
    expect([0, 1, 2, 3].map((i) => partitionKeys('orders', i, 4).stream)).toEqual([
      'sluice:{orders#0.22}',
      'sluice:{orders#1.1}',
      'sluice:{orders#2.31}',
      'sluice:{orders#3.1}',
    ]);
  });

  it('every source line that builds a key from KEY_PREFIX is accounted for', () => {
    const found: Record<string, number> = {};
    for (const file of sourceFiles()) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      const builders = lines.filter((line) => line.includes(BUILDER)).length;
      if (builders > 0) found[file] = builders;
    }
    expect(found).toEqual(KEY_BUILDERS);
  });

  it(`is version ${LAYOUT_VERSION}: its fingerprint is recorded and docs/upgrading.md's last layout section lists exactly these patterns`, () => {
    const patterns = LAYOUT.map((row) => row.pattern);
    expect(new Set(patterns).size).toBe(patterns.length);
    expect(fingerprint(patterns), 'a layout change needs a new version (see the file comment)').toBe(
      LAYOUT_FINGERPRINTS[LAYOUT_VERSION],
    );
    expect(new Set(Object.values(LAYOUT_FINGERPRINTS)).size).toBe(Object.keys(LAYOUT_FINGERPRINTS).length);

    const doc = readFileSync(join(ROOT, 'docs/upgrading.md'), 'utf8');
    const headings = [...doc.matchAll(/^## Key layout version (\d+)\b.*$/gm)];
    expect(
      headings.map((h) => Number(h[1])),
      'one section per version, in order',
    ).toEqual(Array.from({ length: LAYOUT_VERSION }, (_, i) => i + 1));
    const last = headings.at(-1);
    const section = doc.slice((last?.index ?? 0) + (last?.[0].length ?? 0)).split(/^## /m)[0] ?? '';
    const documented = [...section.matchAll(/`(sluice:[^`]+)`/g)].map((m) => m[1]);
    expect([...new Set(documented)].sort()).toEqual([...patterns].sort());
  });
});
