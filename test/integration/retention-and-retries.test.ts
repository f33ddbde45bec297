import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { streamKeys } from '../../src/core/keys.js';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, testDrainOptions } from '../support/fixtures.js';

describe.each(DRIVERS)('over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();

  const options = testDrainOptions;

  /** A topic with 1,000 entries (10 stream nodes, so approximate trimming has whole nodes to drop) and the given groups at `0`. */
  async function arrange(groups: string[]) {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    for (const g of groups) await redis.xgroup('CREATE', stream, g, '0', 'MKSTREAM');
    const ids = (
      await publishBatch(
        driver,
        topic,
        Array.from({ length: 1_000 }, (_, i) => ({ data: i })),
      )
    ).map((r) => r.id);
    return { topic, stream, ids };
  }

  async function remaining(stream: string): Promise<string[]> {
    return (await redis.xrange(stream, '-', '+')).map(([id]) => id);
  }

  describe('retention', () => {
    it('trims what every group acknowledged, never what a lagging group still needs', async () => {
      const { topic, stream, ids } = await arrange(['fast', 'slow']);
      // The slow group fails from message 500 on: those stay pending for it.
      await drain(
        driver,
        options(topic, 'slow', (m: Message<number>) => {
          if (m.data >= 500) throw new Error('not yet');
        }),
      );
      const report = await drain(
        driver,
        options(topic, 'fast', () => {}, { retentionMs: 0 }),
      );
      const left = await remaining(stream);
      expect(report.trimmed).toBeGreaterThan(0);
      expect(report.trimmed).toBe(1_000 - left.length);
      expect(report.droppedUnconsumed).toBe(0);
      // Everything from the slow group's oldest pending entry on is still there.
      expect(left.slice(-500)).toEqual(ids.slice(500));
      expect(left.length).toBeLessThan(1_000);
    });

    it('a dead group (created, never draining) keeps everything', async () => {
      const { topic, stream } = await arrange(['live', 'dead']);
      const report = await drain(
        driver,
        options(topic, 'live', () => {}, { retentionMs: 0 }),
      );
      expect(report).toMatchObject({ acked: 1_000, trimmed: 0 });
      expect(await redis.xlen(stream)).toBe(1_000);
    });

    it('acknowledged entries younger than retentionMs stay for replay; trim: false keeps all', async () => {
      const { topic, stream } = await arrange(['g']);
      const kept = await drain(
        driver,
        options(topic, 'g', () => {}, { retentionMs: 3_600_000 }),
      );
      expect(kept.trimmed).toBe(0);
      const off = await drain(
        driver,
        options(topic, 'g', () => {}, { retentionMs: 0, trim: false }),
      );
      expect(off.trimmed).toBe(0);
      expect(await redis.xlen(stream)).toBe(1_000);
      const on = await drain(
        driver,
        options(topic, 'g', () => {}, { retentionMs: 0 }),
      );
      expect(on.trimmed).toBeGreaterThan(0);
    });

    it('a hard cap drops unconsumed entries only loudly: counted, reported and logged', async () => {
      const { topic, stream, ids } = await arrange(['done', 'behind']);
      const errors: unknown[] = [];
      const logger: Logger = {
        ...silentLogger,
        error: (message, fields) => errors.push({ message, ...fields }),
      };
      const report = await drain(
        driver,
        options(topic, 'done', () => {}, { trim: false, maxLength: 100, logger }),
      );
      expect(report.droppedUnconsumed).toBe(900);
      expect(await remaining(stream)).toEqual(ids.slice(900));
      expect(errors).toContainEqual(expect.objectContaining({ droppedUnconsumed: 900, maxLength: 100 }));
    });
  });

  describe('foreign ids', () => {
    it('sequence numbers past 2^53 (a foreign stream) are compared and stepped exactly', async () => {
      const stream = `foreign-${randomTopic()}`;
      // The largest sequence number a millisecond can have: what comes after it is <ms + 1>-0.
      for (const id of ['1-5', '1-18446744073709551615', '2-0']) await redis.xadd(stream, id, 'n', id);
      for (const group of ['g', 'behind']) await redis.xgroup('CREATE', stream, group, '0');
      // Group `behind` has read and acknowledged the first two: what it needs next is 2-0.
      await redis.xreadgroup('GROUP', 'behind', 'someone', 'COUNT', 2, 'STREAMS', stream, '>');
      await redis.xack(stream, 'behind', '1-5', '1-18446744073709551615');
      const report = await drain(
        driver,
        options('unused', 'g', () => {}, { topic: undefined, stream, trim: false, maxLength: 1 }),
      );
      // The cap of 1 dropped the two entries every group had consumed, and counted none as unconsumed.
      expect(report).toMatchObject({ read: 3, acked: 3, trimmed: 2, droppedUnconsumed: 0 });
      expect(await remaining(stream)).toEqual(['2-0']);
    });
  });

  describe('redelivery back-off', () => {
    /** When the group's retry schedule has `id` due (ms, server clock), and the server's clock now. */
    async function dueIn(stream: string, group: string, id: string): Promise<number> {
      const due = Number(await redis.zscore(streamKeys({ stream }).retrySchedule(group), id));
      const [seconds, micros] = (await redis.time()) as [string | number, string | number];
      return due - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    }

    /** The entry looks idle past the visibility timeout; the schedule moves `shiftMs` closer. */
    async function age(stream: string, group: string, id: string, shiftMs: number) {
      const [[, owner]] = (await redis.xpending(stream, group, id, id, 1)) as [[string, string]];
      await redis.xclaim(stream, group, owner, 0, id, 'IDLE', 600_000, 'JUSTID');
      const schedule = streamKeys({ stream }).retrySchedule(group);
      await redis.zincrby(schedule, -shiftMs, id);
    }

    it('schedules visibility × 2^(deliveries − 1) after each failure, capped at maxRedeliveryDelayMs; not redelivered before', async () => {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
      const { id } = await publish(driver, topic, { data: 'flaky' });
      const attempts: number[] = [];
      const failing = options(
        topic,
        'g',
        (m) => {
          attempts.push(m.deliveries);
          throw new Error('down');
        },
        { visibilityTimeoutMs: 10_000, maxRedeliveryDelayMs: 50_000, maxDeliveries: 10 },
      );
      await drain(driver, failing); // delivery 1
      for (const expected of [10_000, 20_000, 40_000, 50_000]) {
        const before = attempts.length;
        const wait = await dueIn(stream, 'g', id);
        expect(wait, `after ${before} deliveries`).toBeLessThanOrEqual(expected);
        expect(wait, `after ${before} deliveries`).toBeGreaterThan(expected - 2_000);
        // Idle far past the visibility timeout, yet not due: not delivered.
        await age(stream, 'g', id, wait - 1_000);
        await drain(driver, failing);
        expect(attempts.length, `1 s before due, after ${before} deliveries`).toBe(before);
        await age(stream, 'g', id, 1_000);
        await drain(driver, failing);
        expect(attempts.length, `once due, after ${before} deliveries`).toBe(before + 1);
      }
      expect(attempts).toEqual([1, 2, 3, 4, 5]);
    });

    it('full jitter: each delay is a random part of the back-off', async () => {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
      const ids = (
        await publishBatch(
          driver,
          topic,
          Array.from({ length: 40 }, (_, i) => ({ data: i })),
        )
      ).map((r) => r.id);
      const report = await drain(
        driver,
        options(topic, 'g', () => Promise.reject(new Error('down')), {
          visibilityTimeoutMs: 100_000,
          retryJitter: 'full',
        }),
      );
      expect(report.failed).toBe(40);
      const waits = await Promise.all(ids.map((id) => dueIn(stream, 'g', id)));
      for (const wait of waits) expect(wait).toBeLessThanOrEqual(100_000);
      // 40 uniform draws: spread over the range, not all at the top (as without jitter).
      expect(Math.min(...waits)).toBeLessThan(50_000);
      expect(new Set(waits.map((w) => Math.floor(w / 10_000))).size).toBeGreaterThanOrEqual(5);
    });
  });

  describe('handler time limit', () => {
    it('a handler past handlerTimeoutMs gets its signal, the cycle moves on, the message stays pending', async () => {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
      await publishBatch(driver, topic, [{ data: 'stuck' }, { data: 'fine' }]);
      let stuckSignal: AbortSignal | undefined;
      const seen: unknown[] = [];
      const report = await drain(
        driver,
        options(
          topic,
          'g',
          (m, { signal }) => {
            seen.push(m.data);
            if (m.data !== 'stuck') return;
            stuckSignal = signal;
            return new Promise(() => {}); // ignores its signal, never ends
          },
          { handlerTimeoutMs: 100 },
        ),
      );
      expect(stuckSignal?.aborted).toBe(true);
      expect(seen).toEqual(['stuck', 'fine']);
      expect(report).toMatchObject({ acked: 1, failed: 1, timedOut: 1, unfinished: 0 });
      expect(((await redis.xpending(stream, 'g')) as [number])[0]).toBe(1);
    });
  });
});
