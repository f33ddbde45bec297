/**
 * `sluice drain --handler <module>` with a module exporting `batchHandler`: one call per batch, its
 * failures retried or dead-lettered, the rest acknowledged; a module exporting both handlers is a
 * usage error. The CLI runs as a child process (tsx) against the test server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { arrangeBatch, pendingOf } from '../support/batch-kit.js';
import { sluice } from '../support/cli-run.js';
import { newDriver, rawClient } from '../support/fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const driver = newDriver();
const scratch = mkdtempSync(join(tmpdir(), 'sluice-batch-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('sluice drain with a batch handler module', () => {
  it('calls `batchHandler` once per batch: failures retried or dead-lettered, the rest acknowledged', async () => {
    const { topic, keys, ids } = await arrangeBatch(redis, driver, 4);
    const module = join(scratch, 'batch.mjs');
    writeFileSync(
      module,
      `export async function batchHandler(messages) {
        if (messages.length !== 4) throw new Error('expected one batch of 4, got ' + messages.length);
        return { failed: [{ id: messages[1].id }, { id: messages[2].id, permanent: true }] };
      }\n`,
    );
    const run = await sluice(['drain', '-t', topic, '-g', 'g', '--handler', module, '--idle-exit-ms', '100']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ read: 4, acked: 2, failed: 1, deadLettered: 1 });
    expect([...(await pendingOf(redis, keys.stream)).keys()]).toEqual([ids[1]]);
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(1);
  });

  it('a module exporting both `handler` and `batchHandler` is a usage error', async () => {
    const module = join(scratch, 'both.mjs');
    writeFileSync(module, 'export const handler = () => {};\nexport const batchHandler = () => {};\n');
    const run = await sluice(['drain', '-t', 'x', '-g', 'g', '--handler', module]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('exports both `handler` and `batchHandler`');
  });
});
