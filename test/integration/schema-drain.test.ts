/**
 * Topic schemas when draining: the drain's `schema` types `message.data` (its output) and checks
 * every message before a handler sees it; one that fails is dead-lettered at once (reason
 * `invalid`, the issues in `dlq.error`) and never handed out — per-message and batch handlers,
 * synchronous and asynchronous schemas, ordered draining. Over every driver.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_FIELDS } from '../../src/consume/dead-letters.js';
import { drain } from '../../src/consume/drain.js';
import { type DrainSettings, resolveDrainOptions } from '../../src/consume/options.js';
import type { Message } from '../../src/core/envelope.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { fieldsToRecord } from '../../src/core/replies.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, type RawClient, randomTopic } from '../support/fixtures.js';
import { type CheckedOrder, orderSchema } from '../support/schema-kit.js';

const settings = (topic: string): DrainSettings => ({
  topic,
  group: 'g',
  budgetMs: 5_000,
  blockMs: 20,
  idleExitMs: 100,
  logger: silentLogger,
});

/** A topic with group `g`: orders 0–5, of which 2 and 4 fail the schema, and one foreign entry. */
async function arrange(redis: RawClient, driver: Parameters<typeof publishBatch>[0]) {
  const topic = randomTopic('schema');
  const keys = streamKeys({ topic });
  await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
  const data = [0, 1, 2, 3, 4, 5].map((n) =>
    n === 2
      ? { orderId: 'two', currency: 'EUR' }
      : n === 4
        ? { orderId: 4 }
        : { orderId: n, currency: 'EUR' },
  );
  const ids = (
    await publishBatch(
      driver,
      topic,
      data.map((d) => ({ data: d })),
    )
  ).map((r) => r.id);
  const foreign = (await redis.xadd(keys.stream, '*', 'order', '9')) as string;
  return { topic, keys, ids, foreign };
}

/** The group's dead letters: source id → their dlq.* stamps. */
async function deadLetters(redis: RawClient, stream: string): Promise<Map<string, Record<string, string>>> {
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return new Map(
    entries.map(([, fields]) => {
      const record = fieldsToRecord(fields);
      return [record[DEAD_LETTER_FIELDS.sourceId] as string, record];
    }),
  );
}

describe.each(DRIVERS)('topic schemas when draining over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  async function expectInvalidDeadLettered(
    keys: ReturnType<typeof streamKeys>,
    ids: string[],
    foreign: string,
  ) {
    const dead = await deadLetters(redis, keys.deadLetters('g'));
    expect([...dead.keys()].sort()).toEqual([ids[2], ids[4], foreign].sort());
    for (const record of dead.values()) {
      expect(record[DEAD_LETTER_FIELDS.reason]).toBe('invalid');
      expect(record[DEAD_LETTER_FIELDS.deliveries]).toBe('1');
    }
    expect(dead.get(ids[2] as string)?.[DEAD_LETTER_FIELDS.error]).toBe(
      "MessageSchemaError: the message does not match the topic's schema: data.orderId: expected a number",
    );
    expect(dead.get(ids[4] as string)?.[DEAD_LETTER_FIELDS.error]).toMatch(
      /data\.currency: expected a string$/,
    );
    expect(dead.get(foreign)?.[DEAD_LETTER_FIELDS.error]).toMatch(/data: expected an object$/);
    // Nothing is left pending: the valid ones acknowledged, the invalid ones moved.
    expect(((await redis.xpending(keys.stream, 'g')) as unknown[])[0]).toBe(0);
  }

  it.each([false, true])(
    'a handler sees only valid messages, with the schema output as data (async %s)',
    async (async) => {
      const { topic, keys, ids, foreign } = await arrange(redis, driver);
      const seen: CheckedOrder[] = [];
      const report = await drain(driver, {
        ...settings(topic),
        schema: orderSchema({ async }),
        concurrency: 2,
        handler: (message) => {
          // Typed from the schema's output.
          const order: CheckedOrder = message.data;
          seen.push(order);
        },
      });
      expect(seen.map((o) => o.orderId).sort()).toEqual([0, 1, 3, 5]);
      expect(seen.every((o) => o.checked)).toBe(true);
      expect(report).toMatchObject({ read: 7, acked: 4, deadLettered: 3, failed: 0 });
      await expectInvalidDeadLettered(keys, ids, foreign);
    },
  );

  it.each([false, true])(
    'a batch handler is called with the valid messages only (async %s)',
    async (async) => {
      const { topic, keys, ids, foreign } = await arrange(redis, driver);
      const calls: (readonly Message<CheckedOrder>[])[] = [];
      const report = await drain(driver, {
        ...settings(topic),
        schema: orderSchema({ async }),
        batchHandler: (messages) => {
          calls.push(messages);
        },
      });
      expect(calls).toHaveLength(1);
      expect(calls[0]?.map((m) => m.data.orderId)).toEqual([0, 1, 3, 5]);
      expect(calls[0]?.every((m) => m.data.checked)).toBe(true);
      expect(report).toMatchObject({ read: 7, acked: 4, deadLettered: 3 });
      await expectInvalidDeadLettered(keys, ids, foreign);
    },
  );

  it('a batch of nothing but invalid messages makes no call', async () => {
    const topic = randomTopic('schema');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
    await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }]);
    let calls = 0;
    const report = await drain(driver, {
      ...settings(topic),
      schema: orderSchema(),
      batchHandler: () => {
        calls++;
      },
    });
    expect(calls).toBe(0);
    expect(report).toMatchObject({ deadLettered: 2, acked: 0 });
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
  });

  it.each(['handler', 'batchHandler'] as const)(
    'ordered draining (%s): every valid message in stream order',
    async (which) => {
      const { topic, keys, ids, foreign } = await arrange(redis, driver);
      const seen: number[] = [];
      const options = { ...settings(topic), schema: orderSchema(), ordered: true };
      const report = await drain(
        driver,
        which === 'handler'
          ? { ...options, handler: (m) => void seen.push(m.data.orderId) }
          : { ...options, batchHandler: (ms) => void seen.push(...ms.map((m) => m.data.orderId)) },
      );
      expect(seen).toEqual([0, 1, 3, 5]);
      expect(report).toMatchObject({ acked: 4, deadLettered: 3 });
      await expectInvalidDeadLettered(keys, ids, foreign);
    },
  );
});

describe('the drain schema option', () => {
  it('is a Standard Schema or nothing', () => {
    const base = { topic: 'orders', group: 'g', handler: () => {} } as const;
    expect(() => resolveDrainOptions({ ...base, schema: {} as never })).toThrow(InvalidOptionError);
    expect(() => resolveDrainOptions({ ...base, schema: {} as never })).toThrow(
      /`schema` to be a Standard Schema/,
    );
    const schema = orderSchema();
    expect(resolveDrainOptions({ ...base, schema }).schema).toBe(schema);
    expect(resolveDrainOptions(base).schema).toBeUndefined();
  });
});
