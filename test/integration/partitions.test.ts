/**
 * Partitioned topics over every driver: the recorded partition count, routing by key, batches
 * grouped by partition, draining all or a share of the partitions, and ordered draining (leases,
 * head-of-line waiting). Assertions go through the driver itself, so they hold on a cluster too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import type { Message } from '../../src/core/envelope.js';
import { PartitionCountError, PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { partitionCountKey, partitionForKey, partitionKeys, topicLayout } from '../../src/core/partitions.js';
import { LEASE } from '../../src/core/scripts.js';
import { listDeadLetters, partitionedTopicStats, redrive } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { describeSlack, measureLatency, slackMs } from '../support/latency.js';
import { type OwnRedis, ownRedis } from '../support/own-redis.js';
import { waitFor } from '../support/wait-for.js';

/** One command on `key`, through the driver (routed to the key's node on a cluster). */
function call(driver: Driver, key: string, command: string, ...args: (string | number)[]): Promise<unknown> {
  return driver.eval('return redis.call(ARGV[1], KEYS[1], unpack(ARGV, 2))', [key], [command, ...args]);
}

async function xlen(driver: Driver, stream: string): Promise<number> {
  return Number(await call(driver, stream, 'XLEN'));
}

describe.each(DRIVERS)('partitioned topics over $name', (kind) => {
  const driver = kind.create();

  /** A fresh topic (with `partitions` recorded, if given) whose group `g` exists on every partition, at `$`. */
  async function arrange(partitions?: number): Promise<string> {
    const topic = randomTopic();
    if (partitions !== undefined) await topicLayout(driver, topic, partitions);
    await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
    );
    return topic;
  }

  describe('the partition count', () => {
    it('is recorded on first use and must match afterwards; an undeclared topic has 1', async () => {
      const topic = randomTopic();
      expect((await topicLayout(kind.create(), topic)).partitions).toBe(1);
      expect((await topicLayout(driver, topic, 4)).partitions).toBe(4);
      // Another container (a fresh driver) reads it, and may not ask for another count.
      const other = kind.create();
      expect((await topicLayout(other, topic)).partitions).toBe(4);
      await expect(topicLayout(kind.create(), topic, 8)).rejects.toThrow(PartitionCountError);
      await expect(topicLayout(kind.create(), topic, 8)).rejects.toThrow(
        /has 4 partition\(s\) recorded in Redis, not 8/,
      );
    });

    it('the first publish without a count records 1: the topic cannot be declared partitioned after it', async () => {
      const topic = randomTopic();
      await publish(driver, topic, { data: 1 });
      const fresh = kind.create();
      expect(await topicLayout(fresh, topic)).toMatchObject({ partitions: 1, declared: true });
      await expect(topicLayout(kind.create(), topic, 4)).rejects.toThrow(
        /has 1 partition\(s\) recorded in Redis, not 4/,
      );
    });

    it('a plain stream without a recorded count (made by a drain) cannot become partitioned in place', async () => {
      const topic = await arrange();
      await expect(topicLayout(kind.create(), topic, 4)).rejects.toThrow(
        /already has a plain \(unpartitioned\) stream/,
      );
      expect((await topicLayout(kind.create(), topic, 1)).partitions).toBe(1);
    });

    it('a drain does not remember "no count recorded": declared later, the next drain serves the partitions', async () => {
      const topic = randomTopic();
      const drains = kind.create();
      const before = await drain(
        drains,
        testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0, trim: false }),
      );
      expect(before.partitions).toBeUndefined();
      // The plain stream the drain made is deleted, so the topic may still be declared.
      await call(driver, streamKeys({ topic }).stream, 'DEL');
      await topicLayout(kind.create(), topic, 2);
      await drain(
        drains,
        testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
      );
      await publish(kind.create(), topic, { data: 'after', key: 'k' });
      const seen: unknown[] = [];
      const after = await drain(
        drains,
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.data)),
      );
      expect(seen).toEqual(['after']);
      expect(after.partitions?.map((p) => p.partition)).toEqual([0, 1]);
    });

    it('a recorded count that is not one is an error, not a plain topic', async () => {
      const topic = randomTopic();
      await call(driver, partitionCountKey(topic), 'SET', 'four');
      await expect(topicLayout(kind.create(), topic)).rejects.toThrow(
        /SLUICE_LAYOUT .* holds four, not a partition count/,
      );
      await expect(publish(kind.create(), topic, { data: 1 })).rejects.toThrow(/not a partition count/);
    });

    it('publishing or draining with a different count fails, naming both counts, and writes nothing', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 2);
      const other = kind.create();
      await expect(publish(other, topic, { data: 1 }, { partitions: 3 })).rejects.toThrow(
        /2 partition\(s\).*not 3/,
      );
      const report = await drain(
        other,
        testDrainOptions(topic, 'g', () => {}, { partitions: 3 }),
      );
      expect(report).toMatchObject({
        stoppedBy: 'error',
        error: expect.stringMatching(/PartitionCountError: .*not 3/),
      });
      for (const i of [0, 1]) expect(await xlen(driver, partitionKeys(topic, i, 2).stream)).toBe(0);
    });
  });

  describe('publishing', () => {
    it('routes by key: the same key always lands in the same partition, in order', async () => {
      const topic = randomTopic();
      const results = [];
      for (let n = 0; n < 12; n++)
        results.push(await publish(driver, topic, { data: n, key: `k${n % 3}` }, { partitions: 4 }));
      for (const key of ['k0', 'k1', 'k2']) {
        const stream = partitionKeys(topic, partitionForKey(key, 4), 4).stream;
        const entries = (await call(driver, stream, 'XRANGE', '-', '+')) as [string, string[]][];
        const mine = entries
          .filter(([, fields]) => fields.includes(key))
          .map(([, fields]) => fields[fields.indexOf('data') + 1]);
        expect(mine).toEqual(
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].filter((n) => `k${n % 3}` === key).map(String),
        );
      }
      // Ids are unique per partition: the partition is part of a message's name.
      expect(results.map((r) => r.partition)).toEqual(results.map((_, n) => partitionForKey(`k${n % 3}`, 4)));
      expect(new Set(results.map((r) => `${r.partition}/${r.id}`)).size).toBe(12);
    });

    it('spreads keyless messages over every partition, and a retried idempotency key finds its first id', async () => {
      const topic = randomTopic();
      for (let n = 0; n < 8; n++) await publish(driver, topic, { data: n }, { partitions: 4 });
      for (let i = 0; i < 4; i++) expect(await xlen(driver, partitionKeys(topic, i, 4).stream)).toBe(2);

      const first = await publish(driver, topic, { data: 'x', idempotencyKey: 'once' });
      const again = await publish(kind.create(), topic, { data: 'x', idempotencyKey: 'once' });
      expect(again).toEqual({ ...first, duplicate: true });
    });

    it('a batch is grouped by partition; results keep the batch order; keyless ones share one partition', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 4);
      const messages = [
        { data: 0, key: 'a' },
        { data: 1 },
        { data: 2, key: 'b' },
        { data: 3 },
        { data: 4, key: 'a', idempotencyKey: 'i4' },
        { data: 5, idempotencyKey: 'i5' },
      ];
      const results = await publishBatch(driver, topic, messages);
      expect(results).toHaveLength(6);
      const partitionOfResult = results.map((r) => r.partition);
      for (const [i, result] of results.entries()) {
        const stream = partitionKeys(topic, result.partition as number, 4).stream;
        const entry = (await call(driver, stream, 'XRANGE', result.id, result.id)) as [string, string[]][];
        expect(entry[0]?.[1]).toContain(String(i)); // the data field: the message is where the result says
      }
      expect(partitionOfResult[0]).toBe(partitionForKey('a', 4));
      expect(partitionOfResult[4]).toBe(partitionForKey('a', 4));
      expect(partitionOfResult[2]).toBe(partitionForKey('b', 4));
      expect(partitionOfResult[5]).toBe(partitionForKey('i5', 4));
      expect(partitionOfResult[1]).toBe(partitionOfResult[3]);
      // Again: all six are duplicates or new in the same places, none written twice.
      const again = await publishBatch(
        driver,
        topic,
        messages.filter((m) => m.idempotencyKey !== undefined),
      );
      expect(again).toEqual([results[4], results[5]].map((r) => ({ ...r, duplicate: true })));
    });
  });

  describe('draining', () => {
    it('one invocation drains every partition; the report adds them up and lists each', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 4);
      await drain(
        driver,
        testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
      ); // creates the groups at $
      const published = await publishBatch(
        driver,
        topic,
        Array.from({ length: 40 }, (_, n) => ({ data: n, key: `k${n}` })),
      );
      const seen: string[] = [];
      const report = await drain(
        driver,
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.id)),
      );
      expect(seen.sort()).toEqual(published.map((p) => p.id).sort());
      expect(report).toMatchObject({
        read: 40,
        acked: 40,
        stream: streamKeys({ topic }).stream,
        lag: 0,
        pending: 0,
      });
      expect(report.partitions?.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
      expect(report.partitions?.reduce((n, p) => n + p.acked, 0)).toBe(40);
    });

    it('the group starts on every partition at once, whichever partitions the first drain serves', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 2);
      await drain(
        driver,
        testDrainOptions(topic, 'g', () => {}, { assignedPartitions: [0], idleExitMs: 0 }),
      );
      const key = ['a', 'b', 'c', 'd'].find((k) => partitionForKey(k, 2) === 1) as string;
      await publish(driver, topic, { data: 'kept', key });
      const seen: unknown[] = [];
      await drain(
        driver,
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.data), { assignedPartitions: [1] }),
      );
      expect(seen).toEqual(['kept']);
    });

    it('assignedPartitions and maxPartitions choose a share; a partition that does not exist is an error', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 4);
      const only = await drain(
        driver,
        testDrainOptions(topic, 'g', () => {}, { assignedPartitions: [1, 3] }),
      );
      expect(only.partitions?.map((p) => p.partition)).toEqual([1, 3]);
      const one = await drain(
        driver,
        testDrainOptions(topic, 'g', () => {}, { maxPartitions: 1, idleExitMs: 0 }),
      );
      expect(one.partitions?.length).toBeGreaterThanOrEqual(1);
      const wrong = await drain(
        driver,
        testDrainOptions(topic, 'g', () => {}, { assignedPartitions: [4] }),
      );
      expect(wrong).toMatchObject({
        stoppedBy: 'error',
        error: expect.stringMatching(/has 4 partition\(s\).*names 4/),
      });
    });
  });

  describe('ordered draining', () => {
    it('a failing message holds back the later ones of its partition until it succeeds; other partitions go on', async () => {
      const topic = await arrange(2);
      // Two keys in different partitions.
      const slow = 'a';
      const fast = ['b', 'c', 'd', 'e', 'f'].find(
        (k) => partitionForKey(k, 2) !== partitionForKey(slow, 2),
      ) as string;
      for (let n = 0; n < 5; n++) {
        await publish(driver, topic, { data: n, key: slow });
        await publish(driver, topic, { data: n, key: fast });
      }
      const handled: string[] = [];
      let failures = 0;
      const handler = (m: Message<number>) => {
        if (m.key === slow && m.data === 1 && failures < 2) {
          failures++;
          throw new Error('not yet');
        }
        handled.push(`${m.key}${m.data}`);
      };
      const report = await drain(
        driver,
        testDrainOptions(topic, 'g', handler, {
          ordered: true,
          visibilityTimeoutMs: 100,
          maxRedeliveryDelayMs: 100,
          idleExitMs: 1_000,
          budgetMs: 5_000,
        }),
      );
      expect(failures).toBe(2);
      expect(handled.filter((h) => h.startsWith(slow))).toEqual([0, 1, 2, 3, 4].map((n) => `${slow}${n}`));
      expect(handled.filter((h) => h.startsWith(fast))).toEqual([0, 1, 2, 3, 4].map((n) => `${fast}${n}`));
      // The fast partition was not held back by the slow one.
      expect(handled.indexOf(`${fast}4`)).toBeLessThan(handled.indexOf(`${slow}2`));
      expect(report).toMatchObject({ acked: 10, failed: 2, pending: 0 });
    });

    it('a message that cannot be dead-lettered holds back the ones after it (nothing handled past it)', async () => {
      const topic = await arrange();
      const keys = streamKeys({ topic });
      // The dead-letter key holds a string: Redis refuses to dead-letter (WRONGTYPE).
      await call(driver, keys.deadLetters('g'), 'SET', 'not a stream');
      for (const n of [1, 2, 3]) await publish(driver, topic, { data: n });
      const handled: number[] = [];
      const report = await drain(
        driver,
        testDrainOptions(
          topic,
          'g',
          (m: Message<number>) => {
            handled.push(m.data);
            if (m.data === 1) throw new PermanentError('poison');
          },
          { ordered: true, idleExitMs: 300 },
        ),
      );
      expect(handled).toEqual([1]);
      expect(report).toMatchObject({ deadLettered: 0, acked: 0, pending: 3 });
    });

    it('a handler still running when the cycle ends keeps the lease for the visibility timeout', async () => {
      const topic = await arrange();
      await publish(driver, topic, { data: 'slow' });
      await publish(driver, topic, { data: 'next' });
      let finish: () => void = () => {};
      const hung = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const options = {
        ordered: true,
        leaseMs: 300,
        visibilityTimeoutMs: 5_000,
        budgetMs: 500,
        idleExitMs: undefined,
      };
      // The handler ignores its signal: it is still running when the cycle returns.
      const report = await drain(
        driver,
        testDrainOptions(topic, 'g', () => hung, options),
      );
      expect(report).toMatchObject({ unfinished: 1, acked: 0 });
      const ttl = Number(await call(driver, streamKeys({ topic }).lease('g'), 'PTTL'));
      expect(ttl).toBeGreaterThan(4_000);
      const seen: unknown[] = [];
      const other = await drain(
        kind.create(),
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.data), options),
      );
      expect(other.stoppedBy).toBe('leased');
      expect(seen).toEqual([]);
      finish();
    });

    it('a lane whose partition waits for a failed message serves another partition meanwhile', async () => {
      const topic = await arrange(2);
      const [k0, k1] = [0, 1].map(
        (p) => ['a', 'b', 'c', 'd', 'e'].find((k) => partitionForKey(k, 2) === p) as string,
      );
      await publish(driver, topic, { data: 'stuck', key: k0 });
      const options = { ordered: true, visibilityTimeoutMs: 60_000, idleExitMs: 200 };
      // Partition 0's head fails once: it is not due again for a minute.
      await drain(
        driver,
        testDrainOptions(
          topic,
          'g',
          () => {
            throw new Error('not now');
          },
          { ...options, assignedPartitions: [0] },
        ),
      );
      await publish(driver, topic, { data: 'free', key: k1 });
      const seen: unknown[] = [];
      const report = await drain(
        driver,
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.data), {
          ...options,
          maxPartitions: 1,
        }),
      );
      expect(seen).toEqual(['free']);
      expect(report.stoppedBy).toBe('idle');
    });

    it('one drain per partition at a time: concurrent ordered drains split the partitions or find them leased', async () => {
      const topic = randomTopic();
      await topicLayout(driver, topic, 4);
      const handlerFor = (seen: Set<string>) => (m: Message) => void seen.add(m.stream);
      const seen = [new Set<string>(), new Set<string>(), new Set<string>()];
      const reports = await Promise.all(
        seen.map((s) =>
          drain(
            kind.create(),
            // No idle exit: each drain holds what it leased until its budget ends.
            testDrainOptions(topic, 'g', handlerFor(s), {
              ordered: true,
              maxPartitions: 2,
              idleExitMs: undefined,
              budgetMs: 600,
            }),
          ),
        ),
      );
      const served = reports.map((r) => (r.partitions ?? []).map((p) => p.partition));
      const all = served.flat();
      expect(new Set(all).size).toBe(all.length); // no partition served by two drains
      expect(all.sort()).toEqual([0, 1, 2, 3]);
      for (const share of served) expect(share.length).toBeLessThanOrEqual(2);
      expect(seen.flatMap((s) => [...s])).toEqual([]); // nothing was published: no handler ran
    });

    it('a drain that finds every partition leased ends at once with stoppedBy "leased"', async () => {
      const topic = randomTopic();
      const layout = await topicLayout(driver, topic, 2);
      const first = drain(
        kind.create(),
        testDrainOptions(topic, 'g', () => {}, { ordered: true, idleExitMs: undefined, budgetMs: 1_500 }),
      );
      // Wait until the first drain holds both leases.
      const leases = [0, 1].map((i) => layout.keys(i).lease('g'));
      await waitFor(
        async () => {
          const held = await Promise.all(leases.map((key) => call(driver, key, 'EXISTS')));
          return held.every((n) => Number(n) === 1);
        },
        { timeoutMs: 10_000, what: 'the first drain to hold both leases' },
      );
      const latency = await measureLatency(driver, leases[0] as string);
      const second = await drain(
        kind.create(),
        testDrainOptions(topic, 'g', () => {}, { ordered: true }),
      );
      expect(second).toMatchObject({ stoppedBy: 'leased', read: 0, partitions: [] });
      // At once: the few round trips of trying both leases (not its 5 s budget, nor the first's 1.5 s).
      expect(second.durationMs, describeSlack(latency, 6)).toBeLessThan(500 + slackMs(latency, 6));
      expect((await first).partitions?.map((p) => p.partition)).toEqual([0, 1]);
      // Released at the end: nothing is left held.
      for (const key of leases) expect(Number(await call(driver, key, 'EXISTS'))).toBe(0);
    });

    it("a dead drain's lease keeps its partition until it expires; its pending messages then go first, in order", async () => {
      const topic = randomTopic();
      const group = 'g';
      await drain(
        driver,
        testDrainOptions(topic, group, () => {}, { idleExitMs: 0 }),
      );
      const keys = streamKeys({ topic });
      for (let n = 0; n < 4; n++) await publish(driver, topic, { data: n });
      // A drain read two messages and died holding the lease (600 ms) and them.
      await driver.readGroup({ stream: keys.stream, group, consumer: 'dead', count: 2 });
      await driver
        .evalSha(LEASE.sha1, [keys.lease(group)], ['take', 'dead', 600])
        .catch(() => driver.eval(LEASE.source, [keys.lease(group)], ['take', 'dead', 600]));
      const handled: number[] = [];
      const options = testDrainOptions(topic, group, (m: Message<number>) => void handled.push(m.data), {
        ordered: true,
        visibilityTimeoutMs: 800,
        maxRedeliveryDelayMs: 800,
        idleExitMs: 2_000,
      });
      expect(await drain(driver, options)).toMatchObject({ stoppedBy: 'leased', read: 0 });
      expect(handled).toEqual([]);
      await waitFor(async () => Number(await call(driver, keys.lease(group), 'EXISTS')) === 0, {
        timeoutMs: 10_000,
        what: "the dead drain's lease to expire",
      });
      const report = await drain(driver, options);
      // The dead drain's two wait out their visibility timeout before the two after them.
      expect(handled).toEqual([0, 1, 2, 3]);
      expect(report).toMatchObject({ reclaimed: 2, read: 2, acked: 4, pending: 0 });
    });
  });

  describe('operations', () => {
    it('stats per partition; dead-letter tools take the partition, and refuse a partitioned topic without one', async () => {
      const topic = await arrange(3);
      const key = 'poison';
      const partition = partitionForKey(key, 3);
      await publish(driver, topic, { data: 'bad', key });
      await drain(
        driver,
        testDrainOptions(topic, 'g', () => {
          throw new PermanentError('no');
        }),
      );
      const stats = await partitionedTopicStats(driver, topic);
      expect(stats.map((s) => s.partition)).toEqual([0, 1, 2]);
      const one = await partitionedTopicStats(driver, { topic, partition });
      expect(one.map((s) => [s.partition, s.groups[0]?.deadLetters])).toEqual([[partition, 1]]);
      expect(stats.map((s) => s.groups[0]?.deadLetters)).toEqual(
        [0, 1, 2].map((i) => (i === partition ? 1 : 0)),
      );

      await expect(listDeadLetters(driver, topic, 'g')).rejects.toThrow(/has 3 partitions: name one/);
      await expect(listDeadLetters(driver, { topic, partition: 3 }, 'g')).rejects.toThrow(/`partition`/);
      const page = await listDeadLetters(driver, { topic, partition }, 'g');
      expect(page.deadLetters.map((d) => d.reason)).toEqual(['permanent']);
      const redriven = await redrive(driver, { topic, partition }, 'g');
      expect(redriven.redriven).toBe(1);
      const seen: unknown[] = [];
      await drain(
        driver,
        testDrainOptions(topic, 'g', (m: Message) => void seen.push(m.data)),
      );
      expect(seen).toEqual(['bad']);
    });
  });
});

describe.each(DRIVERS.map((k) => k.name))('ordered draining over %s on a Redis of its own', (name) => {
  // The test pauses Redis (CLIENT PAUSE): servers of its own, so that no other file's deadlines stall.
  let own: OwnRedis;
  beforeAll(async () => {
    own = await ownRedis(name);
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('stops handing out messages before its lease can expire when renewals go unanswered', async () => {
    const { driver } = own;
    const topic = randomTopic();
    await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
    );
    for (const n of [1, 2, 3]) await publish(driver, topic, { data: n });
    const handled: number[] = [];
    const report = await drain(
      driver,
      testDrainOptions(
        topic,
        'g',
        async (m: Message<number>, { signal }) => {
          handled.push(m.data);
          if (m.data !== 1) return;
          // Redis stops answering for longer than the lease (as a stalled network would) while this
          // handler runs past the lease: the renewals sent meanwhile go unanswered.
          await own.pause(1_500);
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 1_000);
            signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
          });
        },
        { ordered: true, leaseMs: 300, visibilityTimeoutMs: 5_000, budgetMs: 3_000 },
      ),
    );
    expect(report).toMatchObject({
      stoppedBy: 'error',
      error: expect.stringMatching(/LeaseLostError: .*expired before a renewal was answered/),
    });
    // Nothing after message 1 was handed out: the lease may have been another drain's by then.
    expect(handled).toEqual([1]);
    expect(report).toMatchObject({ unfinished: 1, acked: 0 });
  });
});
