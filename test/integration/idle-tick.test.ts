/**
 * An event-driven tick (the app's default) in requests: the probe records the report of a cycle it
 * ends in the group's history, and reads the topic's layout while the container does not know it,
 * so an idle tick is one request, cold or warm; a partitioned topic's plain stream is left alone.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { TIDY } from '../../src/core/cycle-scripts.js';
import { declareTopic } from '../../src/core/declare.js';
import type { Driver } from '../../src/core/driver.js';
import { RECORD_DRAIN } from '../../src/core/history-scripts.js';
import { streamKeys } from '../../src/core/keys.js';
import { RECLAIM } from '../../src/core/schedule-scripts.js';
import { CREATE_GROUPS, DECLARE_TOPIC } from '../../src/core/scripts.js';
import { PROBE } from '../../src/core/wake-scripts.js';
import { topicHistory } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic, recordingLogger, testDrainOptions } from '../support/fixtures.js';
import { recordingDriver } from '../support/recording-driver.js';

/** The driver, recording each call (the scripts a cycle may run by name, else the method). */
function recording(driver: Driver) {
  return recordingDriver(driver, { PROBE, RECLAIM, DECLARE_TOPIC, CREATE_GROUPS, TIDY, RECORD_DRAIN });
}

describe.each(DRIVERS)('an event-driven tick over $name', (kind) => {
  const redis = kind.redis();

  it('idle, cold then warm: one request each, the report recorded in the history', async () => {
    const topic = randomTopic('tick');
    await declareTopic(kind.create(), topic, { groups: ['g'] });
    const { logger, lines } = recordingLogger();
    const { driver, calls } = recording(kind.create());
    const options = testDrainOptions(topic, 'g', () => {}, { wake: {}, logger });
    const cold = await drain(driver, options);
    expect(cold).toMatchObject({ stoppedBy: 'idle', read: 0, lag: 0 });
    expect(calls).toEqual(['PROBE']);
    calls.length = 0;
    const warm = await drain(driver, options);
    expect(warm).toMatchObject({ stoppedBy: 'idle', read: 0, lag: 0 });
    expect(calls).toEqual(['PROBE']);

    const { groups } = await topicHistory(kind.create(), topic);
    expect(groups[0]?.drains.recent.map((r) => r.consumer)).toEqual([warm.consumer, cold.consumer]);
    expect(groups[0]?.drains.last).toMatchObject({ stoppedBy: 'idle', durationMs: warm.durationMs, lag: 0 });
    expect(groups[0]?.history.reduce((sum, b) => sum + b.cycles, 0)).toBe(2);
    expect(await redis.exists(streamKeys({ topic }).drains('g'))).toBe(0);
    expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  });

  it('with work: the probe, then the cycle, recorded once (by its tidy)', async () => {
    const topic = randomTopic('tick');
    await declareTopic(kind.create(), topic, { groups: ['g'] });
    await publishBatch(kind.create(), topic, [{ data: 1 }, { data: 2 }]);
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { wake: {}, idleExitMs: 0 }),
    );
    expect(report).toMatchObject({ read: 2, acked: 2, stoppedBy: 'idle' });
    const scripts = calls.filter((call) => call === call.toUpperCase());
    expect(scripts[0]).toBe('PROBE');
    expect(scripts.filter((call) => call === 'TIDY' || call === 'RECORD_DRAIN')).toEqual(['TIDY']);
    expect(scripts).not.toContain('DECLARE_TOPIC');
    const { groups } = await topicHistory(kind.create(), topic);
    expect(groups[0]?.drains.recent).toHaveLength(1);
    expect(groups[0]?.drains.last).toMatchObject({ consumer: report.consumer, acked: 2 });
  });

  it('a partitioned topic, cold: the probe reads its layout and leaves its plain stream alone', async () => {
    const topic = randomTopic('tick');
    await declareTopic(kind.create(), topic, { partitions: 3, groups: ['g'] });
    await publishBatch(
      kind.create(),
      topic,
      Array.from({ length: 9 }, (_, i) => ({ data: i, key: `k${i}` })),
    );
    const { logger, lines } = recordingLogger();
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { wake: {}, idleExitMs: 0, logger }),
    );
    expect(report).toMatchObject({ read: 9, acked: 9, stoppedBy: 'idle' });
    expect(report.partitions?.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(calls[0]).toBe('PROBE');
    expect(calls).not.toContain('DECLARE_TOPIC');
    const plain = streamKeys({ topic });
    expect(await redis.exists(plain.stream)).toBe(0);
    expect(await redis.exists(plain.drains('g'))).toBe(0);
    expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  });
});
