/**
 * Batch handlers (`drain(driver, { batchHandler })`): one call per batch, per-message outcomes —
 * acknowledged in one XACK, retried after the delay asked for or the back-off, dead-lettered when
 * permanent or out of deliveries; a throw fails the whole batch; a result it cannot use fails the
 * whole batch and acknowledges nothing. Over every driver; option errors need no Redis.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_FIELDS } from '../../src/consume/dead-letters.js';
import { drain } from '../../src/consume/drain.js';
import { type BatchHandler, type DrainOptions, resolveDrainOptions } from '../../src/consume/options.js';
import type { Message } from '../../src/core/envelope.js';
import { InvalidOptionError, PermanentError, RetryLaterError } from '../../src/core/errors.js';
import { fieldsToRecord } from '../../src/core/replies.js';
import { countingAcks } from '../support/ack-counter.js';
import { arrangeBatch, batchOptions, pendingOf } from '../support/batch-kit.js';
import { DRIVERS, type RawClient, recordingLogger } from '../support/fixtures.js';

/** The server's clock (ms): the retry schedule's scores are on it. */
async function serverNow(redis: RawClient): Promise<number> {
  const [seconds, micros] = (await redis.time()) as [string | number, string | number];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A driver that counts the XACKs it sends. */

describe('batch handler options', () => {
  const base = { topic: 'orders', group: 'g' } as const;
  const noop: BatchHandler = () => {};

  it('takes exactly one of handler and batchHandler, a function, and no concurrency above 1', () => {
    const both = { ...base, handler: () => {}, batchHandler: noop } as unknown as DrainOptions;
    expect(() => resolveDrainOptions(both)).toThrow(/exactly one of `handler` and `batchHandler`, got both/);
    const neither = { ...base } as unknown as DrainOptions;
    expect(() => resolveDrainOptions(neither)).toThrow(InvalidOptionError);
    expect(() => resolveDrainOptions(neither)).toThrow(
      /exactly one of `handler` and `batchHandler`, got neither/,
    );
    const notFunction = { ...base, batchHandler: 'x' } as unknown as DrainOptions;
    expect(() => resolveDrainOptions(notFunction)).toThrow(/`batchHandler` to be a function, got `"x"`/);
    expect(() => resolveDrainOptions({ ...base, batchHandler: noop, concurrency: 4 })).toThrow(
      /`concurrency` to be 1 \(or unset\) with `batchHandler`.*got `4`/,
    );
    const resolved = resolveDrainOptions({ ...base, batchHandler: noop, concurrency: 1 });
    expect(resolved.batchHandler).toBe(noop);
    expect(resolved.handler).toBeUndefined();
  });
});

describe.each(DRIVERS)('batch handler over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  const arrange = (count: number) => arrangeBatch(redis, driver, count);

  it('all succeed: one call per batch, in stream order, and at most one XACK per batch', async () => {
    const { topic, keys, ids } = await arrange(250);
    const calls: string[][] = [];
    const counted = countingAcks(kind.create());
    const report = await drain(
      counted.driver,
      batchOptions(
        topic,
        (messages) => {
          calls.push(messages.map((m) => m.id));
        },
        { batchSize: 100 },
      ),
    );
    expect(calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(calls.flat()).toEqual(ids);
    // At most one per batch (two batches between reads ahead ride with one read), each id once.
    expect(counted.xacks()).toBeGreaterThanOrEqual(2);
    expect(counted.xacks()).toBeLessThanOrEqual(3);
    expect([...counted.ids()].sort()).toEqual([...ids].sort());
    expect(report).toMatchObject({ read: 250, acked: 250, failed: 0, unfinished: 0 });
    expect((await pendingOf(redis, keys.stream)).size).toBe(0);
  });

  it('partial failures: the others are acknowledged; failed ones retried (their delay, or the back-off) or dead-lettered', async () => {
    const { topic, keys, ids } = await arrange(6);
    const [a, plain, b, permanent, later, thrownLike] = ids as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const before = await serverNow(redis);
    const report = await drain(
      driver,
      batchOptions(
        topic,
        () => ({
          failed: [
            { id: plain, error: new Error('downstream 500') },
            { id: permanent, error: new Error('unknown customer'), permanent: true },
            { id: later, retryAfterMs: 45_000 },
            { id: thrownLike, error: new RetryLaterError(30_000, '429') },
          ],
        }),
        { visibilityTimeoutMs: 20_000 },
      ),
    );
    const after = await serverNow(redis);
    expect(report).toMatchObject({ read: 6, acked: 2, failed: 3, deadLettered: 1, unfinished: 0 });
    const pending = await pendingOf(redis, keys.stream);
    expect([...pending.keys()].sort()).toEqual([plain, later, thrownLike].sort());
    expect([...pending.values()]).toEqual([1, 1, 1]);
    expect(pending.has(a) || pending.has(b)).toBe(false);
    // Due times on the server's clock: the back-off (visibility × 2^0), and each delay asked for.
    const schedule = keys.retrySchedule('g');
    for (const [id, delay] of [
      [plain, 20_000],
      [later, 45_000],
      [thrownLike, 30_000],
    ] as const) {
      const due = Number(await redis.zscore(schedule, id));
      expect(due, id).toBeGreaterThanOrEqual(before + delay);
      expect(due, id).toBeLessThanOrEqual(after + delay);
    }
    const dead = (await redis.xrange(keys.deadLetters('g'), '-', '+')) as [string, string[]][];
    expect(dead).toHaveLength(1);
    const fields = fieldsToRecord((dead[0] as [string, string[]])[1]);
    expect(fields[DEAD_LETTER_FIELDS.sourceId]).toBe(permanent);
    expect(fields[DEAD_LETTER_FIELDS.reason]).toBe('permanent');
    expect(fields[DEAD_LETTER_FIELDS.error]).toContain('unknown customer');
  });

  it('a failure on the last allowed delivery is dead-lettered (max-deliveries); a bad payload fails only its own message', async () => {
    const { topic, keys, ids } = await arrange(3);
    // An entry marked as sluice's whose data is not JSON: reading its `data` throws a PermanentError.
    const broken = (await redis.xadd(keys.stream, '*', 'sluice', '1', 'data', '{not json')) as string;
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      batchOptions(
        topic,
        (messages: readonly Message[]) => {
          const failed = [];
          for (const m of messages) {
            try {
              seen.push(m.data);
            } catch (error) {
              failed.push({ id: m.id, error });
            }
          }
          failed.push({ id: ids[0] as string, error: new Error('flaky') });
          return { failed };
        },
        { maxDeliveries: 1 },
      ),
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(report).toMatchObject({ read: 4, acked: 2, failed: 0, deadLettered: 2 });
    const dead = ((await redis.xrange(keys.deadLetters('g'), '-', '+')) as [string, string[]][]).map(
      ([, f]) => fieldsToRecord(f),
    );
    expect(dead.map((f) => [f[DEAD_LETTER_FIELDS.sourceId], f[DEAD_LETTER_FIELDS.reason]])).toEqual([
      [ids[0], 'max-deliveries'],
      [broken, 'permanent'],
    ]);
    expect((await pendingOf(redis, keys.stream)).size).toBe(0);
  });

  it('throwing fails the whole batch: every message retried, after a RetryLaterError’s delay', async () => {
    const { topic, keys, ids } = await arrange(4);
    const before = await serverNow(redis);
    const report = await drain(
      driver,
      batchOptions(topic, () => {
        throw new RetryLaterError(50_000, 'rate limited');
      }),
    );
    expect(report).toMatchObject({ read: 4, acked: 0, failed: 4, deadLettered: 0 });
    const pending = await pendingOf(redis, keys.stream);
    expect([...pending.keys()]).toEqual(ids);
    for (const id of ids) {
      expect(Number(await redis.zscore(keys.retrySchedule('g'), id))).toBeGreaterThanOrEqual(before + 50_000);
    }
  });

  it('a thrown PermanentError dead-letters the whole batch', async () => {
    const { topic, keys, ids } = await arrange(3);
    const report = await drain(
      driver,
      batchOptions(topic, async () => {
        throw new PermanentError('the whole export is malformed');
      }),
    );
    expect(report).toMatchObject({ read: 3, acked: 0, failed: 0, deadLettered: 3 });
    const dead = (await redis.xrange(keys.deadLetters('g'), '-', '+')) as [string, string[]][];
    expect(dead.map(([, f]) => fieldsToRecord(f)[DEAD_LETTER_FIELDS.sourceId])).toEqual(ids);
    expect((await pendingOf(redis, keys.stream)).size).toBe(0);
  });

  it.each([
    {
      what: 'an id not in the batch',
      result: () => ({ failed: [{ id: '1-1' }] }),
      logged: /"1-1" is not a message of this batch/,
    },
    {
      what: 'an id twice',
      result: (ids: string[]) => ({ failed: [{ id: ids[1] }, { id: ids[1] }] }),
      logged: /is listed twice/,
    },
    { what: 'not an object', result: () => 42, logged: /expected nothing or \{ failed/ },
    { what: 'null', result: () => null, logged: /got `null`/ },
    { what: '`failed` not an array', result: () => ({ failures: [] }), logged: /without a `failed` array/ },
    {
      what: 'a bad retryAfterMs',
      result: (ids: string[]) => ({ failed: [{ id: ids[0], retryAfterMs: -1 }] }),
      logged: /`retryAfterMs` of .* finite number ≥ 0, got `-1`/,
    },
    {
      what: 'a bad permanent',
      result: (ids: string[]) => ({ failed: [{ id: ids[0], permanent: 'yes' }] }),
      logged: /`permanent` of .* boolean/,
    },
    {
      what: 'an entry without an id',
      result: () => ({ failed: [{ error: 'x' }] }),
      logged: /failed\[0\]: expected `id`/,
    },
  ])(
    'a result with $what acknowledges nothing, retries the whole batch and logs an error naming it',
    async ({ result, logged }) => {
      const { topic, keys, ids } = await arrange(3);
      const { logger, lines } = recordingLogger();
      const report = await drain(
        driver,
        batchOptions(topic, (() => result(ids)) as unknown as BatchHandler, { logger }),
      );
      expect(report).toMatchObject({ read: 3, acked: 0, failed: 3, deadLettered: 0 });
      expect([...(await pendingOf(redis, keys.stream)).keys()]).toEqual(ids);
      const errors = lines.filter((l) => l.level === 'error' && /unusable result/.test(l.message));
      expect(errors).toHaveLength(1);
      expect(String(errors[0]?.fields?.problem)).toMatch(logged);
    },
  );
});
