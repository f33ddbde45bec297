/**
 * The drain history from the `sluice` CLI as a user runs it: `stats --json` has each group's
 * `rates`, `history` and `drains`; the table prints a second table (running drains, rates, the last
 * drain); `--watch` refreshes it.
 */
import { expect, it, vi } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { declareTopic } from '../../src/core/declare.js';
import { PermanentError } from '../../src/core/errors.js';
import type { TopicStats } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { finished, sluice, start } from '../support/cli-run.js';
import { newDriver, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { notNearMinuteEnd } from '../support/history-kit.js';

// Each test starts a process or two (tsx compiles on the fly): slow on a loaded 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const driver = newDriver();

/** A topic whose group `g` was drained once: 3 acknowledged, 1 dead-lettered. */
async function drained() {
  await notNearMinuteEnd();
  const topic = randomTopic('hist');
  await declareTopic(driver, topic, { groups: ['g'] });
  await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 3 }, { data: 'poison' }]);
  const report = await drain(
    driver,
    testDrainOptions(topic, 'g', async (m) => {
      if (m.data === 'poison') throw new PermanentError('cannot parse');
    }),
  );
  return { topic, report };
}

it('stats --json: rates, history and drains per group; the table prints them', async () => {
  const { topic, report } = await drained();
  const [json, text] = await Promise.all([
    sluice(['stats', '-t', topic, '--json']),
    sluice(['stats', '-t', topic]),
  ]);
  expect(json.code).toBe(0);
  const [stats] = JSON.parse(json.stdout) as TopicStats[];
  const g = stats?.groups[0];
  expect(g?.rates?.['1m']).toEqual({ processed: 0.05, failed: 0, deadLettered: 0.017 });
  expect(g?.history).toEqual([
    expect.objectContaining({ acked: 3, deadLettered: 1, read: 4, cycles: 1, errors: 0 }),
  ]);
  expect(g?.drains).toMatchObject({
    running: 0,
    last: { consumer: report.consumer, stoppedBy: 'idle', acked: 3 },
    recent: [expect.objectContaining({ consumer: report.consumer })],
  });

  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(
    /\n\nTOPIC\s+GROUP\s+RUNNING\s+PROCESSED\/S 1m 5m 15m\s+FAILED\/S\s+DEAD\/S\s+LAST DRAIN\n/,
  );
  expect(text.stdout).toMatch(
    new RegExp(
      `${topic}\\s+g\\s+0\\s+0\\.05 0\\.01 0\\.00\\s+0\\s+0\\.02\\s+\\d+(ms|s) ago, took \\d+ms, idle\\n`,
    ),
  );
});

it('stats --watch shows the rates on every refresh', async () => {
  const { topic } = await drained();
  const child = start(['stats', '-t', topic, '--watch', '0.2']);
  const done = finished(child);
  let printed = '';
  await new Promise<void>((twice) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.split('PROCESSED/S').length > 2 && printed.endsWith('\n\n')) twice();
    });
  });
  child.kill('SIGINT');
  const run = await done;
  expect(run.code).toBe(0);
  const refreshes = run.stdout.split(/^sluice stats, /m).slice(1);
  expect(refreshes.length).toBeGreaterThanOrEqual(2);
  for (const refresh of refreshes) expect(refresh).toMatch(new RegExp(`${topic}\\s+g\\s+0\\s+0\\.05 `));
});
