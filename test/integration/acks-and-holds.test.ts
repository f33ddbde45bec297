/**
 * Acknowledgements as handlers finish, and holds while they run (the process and settle phases):
 * - a message's XACK leaves as soon as its handler succeeded, not with its batch;
 * - a handler running well past the visibility timeout keeps its message (a heartbeat renews the
 *   hold) until it ends, and no other drain runs it meanwhile; its `handlerTimeoutMs` ends the hold;
 * - with concurrency above 1, workers that waited for the same renewal do not count a message
 *   past the end of the batch as unfinished.
 * Over every driver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { DrainOptions } from '../../src/consume/options.js';
import { countingAcks } from '../support/ack-counter.js';
import {
  cyclesMeanwhile,
  DRIVERS,
  numberedTopic,
  type RawClient,
  testDrainOptions,
} from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** Ids the group holds pending, in order. */
async function pendingIds(redis: RawClient, stream: string): Promise<string[]> {
  const rows = (await redis.xpending(stream, 'g', '-', '+', 1_000)) as [string][];
  return rows.map(([id]) => id);
}

describe.each(DRIVERS)('acks and holds over $name', (kind) => {
  const redis = kind.redis();

  const arrange = (count: number) => numberedTopic(kind, 'hold', count);

  it('acknowledges each message as its handler finishes: the next handler sees the one before acknowledged', async () => {
    const { topic, stream, ids } = await arrange(5);
    const seenAcked: boolean[] = [];
    const report = await drain(
      kind.create(),
      testDrainOptions<number>(
        topic,
        'g',
        async (message) => {
          const before = ids[message.data - 1];
          if (before === undefined) return;
          // Its XACK was sent in the turn after that handler finished (no renewal in a 60 s timeout).
          const acked = await waitFor(async () => !(await pendingIds(redis, stream)).includes(before), {
            timeoutMs: 2_000,
            what: `${before} to be acknowledged`,
          }).then(
            () => true,
            () => false,
          );
          seenAcked.push(acked);
        },
        { batchSize: 100, visibilityTimeoutMs: 60_000 },
      ),
    );
    expect(seenAcked).toEqual([true, true, true, true]);
    expect(report).toMatchObject({ read: 5, acked: 5, unfinished: 0, pending: 0 });
  });

  it.each([
    { concurrency: 1, kind: 'async' },
    { concurrency: 4, kind: 'async' },
    { concurrency: 1, kind: 'synchronous' },
  ])(
    '$kind no-op handlers at concurrency $concurrency finish in one turn: at most one XACK per batch of 100 (carried by the next read)',
    async ({ concurrency, kind: handlerKind }) => {
      const { topic } = await arrange(1_000);
      const counted = countingAcks(kind.create());
      const report = await drain(
        counted.driver,
        testDrainOptions(topic, 'g', handlerKind === 'async' ? async () => {} : () => {}, {
          batchSize: 100,
          concurrency,
        }),
      );
      expect(report).toMatchObject({ read: 1_000, acked: 1_000 });
      // At most one per batch (the acks of the batches between two reads ahead ride with the next), each id once.
      expect(counted.xacks()).toBeGreaterThanOrEqual(5);
      expect(counted.xacks()).toBeLessThanOrEqual(10);
      expect(new Set(counted.ids()).size).toBe(1_000);
      expect(counted.ids()).toHaveLength(1_000);
    },
  );

  it('a handler running 3.5 s under a 1 s visibility timeout keeps its message: drains started meanwhile never run it, it is delivered once', async () => {
    // The long one first, two more waiting behind it in the same batch.
    const { topic, stream, ids } = await arrange(3);
    const running = new Map<string, number>();
    let most = 0;
    const calls: string[] = [];
    const handle = (who: string) => async (message: { id: string; data: number }) => {
      calls.push(`${who} ${message.data}`);
      running.set(message.id, (running.get(message.id) ?? 0) + 1);
      most = Math.max(most, ...running.values());
      try {
        if (message.data === 0) await sleep(3_500);
      } finally {
        running.set(message.id, (running.get(message.id) ?? 1) - 1);
      }
    };
    const options = (who: string, extra: Partial<DrainOptions<number>>) =>
      testDrainOptions<number>(topic, 'g', handle(who), {
        visibilityTimeoutMs: 1_000,
        maxRedeliveryDelayMs: 1_000,
        consumerPrefix: who,
        ...extra,
      });
    const first = drain(kind.create(), options('first', { budgetMs: 10_000 }));
    await waitFor(() => calls.length > 0, { timeoutMs: 5_000, what: 'the long handler to start' });
    // Cycle after cycle while it runs, each reclaiming at its start what has been idle 1 s.
    const other = kind.create();
    const { report, others } = await cyclesMeanwhile(first, () =>
      drain(other, options('other', { budgetMs: 400, idleExitMs: 50 })),
    );
    expect(calls).toEqual(['first 0', 'first 1', 'first 2']);
    expect(most).toBe(1);
    expect(report).toMatchObject({ read: 3, acked: 3, unfinished: 0, stoppedBy: 'idle' });
    expect(report.durationMs).toBeGreaterThanOrEqual(3_500);
    // Past the visibility timeout more than twice over, and cycles ran all along.
    expect(others.length).toBeGreaterThanOrEqual(3);
    expect(others.reduce((n, r) => n + r.reclaimed + r.read, 0)).toBe(0);
    expect(await pendingIds(redis, stream)).toEqual([]);
    expect(ids).toHaveLength(3);
  });

  it('the hold ends with handlerTimeoutMs: a handler that ignores it loses its message to a later cycle', async () => {
    const { topic, stream, ids } = await arrange(1);
    let release: () => void = () => {};
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stop = new AbortController();
    const first = drain(
      kind.create(),
      testDrainOptions(topic, 'g', () => stuck, {
        visibilityTimeoutMs: 1_000,
        handlerTimeoutMs: 300,
        budgetMs: 10_000,
        idleExitMs: 8_000,
        signal: stop.signal,
      }),
    );
    // Timed out at 300 ms, not held since: idle past the visibility timeout while the cycle goes on.
    await waitFor(
      async () => {
        const rows = (await redis.xpending(stream, 'g', 'IDLE', 1_000, '-', '+', 10)) as unknown[];
        return rows.length === 1;
      },
      { timeoutMs: 5_000, what: 'the timed-out message to be idle past the visibility timeout' },
    );
    stop.abort();
    release();
    const report = await first;
    expect(report).toMatchObject({ read: 1, acked: 0 });
    expect(report.timedOut).toBeGreaterThanOrEqual(1);
    expect(await pendingIds(redis, stream)).toEqual(ids);
  });

  it('with concurrency 2, workers that waited for the same renewal leave nothing counted unfinished', async () => {
    const { topic } = await arrange(2);
    const report = await drain(
      kind.create(),
      testDrainOptions(
        topic,
        'g',
        () => {
          // Blocks the event loop past a fifth of the visibility timeout: the hold is stale after it.
          const until = Date.now() + 250;
          while (Date.now() < until) {}
        },
        { concurrency: 2, visibilityTimeoutMs: 1_000 },
      ),
    );
    expect(report).toMatchObject({ read: 2, acked: 2, unfinished: 0, failed: 0, pending: 0 });
  });
});
