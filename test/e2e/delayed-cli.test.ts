/**
 * Delayed messages from the `sluice` CLI as a user runs it: `publish --delay-ms / --deliver-at`, a
 * batch line's `delayMs`, the refusals, and the SCHEDULED / NEXT columns of `sluice stats`.
 */
import { expect, it, vi } from 'vitest';
import { streamKeys } from '../../src/core/keys.js';
import type { TopicStats } from '../../src/ops/index.js';
import { sluice } from '../support/cli-run.js';
import { randomTopic, rawClient } from '../support/fixtures.js';

// Each test starts a few processes (tsx compiles on the fly): slow on a loaded 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const HOUR = 3_600_000;

it('publish --delay-ms and --deliver-at schedule; a batch line may carry delayMs; stats shows them', async () => {
  const topic = randomTopic();
  const keys = streamKeys({ topic });
  const [delayed, at, batch] = await Promise.all([
    sluice(['publish', '-t', topic, '{"n":1}', '--delay-ms', String(HOUR), '--json']),
    sluice(['publish', '-t', topic, '{"n":2}', '--deliver-at', '2099-01-01T00:00:00Z']),
    sluice(['publish', '-t', topic, '--batch'], { input: `{"data":3}\n{"data":4,"delayMs":${2 * HOUR}}\n` }),
  ]);
  expect(delayed.code).toBe(0);
  expect(JSON.parse(delayed.stdout)).toMatchObject({ id: expect.stringMatching(/^s-\d+-/), scheduled: true });
  // Past the 7-day limit: refused before anything is written.
  expect(at.code).not.toBe(0);
  expect(at.stderr).toMatch(/`deliverAt` is \d+ ms from now; the limit is 604800000 \(maxDelayMs\)/);
  expect(batch.code).toBe(0);
  expect(batch.stderr).toMatch(/published 2 of 2 messages .* \(1 scheduled for later delivery\)/);
  const soon = new Date(Date.now() + 3 * HOUR).toISOString();
  const iso = await sluice(['publish', '-t', topic, '"x"', '--deliver-at', soon]);
  expect(iso.stdout).toMatch(new RegExp(`^s-${Date.parse(soon)}-\\S+ \\(scheduled for ${soon}\\)\\n$`));
  expect(await redis.xlen(keys.stream)).toBe(1);
  expect(await redis.zcard(keys.scheduled)).toBe(3);

  const [table, json] = await Promise.all([
    sluice(['stats', '-t', topic]),
    sluice(['stats', '-t', topic, '--json']),
  ]);
  expect(table.stdout).toMatch(
    /^TOPIC\s+GROUP\s+LENGTH\s+LAG\s+PENDING\s+OLDEST\s+CONSUMERS\s+DEAD\s+SCHEDULED\s+NEXT/,
  );
  expect(table.stdout).toMatch(new RegExp(`${topic}\\s+\\(no group\\)\\s+1(\\s+-){5}\\s+3\\s+in 59m5\\ds`));
  const [stats] = JSON.parse(json.stdout) as TopicStats[];
  expect(stats).toMatchObject({ scheduled: 3, nextDueAt: expect.any(Number) });
});

it('refuses bad flags: a negative or fractional --delay-ms, both flags, flags with --batch', async () => {
  const topic = randomTopic();
  const runs = await Promise.all([
    sluice(['publish', '-t', topic, '1', '--delay-ms', '-5']),
    sluice(['publish', '-t', topic, '1', '--delay-ms', '1.5']),
    sluice(['publish', '-t', topic, '1', '--delay-ms', '5', '--deliver-at', '2030-01-01T00:00:00Z']),
    sluice(['publish', '-t', topic, '--batch', '--delay-ms', '5'], { input: '{"data":1}\n' }),
  ]);
  for (const run of runs) expect(run.code).not.toBe(0);
  expect(runs[1]?.stderr).toMatch(/--delay-ms.*Expected a whole number of milliseconds/);
  expect(runs[2]?.stderr).toMatch(/`delayMs` or `deliverAt`, not both/);
  expect(runs[3]?.stderr).toMatch(/--delay-ms and --deliver-at apply to one message/);
  expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
  expect(await redis.zcard(streamKeys({ topic }).scheduled)).toBe(0);
});
