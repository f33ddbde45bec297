/**
 * Publishing delayed messages (`delayMs`, `deliverAt`) over every driver: kept out of the stream in
 * the topic's scheduled set until due, validated before anything is written, written once under an
 * idempotency key, routed by key on a partitioned topic.
 */
import { describe, expect, it } from 'vitest';
import { declareTopic } from '../../src/core/declare.js';
import { encodeMessage } from '../../src/core/envelope.js';
import { InvalidMessageError } from '../../src/core/errors.js';
import { type StreamKeys, streamKeys } from '../../src/core/keys.js';
import { partitionForKey, partitionKeys } from '../../src/core/partitions.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, type RawClient, randomTopic } from '../support/fixtures.js';

const HOUR = 3_600_000;
const WEEK = 604_800_000;

/** Redis's clock, in ms (on a cluster, a master's: the test's nodes share one machine's clock). */
async function redisNow(redis: RawClient): Promise<number> {
  if ('nodes' in redis) await redis.ping();
  const node = 'nodes' in redis ? redis.nodes('master')[0] : redis;
  const [s, us] = (await (node as RawClient).time()) as unknown as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** What a topic holds: stream length, scheduled count, scheduled messages' count. */
async function holdings(redis: RawClient, keys: StreamKeys) {
  return {
    stream: await redis.xlen(keys.stream),
    scheduled: await redis.zcard(keys.scheduled),
    messages: await redis.hlen(keys.scheduledMessages),
  };
}

describe.each(DRIVERS)('delayed publish over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  it('a delayMs message is kept out of the stream, scheduled by Redis clock with its fields as XADD would get them', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    const before = await redisNow(redis);
    const message = { data: { orderId: 42 }, key: 'customer-7', delayMs: HOUR };
    const result = await publish(driver, topic, message);
    const after = await redisNow(redis);
    expect(result).toMatchObject({ duplicate: false, scheduled: true });
    expect(result.deliverAt).toBeGreaterThanOrEqual(before + HOUR);
    expect(result.deliverAt).toBeLessThanOrEqual(after + HOUR);
    expect(result.id).toMatch(new RegExp(`^s-${result.deliverAt}-[A-Za-z0-9_-]+$`));
    expect(await holdings(redis, keys)).toEqual({ stream: 0, scheduled: 1, messages: 1 });
    expect(await redis.zscore(keys.scheduled, result.id)).toBe(String(result.deliverAt));
    const stored = await redis.hget(keys.scheduledMessages, result.id);
    expect(JSON.parse(stored as string)).toEqual(encodeMessage(message));
  });

  it('deliverAt is used as given; delayMs 0 and a deliverAt already past publish at once', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    const at = Date.now() + 2 * HOUR;
    const later = await publish(driver, topic, { data: 'later', deliverAt: at });
    expect(later).toMatchObject({ scheduled: true, deliverAt: at });
    expect(await redis.zscore(keys.scheduled, later.id)).toBe(String(at));
    const now = await publish(driver, topic, { data: 'now', delayMs: 0 });
    const past = await publish(driver, topic, { data: 'past', deliverAt: Date.now() - 60_000 });
    for (const result of [now, past]) {
      expect(result).toEqual({ id: expect.stringMatching(/^\d+-\d+$/), duplicate: false });
    }
    expect(await holdings(redis, keys)).toEqual({ stream: 2, scheduled: 1, messages: 1 });
    const entries = await redis.xrange(keys.stream, '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([
      encodeMessage({ data: 'now' }),
      encodeMessage({ data: 'past' }),
    ]);
  });

  it('refuses bad delays naming the field and the limit, writing nothing', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ delayMs: 1, deliverAt: Date.now() + 1 }, /`delayMs` or `deliverAt`, not both/],
      [{ delayMs: -1 }, /`delayMs` must be an integer from 0 to 604800000 \(maxDelayMs\), got `-1`/],
      [{ delayMs: 1.5 }, /`delayMs` must be an integer from 0 to 604800000/],
      [{ delayMs: Number.NaN }, /`delayMs` must be an integer/],
      [{ delayMs: Number.POSITIVE_INFINITY }, /`delayMs` must be an integer/],
      [{ delayMs: '1000' }, /`delayMs` must be an integer .* \(string\)/],
      [
        { delayMs: WEEK + 1 },
        /`delayMs` must be an integer from 0 to 604800000 \(maxDelayMs\), got `604800001`/,
      ],
      [{ deliverAt: -5 }, /`deliverAt` must be an integer number of ms since the epoch, got `-5`/],
      [{ deliverAt: Date.now() + 0.5 }, /`deliverAt` must be an integer/],
      [
        { deliverAt: Date.now() + WEEK + 60_000 },
        /`deliverAt` is \d+ ms from now; the limit is 604800000 \(maxDelayMs\)/,
      ],
    ];
    for (const [fields, pattern] of refusals) {
      const message = { data: 1, ...fields } as never;
      await expect(publish(driver, topic, message), JSON.stringify(fields)).rejects.toThrow(pattern);
      await expect(publish(driver, topic, message)).rejects.toBeInstanceOf(InvalidMessageError);
    }
    // The limit is an option.
    await expect(
      publish(driver, topic, { data: 1, delayMs: 60_001 }, { maxDelayMs: 60_000 }),
    ).rejects.toThrow(/from 0 to 60000 \(maxDelayMs\)/);
    // One bad message refuses the whole batch, before anything is written.
    await expect(
      publishBatch(driver, topic, [
        { data: 'ok' },
        { data: 'later', delayMs: HOUR },
        { data: 'bad', delayMs: WEEK + 1 },
      ]),
    ).rejects.toThrow(/^messages\[2\]: `delayMs` must be/);
    expect(await holdings(redis, keys)).toEqual({ stream: 0, scheduled: 0, messages: 0 });
    expect(await redis.exists(keys.stream)).toBe(0);
  });

  it('a retry under the same idempotency key schedules once and answers the first result', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    const message = { data: 'remind', idempotencyKey: 'reminder-1', delayMs: HOUR };
    const first = await publish(driver, topic, message);
    const again = await publish(driver, topic, { ...message, delayMs: 2 * HOUR });
    expect(first.scheduled).toBe(true);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await holdings(redis, keys)).toEqual({ stream: 0, scheduled: 1, messages: 1 });
  });

  it('a batch mixes immediate and delayed messages in order; retried under its key it writes nothing twice', async () => {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    const at = Date.now() + 3 * HOUR;
    const messages = [
      { data: 0 },
      { data: 1, delayMs: HOUR },
      { data: 2, deliverAt: Date.now() - 1_000 },
      { data: 3, deliverAt: at, idempotencyKey: 'own-3' },
      { data: 4, delayMs: 0 },
    ];
    const first = await publishBatch(driver, topic, messages, { idempotencyKey: 'batch-1' });
    expect(first.map((r) => r.scheduled ?? false)).toEqual([false, true, false, true, false]);
    expect(first[3]?.deliverAt).toBe(at);
    expect(await holdings(redis, keys)).toEqual({ stream: 3, scheduled: 2, messages: 2 });
    const again = await publishBatch(driver, topic, messages, { idempotencyKey: 'batch-1' });
    expect(again).toEqual(first.map((r) => ({ ...r, duplicate: true })));
    expect(await holdings(redis, keys)).toEqual({ stream: 3, scheduled: 2, messages: 2 });
    const entries = await redis.xrange(keys.stream, '-', '+');
    expect(entries.map(([, fields]) => JSON.parse(fields[3] as string))).toEqual([0, 2, 4]);
  });

  it("on a partitioned topic a delayed message waits in its key's partition", async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { partitions: 4 });
    const results = await publishBatch(
      driver,
      topic,
      ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({ data: key, key, delayMs: HOUR })),
    );
    const single = await publish(driver, topic, { data: 'g', key: 'g', delayMs: HOUR });
    for (const [i, result] of [...results, single].entries()) {
      const key = 'abcdefg'[i] as string;
      const partition = partitionForKey(key, 4);
      expect(result).toMatchObject({ scheduled: true, partition });
      const keys = partitionKeys(topic, partition, 4);
      expect(await redis.zscore(keys.scheduled, result.id)).toBe(String(result.deliverAt));
      expect(await redis.xlen(keys.stream)).toBe(0);
    }
  });
});
