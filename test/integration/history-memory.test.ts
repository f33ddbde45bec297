/**
 * The drain history's memory is bounded whatever the rate of drains: a ring of at most 1440
 * per-minute buckets and the last 50 reports per group and stream. A bucket from a day ago is
 * started over by the next write to its slot and ignored by readers. (Measured on the test's Redis
 * with MEMORY USAGE; the figures are in docs/operations.md.)
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/core/driver.js';
import { HISTORY_MINUTES, HISTORY_REPORTS, RECORD_DRAIN } from '../../src/core/history-scripts.js';
import { streamKeys } from '../../src/core/keys.js';
import { topicHistory } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

const DAY_MS = 86_400_000;
const single = DRIVERS[0] as (typeof DRIVERS)[number];

/** A report as large as a real one (a partition's, with every count). */
const REPORT = JSON.stringify({
  consumer: 'drain-1733462400000-a1b2c3d4',
  read: 100,
  reclaimed: 2,
  acked: 98,
  failed: 1,
  timedOut: 0,
  deadLettered: 1,
  unfinished: 0,
  released: 0,
  lostToTrim: 0,
  skipped: 0,
  promoted: 0,
  consumersRemoved: 1,
  trimmed: 0,
  droppedUnconsumed: 0,
  durationMs: 50_000,
  stoppedBy: 'budget',
  lag: 12_345,
  pending: 3,
});

describe('drain history memory', () => {
  const driver = single.create();
  const redis = single.redis();

  /** Records one cycle of `durationMs` with `count` of each count, as a drain does. */
  const record = (topic: string, durationMs: number, count: number) => {
    const keys = streamKeys({ topic });
    return runScript(
      driver,
      RECORD_DRAIN,
      [keys.history('g'), keys.reports('g')],
      [durationMs, 0, REPORT, count, count, count, count, count, HISTORY_REPORTS, HISTORY_MINUTES],
    );
  };

  it('a day of drains, every minute busy, then 300 more cycles: 1440 buckets and 50 reports at most', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    // A cycle as long as the day fills every bucket of the ring at once (its counts spread over them).
    await record(topic, DAY_MS, 144_000);
    expect(await redis.hlen(keys.history('g'))).toBe(HISTORY_MINUTES);
    const typical = await redis.memory('USAGE', keys.history('g'), 'SAMPLES', 0);
    for (let i = 0; i < 300; i++) await record(topic, 50_000, 1_000_000);
    expect(await redis.hlen(keys.history('g'))).toBe(HISTORY_MINUTES);
    expect(await redis.llen(keys.reports('g'))).toBe(HISTORY_REPORTS);
    const history = await redis.memory('USAGE', keys.history('g'), 'SAMPLES', 0);
    const reports = await redis.memory('USAGE', keys.reports('g'), 'SAMPLES', 0);
    expect(typical).toBeLessThan(140_000);
    expect(history).toBeLessThan(170_000);
    expect(reports).toBeLessThan(20_000);
  });

  it('a bucket a day old is ignored by readers and started over by the next write to its slot', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    await publishBatch(driver, topic, [{ data: 1 }]);
    await redis.xgroup('CREATE', keys.stream, 'g', '0');
    // Not in the last seconds of a minute: the write below must land in the minute read here.
    await waitFor(async () => Number((await redis.time())[0]) % 60 < 55, {
      timeoutMs: 10_000,
      what: 'a minute with time left',
    });
    const now = Number((await redis.time())[0]) * 1_000;
    const minute = Math.floor(now / 60_000);
    const slot = String(minute % HISTORY_MINUTES);
    // What the slot held a day ago: 7 acked.
    await redis.hset(keys.history('g'), slot, `${minute - HISTORY_MINUTES} 7 0 0 7 0 1 0 1000`);
    expect((await topicHistory(driver, topic)).groups[0]?.history).toEqual([]);
    await record(topic, 0, 2);
    const fresh = (await redis.hget(keys.history('g'), slot)) ?? '';
    expect(fresh.split(' ').slice(0, 3)).toEqual([String(minute), '2', '2']);
    expect((await topicHistory(driver, topic)).groups[0]?.history.map((b) => b.acked)).toEqual([2]);
  });
});
