/**
 * Retry delays a handler chooses (`RetryLaterError`, or any error's `retryAfterMs`) and the group's
 * retry schedule that reclaim (XAUTOCLAIM) consults — over every driver.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_FIELDS } from '../../src/consume/dead-letters.js';
import { drain } from '../../src/consume/drain.js';
import {
  InvalidOptionError,
  MAX_RETRY_DELAY_MS,
  RetryLaterError,
  retryDelayOf,
} from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { fieldsToRecord } from '../../src/core/replies.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { measureLatency, slackMs } from '../support/latency.js';

describe('RetryLaterError', () => {
  it('takes a delay in ms (≥ 0, finite), capped at 12 hours; retryDelayOf reads it, or any error’s retryAfterMs', () => {
    expect(new RetryLaterError(1500).retryAfterMs).toBe(1500);
    expect(new RetryLaterError(1500)).toBeInstanceOf(Error);
    expect(new RetryLaterError(10 * MAX_RETRY_DELAY_MS).retryAfterMs).toBe(MAX_RETRY_DELAY_MS);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      expect(() => new RetryLaterError(bad)).toThrow(InvalidOptionError);
    }
    expect(() => new RetryLaterError(-5)).toThrow(/RetryLaterError needs a delay in ms.*got -5/);
    expect(retryDelayOf(new RetryLaterError(20))).toBe(20);
    expect(retryDelayOf(Object.assign(new Error('429'), { retryAfterMs: 750.4 }))).toBe(750);
    expect(retryDelayOf(Object.assign(new Error('bad'), { retryAfterMs: -3 }))).toBeUndefined();
    expect(retryDelayOf(new Error('plain'))).toBeUndefined();
    expect(retryDelayOf('text')).toBeUndefined();
  });
});

describe.each(DRIVERS)('retry delays over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  async function arrange() {
    const topic = randomTopic('retry');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
    return { topic, keys, schedule: keys.retrySchedule('g') };
  }

  /** The server's clock (ms): the schedule's scores are on it. */
  async function serverNow(): Promise<number> {
    const [seconds, micros] = (await redis.time()) as [string | number, string | number];
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('a chosen delay brings the message back in the same cycle, no earlier and about one read interval later, without holding back the others', async () => {
    const { topic, keys } = await arrange();
    const latency = await measureLatency(driver, keys.stream);
    const [first, ...rest] = await publishBatch(
      driver,
      topic,
      [1, 2, 3].map((n) => ({ data: n })),
    );
    const DELAY_MS = 400;
    const seen: { data: unknown; deliveries: number; at: number }[] = [];
    let failedAt = 0;
    const report = await drain(
      driver,
      testDrainOptions(
        topic,
        'g',
        (m) => {
          seen.push({ data: m.data, deliveries: m.deliveries, at: Date.now() });
          if (m.id === first?.id && m.deliveries === 1) {
            failedAt = Date.now();
            throw new RetryLaterError(DELAY_MS, 'downstream said 429');
          }
        },
        { budgetMs: 5_000, idleExitMs: 1_500, blockMs: 100 },
      ),
    );
    expect(seen.map((s) => [s.data, s.deliveries])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [1, 2],
    ]);
    const retriedAfter = (seen[3]?.at ?? 0) - failedAt;
    expect(retriedAfter).toBeGreaterThanOrEqual(DELAY_MS - 5);
    // About one read interval (blockMs 100, or a REST poll's back-off) after it is due.
    expect(retriedAfter).toBeLessThanOrEqual(DELAY_MS + 300 + slackMs(latency, 4));
    expect(report).toMatchObject({ read: 3, failed: 1, reclaimed: 1, acked: 3 });
    expect(rest).toHaveLength(2);
    expect(await redis.xpending(keys.stream, 'g')).toEqual([0, null, null, null]);
    expect(await redis.zcard(keys.retrySchedule('g'))).toBe(0);
  });

  it('a long delay: stale entries found by XAUTOCLAIM stay pending, their delivery count untouched, until the schedule says due', async () => {
    const { topic, keys, schedule } = await arrange();
    const { id } = await publish(driver, topic, { data: 'later' });
    const attempts: number[] = [];
    const handler = (m: { deliveries: number }) => {
      attempts.push(m.deliveries);
      if (m.deliveries === 1) throw Object.assign(new Error('rate limited'), { retryAfterMs: 60_000 });
    };
    const before = await serverNow();
    expect(await drain(driver, testDrainOptions(topic, 'g', handler))).toMatchObject({ failed: 1 });
    const due = Number(await redis.zscore(schedule, id));
    expect(due - before).toBeGreaterThanOrEqual(60_000);
    expect(due - (await serverNow())).toBeLessThanOrEqual(60_000);
    // Idle past a 1 ms visibility timeout: XAUTOCLAIM takes it, the schedule says not yet.
    for (let i = 0; i < 3; i++) {
      const report = await drain(driver, testDrainOptions(topic, 'g', handler, { visibilityTimeoutMs: 1 }));
      expect(report).toMatchObject({ reclaimed: 0, read: 0 });
    }
    expect(attempts).toEqual([1]);
    const [[, , , count]] = (await redis.xpending(keys.stream, 'g', '-', '+', 10)) as [
      [string, string, number, number],
    ];
    expect(count).toBe(1);
    // Due now: delivered once more, then gone from the schedule.
    await redis.zadd(schedule, (await serverNow()) - 1, id);
    const [[, owner]] = (await redis.xpending(keys.stream, 'g', '-', '+', 1)) as [[string, string]];
    await redis.xclaim(keys.stream, 'g', owner, 0, id, 'IDLE', 60_000, 'JUSTID');
    expect(await drain(driver, testDrainOptions(topic, 'g', handler))).toMatchObject({
      reclaimed: 1,
      acked: 1,
    });
    expect(attempts).toEqual([1, 2]);
    expect(await redis.exists(schedule)).toBe(0);
  });

  it('a chosen delay counts as a delivery: out of deliveries, the message is dead-lettered', async () => {
    const { topic, keys, schedule } = await arrange();
    const { id } = await publish(driver, topic, { data: 'again' });
    const handler = () => {
      throw new RetryLaterError(1);
    };
    const options = testDrainOptions(topic, 'g', handler, {
      maxDeliveries: 2,
      budgetMs: 3_000,
      idleExitMs: 500,
    });
    const report = await drain(driver, options);
    expect(report).toMatchObject({ read: 1, reclaimed: 1, failed: 1, deadLettered: 1 });
    const [[, fields]] = (await redis.xrange(keys.deadLetters('g'), '-', '+')) as [[string, string[]]];
    const letter = fieldsToRecord(fields);
    expect(letter[DEAD_LETTER_FIELDS.sourceId]).toBe(id);
    expect(letter[DEAD_LETTER_FIELDS.reason]).toBe('max-deliveries');
    expect(letter[DEAD_LETTER_FIELDS.error]).toMatch(/^RetryLaterError: retry in 1 ms/);
    expect(await redis.zcard(schedule)).toBe(0);
  });

  it('ordered: a chosen delay holds back the messages after it, which keep their order', async () => {
    const { topic } = await arrange();
    await publishBatch(
      driver,
      topic,
      [1, 2, 3].map((n) => ({ data: n })),
    );
    const seen: [unknown, number][] = [];
    const report = await drain(
      driver,
      testDrainOptions(
        topic,
        'g',
        (m) => {
          seen.push([m.data, m.deliveries]);
          if (m.data === 1 && m.deliveries === 1) throw new RetryLaterError(300);
        },
        { ordered: true, budgetMs: 4_000, idleExitMs: 1_000 },
      ),
    );
    expect(seen).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 1],
    ]);
    expect(report).toMatchObject({ acked: 3, failed: 1 });
  });

  it('a schedule entry whose message is no longer pending is dropped, and costs no busy loop', async () => {
    const { topic, keys, schedule } = await arrange();
    const { id } = await publish(driver, topic, { data: 'x' });
    await redis.zadd(schedule, 1, id); // due long ago, yet never delivered: not pending
    await redis.zadd(schedule, 1, '1-1'); // no such entry at all
    let scripts = 0;
    const counting = new Proxy(driver, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property !== 'evalSha' && property !== 'eval') return value.bind(target);
        return (...args: unknown[]) => {
          scripts++;
          return value.apply(target, args);
        };
      },
    });
    const report = await drain(
      counting,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 600 }),
    );
    expect(report).toMatchObject({ read: 1, acked: 1, reclaimed: 0 });
    expect(await redis.zcard(schedule)).toBe(0);
    // The reclaim at the start, the tidy, the topic's layout: not a reclaim every few ms.
    expect(scripts).toBeLessThanOrEqual(5);
    expect(keys.stream).toContain(topic);
  });
});
