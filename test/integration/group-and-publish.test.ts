import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { idempotent } from '../../src/consume/idempotent.js';
import { declareTopic } from '../../src/core/declare.js';
import { InvalidMessageError, PermanentError } from '../../src/core/errors.js';
import { ensureGroup } from '../../src/core/group.js';
import { type StreamKeys, streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { declaredGroupsKey, partitionCountKey, partitionKeys } from '../../src/core/partitions.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, keysOf, randomTopic, rawClusterClient, testDrainOptions } from '../support/fixtures.js';

describe.each(DRIVERS)('over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();
  const newDriver = () => kind.create();

  describe('ensureGroup', () => {
    it('creates the stream and the group when neither exists', async () => {
      const { stream } = streamKeys({ topic: randomTopic() });
      expect(await ensureGroup(newDriver(), stream, 'g')).toBe(true);
      const [group] = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      expect(group).toContain('g');
    });

    it('accepts an existing group (BUSYGROUP) and keeps its position', async () => {
      const { stream } = streamKeys({ topic: randomTopic() });
      await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      await redis.xadd(stream, '*', 'a', '1');
      expect(await ensureGroup(newDriver(), stream, 'g', '$')).toBe(false);
      // Created at 0: the entry is still unread by the group.
      const read = await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>');
      expect(read).toHaveLength(1);
    });

    it('10 concurrent creators on separate connections: one creates, none fails', async () => {
      const { stream } = streamKeys({ topic: randomTopic() });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => ensureGroup(newDriver(), stream, 'g')),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await redis.xinfo('GROUPS', stream)).toHaveLength(1);
    });

    it('is remembered per driver: the second call sends nothing', async () => {
      const { stream } = streamKeys({ topic: randomTopic() });
      const own = newDriver();
      let creates = 0;
      const counting = {
        ...own,
        evalSha: (...args: Parameters<typeof own.evalSha>) => {
          creates++;
          return own.evalSha(...args);
        },
        eval: (...args: Parameters<typeof own.eval>) => {
          creates++;
          return own.eval(...args);
        },
      };
      await Promise.all([ensureGroup(counting, stream, 'g'), ensureGroup(counting, stream, 'g')]);
      const first = creates; // one script call (two when the server did not know the script yet)
      expect(first).toBeGreaterThanOrEqual(1);
      expect(first).toBeLessThanOrEqual(2);
      await ensureGroup(counting, stream, 'g');
      expect(creates).toBe(first);
    });

    it('start "0" delivers the stream history, "$" only what comes next', async () => {
      const topic = randomTopic();
      await publishBatch(driver, topic, [{ data: 'old-1' }, { data: 'old-2' }]);
      const history: unknown[] = [];
      const fresh: unknown[] = [];
      const base = { topic, budgetMs: 1_000, blockMs: 20, idleExitMs: 40, logger: silentLogger };
      await drain(driver, {
        ...base,
        group: 'replay',
        startId: '0',
        handler: (m) => void history.push(m.data),
      });
      await drain(driver, { ...base, group: 'live', handler: (m) => void fresh.push(m.data) });
      expect(history).toEqual(['old-1', 'old-2']);
      expect(fresh).toEqual([]);
    });
  });

  describe('publish', () => {
    it('writes the envelope fields: format, JSON data, key', async () => {
      const topic = randomTopic();
      const { id, duplicate } = await publish(driver, topic, { data: { a: 1 }, key: 'customer-7' });
      expect(duplicate).toBe(false);
      const entries = await redis.xrange(`sluice:{${topic}}`, '-', '+');
      expect(entries).toEqual([[id, ['sluice', '1', 'data', '{"a":1}', 'key', 'customer-7']]]);
    });

    it('a batch is one round trip and keeps order', async () => {
      const topic = randomTopic();
      const results = await publishBatch(
        driver,
        topic,
        Array.from({ length: 100 }, (_, i) => ({ data: i })),
      );
      const entries = await redis.xrange(`sluice:{${topic}}`, '-', '+');
      expect(entries.map(([id]) => id)).toEqual(results.map((r) => r.id));
      expect(entries.map(([, f]) => JSON.parse(f[3] as string))).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      );
    });

    it('an idempotency key inside its window returns the first id and writes nothing', async () => {
      const topic = randomTopic();
      const first = await publish(driver, topic, { data: 'charge', idempotencyKey: 'order-1' });
      const again = await publish(driver, topic, { data: 'charge (retried)', idempotencyKey: 'order-1' });
      expect(again).toEqual({ id: first.id, duplicate: true });
      expect(await redis.xlen(`sluice:{${topic}}`)).toBe(1);
    });

    it('concurrent publishes with one idempotency key write once (atomic)', async () => {
      const topic = randomTopic();
      const racers = Array.from({ length: 4 }, () => newDriver());
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          publish(racers[i % racers.length] as typeof driver, topic, { data: i, idempotencyKey: 'same' }),
        ),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(await redis.xlen(`sluice:{${topic}}`)).toBe(1);
    });

    it('idempotency keys work across batches; one batch may not repeat a key', async () => {
      const topic = randomTopic();
      await expect(
        publishBatch(driver, topic, [
          { data: 1, idempotencyKey: 'k1' },
          { data: 2, idempotencyKey: 'k1' },
        ]),
      ).rejects.toThrow(/messages\[1\]: `idempotencyKey` repeats that of messages\[0\]/);
      const [a, c] = await publishBatch(driver, topic, [{ data: 1, idempotencyKey: 'k1' }, { data: 3 }]);
      expect(a?.duplicate).toBe(false);
      expect(c?.duplicate).toBe(false);
      const [d] = await publishBatch(driver, topic, [{ data: 4, idempotencyKey: 'k1' }]);
      expect(d).toEqual({ id: a?.id, duplicate: true });
      expect(await redis.xlen(`sluice:{${topic}}`)).toBe(2);
    });

    it('the key is forgotten after its window', async () => {
      const topic = randomTopic();
      const first = await publish(
        driver,
        topic,
        { data: 1, idempotencyKey: 'k' },
        { idempotencyWindowMs: 50 },
      );
      const ttl = await redis.pttl(`sluice:{${topic}}:idem:k`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(50);
      await redis.del(`sluice:{${topic}}:idem:k`); // what expiry does, without waiting for it
      const second = await publish(
        driver,
        topic,
        { data: 2, idempotencyKey: 'k' },
        { idempotencyWindowMs: 50 },
      );
      expect(second.id).not.toBe(first.id);
      expect(second.duplicate).toBe(false);
    });

    it('every key the library writes for a topic lies in its stream slot', async () => {
      const topic = randomTopic();
      const keys = streamKeys({ topic });
      await declareTopic(driver, topic, { groups: ['g'] });
      await publish(driver, topic, { data: 'poison', idempotencyKey: 'x' });
      await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }], { idempotencyKey: 'batch' });
      const handler = idempotent<unknown>(
        (m) => {
          if (m.data === 'poison') throw new PermanentError('no');
        },
        { driver, group: 'g' },
      );
      await drain(driver, testDrainOptions(topic, 'g', handler));
      const written = await keysOf(redis, `sluice:{${topic}}*`);
      // What streamKeys and the layout functions name is what was written: each kind at least once.
      expect(written).toEqual(
        expect.arrayContaining([
          keys.stream,
          keys.deadLetters('g'),
          keys.idempotency('x'),
          keys.batchIdempotency('batch', 0),
          keys.batchIdempotency('batch', 1),
          partitionCountKey(topic),
          declaredGroupsKey(topic),
        ]),
      );
      expect(written.filter((key) => key.startsWith(keys.processed('g', '')))).toHaveLength(2);
      for (const key of written) expect(calculateSlot(key), key).toBe(calculateSlot(keys.stream));
    });

    it('refuses bad input before writing anything', async () => {
      const topic = randomTopic();
      await expect(publish(driver, topic, { data: undefined })).rejects.toThrow(InvalidMessageError);
      await expect(publish(driver, topic, { data: 1n as unknown })).rejects.toThrow(/cannot be serialised/);
      await expect(publish(driver, topic, { data: 1, key: '' })).rejects.toThrow(
        /`key` must be a string of 1 to 256/,
      );
      await expect(
        publishBatch(driver, topic, [{ data: 1 }, { data: 2, idempotencyKey: 'x'.repeat(300) }]),
      ).rejects.toThrow(/messages\[1\]: `idempotencyKey`/);
      await expect(publishBatch(driver, topic, [])).rejects.toThrow(/batch of 1 to/);
      await expect(publish(driver, 'bad topic!', { data: 1 })).rejects.toThrow(/`topic` to match/);
      expect(await redis.exists(`sluice:{${topic}}`)).toBe(0);
    });
  });
});

/** Every key kind of one stream (a topic, a partition or a stream named directly), as the library names it. */
function keysOfEveryKind(keys: StreamKeys): string[] {
  return [
    keys.stream,
    keys.deadLetters('g'),
    keys.idempotency('k'),
    keys.batchIdempotency('k', 3),
    keys.processed('g', '1-0'),
    keys.lease('g'),
  ];
}

describe('key slots', () => {
  const topics = ['orders', randomTopic(), randomTopic()];
  const layouts = topics.flatMap((topic) =>
    [1, 2, 4, 16].flatMap((count) =>
      Array.from({ length: count }, (_, i) => ({ topic, keys: partitionKeys(topic, i, count) })),
    ),
  );

  it('every key kind of a stream hashes to its slot; the topic-wide keys to the plain stream slot', () => {
    for (const { keys } of layouts) {
      for (const key of keysOfEveryKind(keys))
        expect(calculateSlot(key), key).toBe(calculateSlot(keys.stream));
    }
    for (const topic of topics) {
      const slot = calculateSlot(streamKeys({ topic }).stream);
      expect(calculateSlot(partitionCountKey(topic))).toBe(slot);
      expect(calculateSlot(declaredGroupsKey(topic))).toBe(slot);
    }
    // A stream named directly (no hash tag): its companions hash like the whole stream name.
    const named = streamKeys({ stream: 'legacy-events' });
    for (const key of keysOfEveryKind(named))
      expect(calculateSlot(key), key).toBe(calculateSlot('legacy-events'));
    // The slot function tells keys apart: the 16 partitions of a topic lie in 16 slots.
    expect(
      new Set(Array.from({ length: 16 }, (_, i) => calculateSlot(partitionKeys('orders', i, 16).stream)))
        .size,
    ).toBe(16);
  });

  it("agrees with a real cluster's CLUSTER KEYSLOT for every key kind", async () => {
    const cluster = rawClusterClient();
    const all = [
      ...layouts.flatMap(({ keys }) => keysOfEveryKind(keys)),
      ...topics.flatMap((topic) => [partitionCountKey(topic), declaredGroupsKey(topic)]),
    ];
    const slots = await Promise.all(all.map((key) => cluster.call('CLUSTER', 'KEYSLOT', key)));
    expect(slots).toEqual(all.map((key) => calculateSlot(key)));
  });
});
