/**
 * Reading ahead (`prefetch`, 1 batch by default): the next batches are read in one round trip
 * while the ones before them are handled, and acknowledgements are not waited for.
 * - what was read ahead is this consumer's while the batch before it runs; `prefetch: 0` reads one
 *   batch at a time;
 * - it is held while it waits: a batch running 3.5 s under a 1 s visibility timeout, drains started
 *   meanwhile never get the messages read behind it, each is delivered once;
 * - a shutdown or the deadline gives it back unstarted, its delivery count restored;
 * - the next batch's handlers start before the last batch's XACK was answered: it rides with the
 *   read after (ordered: answered first);
 * - ordered and rate-limited drains never read ahead.
 * Over every driver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { DrainOptions } from '../../src/consume/options.js';
import type { Driver } from '../../src/core/driver.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { RETRY } from '../../src/core/schedule-scripts.js';
import {
  cyclesMeanwhile,
  DRIVERS,
  numberedTopic,
  type RawClient,
  randomTopic,
  testDrainOptions,
} from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** Pending entries of group `g`: [id, consumer, idle ms, deliveries]. */
async function pending(redis: RawClient, stream: string): Promise<[string, string, number, number][]> {
  return (await redis.xpending(stream, 'g', '-', '+', 1_000)) as [string, string, number, number][];
}

/** A driver that notes which ids Redis has answered XACKs for, however they were sent (acks.ts). */
function answeredAcks(inner: Driver) {
  const answered = new Set<string>();
  const note = (ids: readonly string[] | undefined) => () => {
    for (const id of ids ?? []) answered.add(id);
  };
  const driver: Driver = {
    ...inner,
    ack: (stream, group, ids) => inner.ack(stream, group, ids).finally(note(ids)),
    readGroup: (args) => inner.readGroup(args).finally(note(args.ack)),
  };
  return { driver, answered: () => answered.size };
}

describe.each(DRIVERS)('reading ahead over $name', (kind) => {
  const redis = kind.redis();

  const arrange = (count: number) => numberedTopic(kind, 'ahead', count);

  it.each([
    { prefetch: 2, readsFirst: 2, readsBefore: [3, 3, 4] },
    { prefetch: 1, readsFirst: 2, readsBefore: [3, 4, 5] },
    { prefetch: 0, readsFirst: 1, readsBefore: [2, 3, 4] },
  ])(
    'with prefetch $prefetch, $readsFirst reads are sent before the first handler starts (20 messages, batches of 5)',
    async ({ prefetch, readsFirst, readsBefore }) => {
      const { topic, stream } = await arrange(20);
      const inner = kind.create();
      const events: string[] = [];
      const counting: Driver = {
        ...inner,
        readGroup: (...args) => {
          events.push('read');
          return inner.readGroup(...args);
        },
      };
      const heldAtLast: number[] = [];
      const report = await drain(
        counting,
        testDrainOptions<number>(
          topic,
          'g',
          async (message) => {
            events.push(`handle ${message.data}`);
            // The last message of the first batch: what was read ahead is this consumer's already.
            if (message.data === 4) {
              await waitFor(async () => (await pending(redis, stream)).length >= 1 + 5 * prefetch, {
                timeoutMs: 2_000,
                what: 'the batches read ahead',
              });
              heldAtLast.push((await pending(redis, stream)).length);
            }
          },
          { batchSize: 5, prefetch },
        ),
      );
      expect(events.indexOf('handle 0')).toBe(readsFirst);
      // A read ahead goes out as the batches of the one before it start to be handed out (one at a time).
      const reads = (n: number) => events.slice(0, events.indexOf(`handle ${n}`)).filter((e) => e === 'read');
      expect([5, 10, 15].map((n) => reads(n).length)).toEqual(readsBefore);
      // Message 4 (0–3 acknowledged as this handler waited, or on their way) and what was read ahead.
      expect(heldAtLast[0]).toBeGreaterThanOrEqual(1 + 5 * prefetch);
      expect(heldAtLast[0]).toBeLessThanOrEqual(5 + 5 * prefetch);
      expect(report).toMatchObject({ read: 20, acked: 20, released: 0, pending: 0 });
    },
  );

  it('a batch read ahead is held while the batch before it runs 3.5 s under a 1 s visibility timeout: every message is delivered once', async () => {
    const { topic, stream } = await arrange(4);
    const deliveries = new Map<number, number>();
    const calls: string[] = [];
    const handle = (who: string) => async (message: { data: number }) => {
      calls.push(`${who} ${message.data}`);
      deliveries.set(message.data, (deliveries.get(message.data) ?? 0) + 1);
      if (message.data === 0) await sleep(3_500);
    };
    const options = (who: string, extra: Partial<DrainOptions<number>>) =>
      testDrainOptions<number>(topic, 'g', handle(who), {
        visibilityTimeoutMs: 1_000,
        maxRedeliveryDelayMs: 1_000,
        consumerPrefix: who,
        batchSize: 2,
        ...extra,
      });
    const first = drain(kind.create(), options('first', { budgetMs: 10_000 }));
    // The long handler runs and the batch behind its batch was read ahead.
    await waitFor(async () => calls.length > 0 && (await pending(redis, stream)).length === 4, {
      timeoutMs: 5_000,
      what: 'the long handler to start with the next batch read ahead',
    });
    const other = kind.create();
    const { report, others } = await cyclesMeanwhile(first, () =>
      drain(other, options('other', { budgetMs: 400, idleExitMs: 50 })),
    );
    expect(calls).toEqual(['first 0', 'first 1', 'first 2', 'first 3']);
    expect([...deliveries.values()]).toEqual([1, 1, 1, 1]);
    expect(report).toMatchObject({ read: 4, acked: 4, unfinished: 0, released: 0 });
    expect(others.length).toBeGreaterThanOrEqual(3);
    expect(others.reduce((n, r) => n + r.reclaimed + r.read, 0)).toBe(0);
    expect(await pending(redis, stream)).toEqual([]);
  });

  it.each(['shutdown', 'deadline'] as const)(
    'at a %s, the batch read ahead is given back unstarted with its delivery count restored',
    async (how) => {
      const { topic, stream, ids } = await arrange(6);
      const stop = new AbortController();
      let started = 0;
      const report = await drain(
        kind.create(),
        testDrainOptions<number>(
          topic,
          'g',
          async (message, { signal }) => {
            started++;
            if (message.data !== 0) return;
            await waitFor(async () => (await pending(redis, stream)).length === 6, {
              timeoutMs: 2_000,
              what: 'the next batch to be read ahead',
            });
            if (how === 'shutdown') stop.abort();
            else await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          },
          {
            batchSize: 3,
            signal: stop.signal,
            shutdownGraceMs: 5_000,
            budgetMs: how === 'deadline' ? 1_500 : 5_000,
          },
        ),
      );
      // Message 0 finished (shutdown) or was cut off (deadline); 1 and 2 never started; 3–5 were read ahead.
      expect(started).toBe(1);
      expect(report).toMatchObject({
        read: 6,
        released: 5,
        stoppedBy: how === 'shutdown' ? 'signal' : 'budget',
      });
      // Given back: pending with no delivery counted, to be reclaimed at once by the next drain.
      const left = await pending(redis, stream);
      expect(left.map(([id, , , count]) => [id, count])).toEqual([
        ...(how === 'deadline' ? [[ids[0], 1]] : []),
        ...ids.slice(1).map((id) => [id, 0]),
      ]);
      const again: number[] = [];
      const next = await drain(
        kind.create(),
        testDrainOptions<number>(topic, 'g', (message) => {
          if (message.data > 0) again.push(message.deliveries);
        }),
      );
      expect(next.reclaimed).toBe(5);
      expect(again).toEqual([1, 1, 1, 1, 1]);
    },
  );

  it('the next batch starts before the last one is acknowledged (its XACK rides with the next read); an ordered drain waits for it', async () => {
    for (const ordered of [false, true]) {
      const { topic } = await arrange(6);
      const acks = answeredAcks(kind.create());
      const answeredAtStart: number[] = [];
      const report = await drain(
        acks.driver,
        testDrainOptions<number>(
          topic,
          'g',
          () => {
            answeredAtStart.push(acks.answered());
          },
          { batchSize: 2, ordered },
        ),
      );
      // Ordered: each batch's XACK was answered before the next batch started.
      if (ordered) expect(answeredAtStart).toEqual([0, 0, 2, 2, 4, 4]);
      else expect(answeredAtStart.slice(0, 4)).toEqual([0, 0, 0, 0]);
      expect(report).toMatchObject({ read: 6, acked: 6, pending: 0 });
    }
  });

  it('a batch with a failure sends its acknowledgements before the retry script, not with the next read', async () => {
    const { topic } = await arrange(3);
    const inner = kind.create();
    const events: string[] = [];
    const recording: Driver = {
      ...inner,
      ack: (stream, group, ids) => {
        events.push(`ack ${ids.length}`);
        return inner.ack(stream, group, ids);
      },
      readGroup: (args) => {
        if (args.ack !== undefined) events.push(`ack ${args.ack.length}`);
        return inner.readGroup(args);
      },
      evalSha: (sha1, keys, args) => {
        if (sha1 === RETRY.sha1) events.push('retry');
        return inner.evalSha(sha1, keys, args);
      },
    };
    const report = await drain(
      recording,
      testDrainOptions<number>(topic, 'g', (message) => {
        if (message.data === 1) throw new Error('downstream 500');
      }),
    );
    // Message 0 and 2 succeeded in the batch's one turn: their XACK goes before the failure's schedule.
    expect(events.indexOf('ack 2')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('ack 2')).toBeLessThan(events.indexOf('retry'));
    expect(report).toMatchObject({ read: 3, acked: 2, failed: 1 });
  });

  it('a read carrying acknowledgements acknowledges them and reads in one call; its error rejects it (NOGROUP)', async () => {
    const { stream, ids } = await arrange(4);
    const driver = kind.create();
    expect(driver.capabilities.ackWithRead).toBe(true);
    const read = async (ack: string[] | undefined, count: number) =>
      (await driver.readGroup({ stream, group: 'g', consumer: 'c', count, ack })) as [string, [string][]][];
    const first = await read(undefined, 2);
    expect(first[0]?.[1].map(([id]) => id)).toEqual(ids.slice(0, 2));
    const second = await read(ids.slice(0, 2), 2);
    expect(second[0]?.[1].map(([id]) => id)).toEqual(ids.slice(2));
    expect((await pending(redis, stream)).map(([id]) => id)).toEqual(ids.slice(2));
    // Nothing new: an empty read, the acknowledgements done all the same.
    expect(await read(ids.slice(2), 2)).toBeNull();
    expect(await pending(redis, stream)).toEqual([]);
    await expect(
      driver.readGroup({ stream, group: 'no-such-group', consumer: 'c', count: 1, ack: [ids[0] as string] }),
    ).rejects.toMatchObject({ code: 'NOGROUP' });
  });

  it('an ordered or rate-limited drain does not read ahead; a prefetch that is not 0–10 batches is refused', async () => {
    for (const extra of [{ ordered: true }, { rateLimit: { perSecond: 1_000 } }]) {
      const { topic, stream } = await arrange(10);
      const held: number[] = [];
      const report = await drain(
        kind.create(),
        testDrainOptions<number>(
          topic,
          'g',
          async (message) => {
            if (message.data === 0) held.push((await pending(redis, stream)).length);
          },
          { batchSize: 5, ...extra },
        ),
      );
      expect(held).toEqual([5]);
      expect(report).toMatchObject({ read: 10, acked: 10 });
    }
    await expect(
      drain(
        kind.create(),
        testDrainOptions(randomTopic('ahead'), 'g', () => {}, { prefetch: 'yes' as never }),
      ),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      drain(
        kind.create(),
        testDrainOptions(randomTopic('ahead'), 'g', () => {}, { prefetch: 11 }),
      ),
    ).rejects.toThrow(/prefetch/);
  });
});
