/**
 * A cold start's first cycle: what it sends to Redis. A container that does not know its topic's
 * layout or its group yet reads the one and creates the other in the cycle's first reclaim script
 * (before anything is promoted or read), not in round trips of their own; a partitioned topic's
 * plain stream is left alone, and its partitions are drained.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { TIDY } from '../../src/core/cycle-scripts.js';
import { declareTopic } from '../../src/core/declare.js';
import type { Driver } from '../../src/core/driver.js';
import { RECORD_DRAIN } from '../../src/core/history-scripts.js';
import { streamKeys } from '../../src/core/keys.js';
import { partitionCountKey } from '../../src/core/partitions.js';
import { RECLAIM } from '../../src/core/schedule-scripts.js';
import { CREATE_GROUPS, DECLARE_TOPIC } from '../../src/core/scripts.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, groupInfo, randomTopic, recordingLogger, testDrainOptions } from '../support/fixtures.js';
import { recordingDriver } from '../support/recording-driver.js';

/** The driver, recording each call (the scripts a cycle may run by name, else the method). */
function recording(driver: Driver) {
  return recordingDriver(driver, { RECLAIM, DECLARE_TOPIC, CREATE_GROUPS, TIDY, RECORD_DRAIN });
}

describe.each(DRIVERS)('a cold first cycle over $name', (kind) => {
  const redis = kind.redis();

  // 3 calls: the tidy script records the cycle in its group's history (4 when the record was a call of its own).
  it('over a new topic: 3 calls (reclaim reading the layout and creating the group, read, tidy recording the history)', async () => {
    const topic = randomTopic('cold');
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
    );
    expect(report).toMatchObject({ stoppedBy: 'idle', read: 0, skipped: 0, lag: 0, pending: 0 });
    expect(calls).toEqual(['RECLAIM', 'readGroup', 'TIDY']);
    expect(await groupInfo(redis, streamKeys({ topic }).stream, 'g')).toMatchObject({ consumers: 0 });
    const { reports } = streamKeys({ topic });
    const [recorded] = await redis.lrange(reports('g'), 0, 0);
    expect(JSON.parse((recorded as string).replace(/^\d+ /, ''))).toEqual({
      ...(({ stream: _s, group: _g, ...kept }) => kept)(report),
    });
  });

  it('over a published topic (count 1 recorded): the same 3 calls, then the layout is remembered', async () => {
    const topic = randomTopic('cold');
    await publish(kind.create(), topic, { data: 'first' }, { groups: ['g'] });
    const seen: unknown[] = [];
    const { driver, calls } = recording(kind.create());
    const options = testDrainOptions(topic, 'g', (message) => void seen.push(message.data), {
      idleExitMs: 0,
    });
    expect(await drain(driver, options)).toMatchObject({ read: 1, acked: 1, skipped: 0 });
    expect(seen).toEqual(['first']);
    // The scripts: no layout script of its own (reads and acks may overlap, in either order).
    expect(calls.filter((call) => call === call.toUpperCase())).toEqual(['RECLAIM', 'TIDY']);
    calls.length = 0;
    expect(await drain(driver, options)).toMatchObject({ stoppedBy: 'idle', read: 0 });
    expect(calls).toEqual(['RECLAIM', 'readGroup', 'TIDY']);
  });

  it('over a partitioned topic: its partitions drained, its plain stream never made, nothing warned', async () => {
    const topic = randomTopic('cold');
    const messages = Array.from({ length: 12 }, (_, i) => ({ data: i, key: `k${i}` }));
    await declareTopic(kind.create(), topic, { partitions: 3, groups: ['g'] });
    await publishBatch(kind.create(), topic, messages);
    const seen: unknown[] = [];
    const { logger, lines } = recordingLogger();
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', (message) => void seen.push(message.data), { idleExitMs: 0, logger }),
    );
    expect(report).toMatchObject({ read: 12, acked: 12, stoppedBy: 'idle' });
    expect(report.partitions?.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual(messages.map((m) => m.data));
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
    expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
    // The plain stream's reclaim read the count (and did nothing): no layout script after it.
    expect(calls[0]).toBe('RECLAIM');
    expect(calls).not.toContain('DECLARE_TOPIC');
  });

  it('over a topic whose recorded count is not one: the layout error, nothing written', async () => {
    const topic = randomTopic('cold');
    await redis.set(partitionCountKey(topic), 'four');
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
    );
    expect(report).toMatchObject({ stoppedBy: 'error', read: 0 });
    // The reclaim found a count other than 1 and did nothing; the layout script said what is wrong.
    expect(calls).toEqual(['RECLAIM', 'DECLARE_TOPIC', 'RECORD_DRAIN']);
    expect(report.error).toMatch(/not a partition count/);
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
  });

  it('a delayed message already due is promoted after the group was created at "$": delivered, none skipped', async () => {
    const topic = randomTopic('cold');
    const { scheduled } = streamKeys({ topic });
    await publish(kind.create(), topic, { data: 'due', delayMs: 60_000 });
    // Due now: its time moved back rather than waited for.
    const [id] = await redis.zrange(scheduled, 0, 0);
    await redis.zadd(scheduled, 1, id as string);
    const seen: unknown[] = [];
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', (message) => void seen.push(message.data), { idleExitMs: 0 }),
    );
    expect(seen).toEqual(['due']);
    expect(report).toMatchObject({ promoted: 1, read: 1, acked: 1, skipped: 0 });
    expect(calls).not.toContain('CREATE_GROUPS');
  });
});
