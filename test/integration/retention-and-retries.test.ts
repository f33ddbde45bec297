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
    async function setIdle(stream: string, group: string, id: string, idleMs: number) {
      const [[, owner]] = (await redis.xpending(stream, group, id, id, 1)) as [[string, string]];
      await redis.xclaim(stream, group, owner, 0, id, 'IDLE', idleMs, 'JUSTID');
    }

    it('waits visibility × 2^(deliveries − 1) before each redelivery, capped at maxRedeliveryDelayMs', async () => {
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
      const cases: [idleMs: number, redelivered: boolean][] = [
        [9_000, false], // after 1 delivery: needs 10 s
        [15_000, true], // → delivery 2
        [15_000, false], // after 2: needs 20 s
        [25_000, true], // → delivery 3
        [35_000, false], // after 3: needs 40 s
        [45_000, true], // → delivery 4
        [45_000, false], // after 4: 80 s, capped at 50 s
        [51_000, true], // → delivery 5
      ];
      for (const [idleMs, redelivered] of cases) {
        const before = attempts.length;
        await setIdle(stream, 'g', id, idleMs);
        await drain(driver, failing);
        expect(attempts.length - before, `idle ${idleMs} ms after ${before} deliveries`).toBe(
          redelivered ? 1 : 0,
        );
      }
      expect(attempts).toEqual([1, 2, 3, 4, 5]);
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
