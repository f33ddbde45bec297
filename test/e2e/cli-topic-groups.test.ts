/**
 * `sluice topic create --group`: declares the groups that consume a topic, so that publishers create
 * them before the first message and the first drain misses nothing.
 */
import { describe, expect, it, vi } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { declaredGroupsKey } from '../../src/core/partitions.js';
import { publishBatch } from '../../src/publish/batch.js';
import { sluice } from '../support/cli-run.js';
import { newDriver, randomTopic, rawClient, testDrainOptions } from '../support/fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();

describe('sluice topic create --group', () => {
  it('creates and records the groups; a later publish reaches them; a group created late says what it skips', async () => {
    const topic = randomTopic('cli');
    const created = await sluice(['topic', 'create', topic, '-g', 'billing', '--group', 'audit', '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      topic,
      partitions: 1,
      groups: ['audit', 'billing'],
      created: [
        { group: 'billing', created: true, skipped: 0 },
        { group: 'audit', created: true, skipped: 0 },
      ],
    });
    expect((await redis.smembers(declaredGroupsKey(topic))).sort()).toEqual(['audit', 'billing']);

    await publishBatch(newDriver(), topic, [{ data: 1 }, { data: 2 }]);
    const report = await drain(
      newDriver(),
      testDrainOptions(topic, 'billing', async () => {}),
    );
    expect(report.read).toBe(2);

    const late = await sluice(['topic', 'create', topic, '-g', 'late']);
    expect(late.code).toBe(0);
    expect(late.stdout).toMatch(/group late: created; skips the 2 entries already in the stream/);
    expect(late.stdout).toMatch(/declared groups: audit, billing, late/);
  });

  it('refuses a bad group name (exit 2) and a create with nothing to declare, writing nothing', async () => {
    const topic = randomTopic('cli');
    const bad = await sluice(['topic', 'create', topic, '-g', 'no spaces']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--group must match/);
    const empty = await sluice(['topic', 'create', topic]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--partitions <count>, --group <name>, or both/);
    expect(await redis.exists(streamKeys({ topic }).stream, declaredGroupsKey(topic))).toBe(0);
  });
});
