/**
 * The README's "As a library" example, run as written (imports pointed at the source, a random
 * topic instead of `orders`): it must deliver what it publishes on its first drain.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { finished, root, start } from '../support/cli-run.js';
import { randomTopic } from '../support/fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The first ```ts block after `heading` in the README. */
function exampleAfter(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  expect(at).toBeGreaterThan(-1);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block?.[1]) throw new Error(`no TypeScript example after ${heading}`);
  return block[1];
}

it('the "As a library" example delivers what it publishes to its group on the first drain', async () => {
  const topic = randomTopic('readme');
  const example = exampleAfter('### As a library')
    .replace("from 'sluice';", `from '${join(root, 'src/index.ts')}';`)
    .replace("from 'sluice/ioredis';", `from '${join(root, 'src/drivers/ioredis.ts')}';`)
    .replaceAll("'orders'", `'${topic}'`)
    .replace('/* … */', 'seen.push(message.data);');
  expect(example).toContain('seen.push');
  const program = [
    'const orders = [{ orderId: 1 }, { orderId: 2 }];',
    'const seen: unknown[] = [];',
    example,
    'const report = await handler(null, { getRemainingTimeInMillis: () => 2_600 });',
    'console.log(JSON.stringify({ read: report.read, acked: report.acked, skipped: report.skipped, seen }));',
    'await driver.close();',
  ].join('\n');
  const file = join(scratch, 'example.mts');
  writeFileSync(file, program);
  const run = await finished(start([], {}, ['--import', 'tsx', file]));
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(result).toEqual({
    read: 3,
    acked: 3,
    skipped: 0,
    seen: [{ orderId: 42 }, { orderId: 1 }, { orderId: 2 }],
  });
});
