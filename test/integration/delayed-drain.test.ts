/**
 * Delayed messages reach the handlers: a drain of any group moves the due ones into the stream
 * (at its start, and during its reads when one comes due), publishes through the publish script
 * move a few too, and every group then reads them like any message — over every driver.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { measureLatency, slackMs } from '../support/latency.js';
import { waitFor } from '../support/wait-for.js';

describe.each(DRIVERS)('delayed messages drained over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  async function arrange() {
    const topic = randomTopic('delayed');
    const keys = streamKeys({ topic });
    for (const group of ['a', 'b']) await redis.xgroup('CREATE', keys.stream, group, '$', 'MKSTREAM');
    return { topic, keys };
  }

  /** Ms until the server's clock reaches `due` (its scores are on that clock). */
  async function untilDue(due: number): Promise<number> {
    const [seconds, micros] = (await redis.time()) as [string | number, string | number];
    return due - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
  }

  it('invisible until due, then moved during a running cycle and handled about one read later; every group gets it once', async () => {
    const { topic, keys } = await arrange();
    const latency = await measureLatency(driver, keys.stream);
    const DELAY_MS = 600;
    const result = await publish(driver, topic, { data: 'later', delayMs: DELAY_MS });
    expect(result).toMatchObject({ scheduled: true, duplicate: false });
    const due = result.deliverAt as number;
    const publishedAt = Date.now();

    // Before it is due: nothing to read, nothing in the stream.
    const early = await drain(
      driver,
      testDrainOptions(topic, 'a', () => {}, { idleExitMs: 50 }),
    );
    expect(early).toMatchObject({ read: 0, promoted: 0 });
    expect(await redis.xlen(keys.stream)).toBe(0);
    expect(await untilDue(due)).toBeGreaterThan(0);

    const handled: number[] = [];
    const report = await drain(
      driver,
      testDrainOptions(topic, 'a', () => void handled.push(Date.now() - publishedAt), {
        budgetMs: 4_000,
        idleExitMs: 1_500,
        blockMs: 100,
      }),
    );
    expect(report).toMatchObject({ promoted: 1, read: 1, acked: 1 });
    expect(handled).toHaveLength(1);
    expect(handled[0]).toBeGreaterThanOrEqual(DELAY_MS - 50);
    expect(handled[0]).toBeLessThanOrEqual(DELAY_MS + 300 + slackMs(latency, 4));

    const other: unknown[] = [];
    const second = await drain(
      driver,
      testDrainOptions(topic, 'b', (m) => void other.push(m.data)),
    );
    expect(other).toEqual(['later']);
    expect(second).toMatchObject({ promoted: 0, read: 1 });
    expect(await redis.zcard(keys.scheduled)).toBe(0);
    expect(await redis.hlen(keys.scheduledMessages)).toBe(0);
  });

  it('an ordered drain moves them during its reads too', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'first' });
    await publish(driver, topic, { data: 'second', delayMs: 400 });
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      testDrainOptions(topic, 'a', (m) => void seen.push(m.data), {
        ordered: true,
        budgetMs: 4_000,
        idleExitMs: 1_500,
        blockMs: 100,
      }),
    );
    expect(seen).toEqual(['first', 'second']);
    expect(report).toMatchObject({ promoted: 1, acked: 2 });
  });

  it('more due than one move takes: all reach the stream once in one cycle', async () => {
    const { topic, keys } = await arrange();
    const count = 1_500;
    const results = await publishBatch(
      driver,
      topic,
      Array.from({ length: count }, (_, i) => ({ data: i, delayMs: 200 })),
    );
    const last = Math.max(...results.map((r) => r.deliverAt as number));
    // Wait out the delay in the cycle itself: it ends once idle after they were all handled.
    const seen = new Set<unknown>();
    const report = await drain(
      driver,
      testDrainOptions(topic, 'a', (m) => void seen.add(m.data), {
        budgetMs: 10_000,
        idleExitMs: Math.max(1_000, (await untilDue(last)) + 800),
      }),
    );
    expect(report.promoted).toBe(count);
    expect(seen.size).toBe(count);
    expect(await redis.xlen(keys.stream)).toBe(count);
    expect(await redis.zcard(keys.scheduled)).toBe(0);
  });

  it('a publish through the publish script moves due ones first, and a retried delayed publish schedules once', async () => {
    const { topic, keys } = await arrange();
    const first = await publish(driver, topic, { data: 'due', delayMs: 100, idempotencyKey: 'k-1' });
    const again = await publish(driver, topic, { data: 'due', delayMs: 100, idempotencyKey: 'k-1' });
    expect(again).toMatchObject({ id: first.id, duplicate: true, scheduled: true });
    expect(await redis.zcard(keys.scheduled)).toBe(1);
    // Until it is due, a publish moves nothing.
    expect(await untilDue(first.deliverAt as number)).toBeGreaterThan(0);
    await waitFor(async () => (await untilDue(first.deliverAt as number)) < 0, {
      timeoutMs: 5_000,
      what: 'the delayed message to be due',
    });
    await publishBatch(driver, topic, [{ data: 'now' }]);
    const entries = (await redis.xrange(keys.stream, '-', '+')) as [string, string[]][];
    expect(entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1] as string))).toEqual([
      'due',
      'now',
    ]);
    expect(await redis.zcard(keys.scheduled)).toBe(0);
  });
});
