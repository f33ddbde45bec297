import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_FIELDS } from '../../src/consume/dead-letters.js';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { fieldsToRecord } from '../../src/core/replies.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, lambdaContext, randomTopic, testDrainOptions } from '../support/fixtures.js';
import { describeSlack, type Latency, measureLatency, probeLatency, slackMs } from '../support/latency.js';

const options = testDrainOptions;

/**
 * A cycle's budget in the deadline tests: long enough for its first read on a busy machine (over
 * REST too), so that the message is being handled when the deadline comes.
 */
const BUDGET_MS = 1_000;

/** What a cycle still sends after its deadline: settling, giving back, tidying (and a read under way). */
const ROUND_TRIPS_AFTER_DEADLINE = 4;

describe.each(DRIVERS)('drain over $name', (kind) => {
  const redis = kind.redis();

  /** A topic with its group already created at `$`, so what is published next is delivered. */
  async function arrange(group = 'g') {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, group, '$', 'MKSTREAM');
    return { topic, group, keys };
  }

  /**
   * A minute passes for every pending entry: each looks idle for a minute (past the visibility
   * timeout), keeping its owner and count, and what the group's retry schedule holds is due.
   */
  async function agePending(stream: string, group: string): Promise<void> {
    const pending = (await redis.xpending(stream, group, '-', '+', 1000)) as [string, string][];
    for (const [id, owner] of pending)
      await redis.xclaim(stream, group, owner, 0, id, 'IDLE', 60_000, 'JUSTID');
    const schedule = streamKeys({ stream }).retrySchedule(group);
    for (const id of await redis.zrange(schedule, 0, -1)) await redis.zadd(schedule, 0, id);
  }

  async function pendingCount(stream: string, group: string): Promise<number> {
    const summary = (await redis.xpending(stream, group)) as [number, ...unknown[]];
    return summary[0];
  }

  const driver = kind.create();

  it('round trip: publishes, hands each message to the handler once, acknowledges it', async () => {
    const { topic, group, keys } = await arrange();
    const published = await publishBatch(driver, topic, [
      { data: { n: 1 } },
      { data: 'two', key: 'k2' },
      { data: [3] },
    ]);
    const seen: Message[] = [];
    const report = await drain(
      driver,
      options(topic, group, (m) => void seen.push(m)),
    );

    expect(seen.map((m) => m.id)).toEqual(published.map((p) => p.id));
    expect(seen.map((m) => m.data)).toEqual([{ n: 1 }, 'two', [3]]);
    expect(seen[1]?.key).toBe('k2');
    expect(seen.every((m) => m.format === 'sluice' && m.deliveries === 1 && m.stream === keys.stream)).toBe(
      true,
    );
    expect(report).toMatchObject({
      read: 3,
      acked: 3,
      failed: 0,
      deadLettered: 0,
      stoppedBy: 'idle',
      lag: 0,
      pending: 0,
    });
    expect(await pendingCount(keys.stream, group)).toBe(0);
  });

  it('payloads that look like numbers or JSON text round-trip as they were', async () => {
    const { topic, group } = await arrange();
    const values = ['123', '{"a":1}', 123, null, true, { nested: { deep: ['x'] } }, ''];
    await publishBatch(
      driver,
      topic,
      values.map((data) => ({ data })),
    );
    const seen: unknown[] = [];
    await drain(
      driver,
      options(topic, group, (m) => void seen.push(m.data)),
    );
    expect(seen).toEqual(values);
  });

  it('acknowledges only after the handler succeeded', async () => {
    const { topic, group, keys } = await arrange();
    await publish(driver, topic, { data: 1 });
    let pendingDuringHandler = -1;
    const report = await drain(
      driver,
      options(topic, group, async () => {
        pendingDuringHandler = await pendingCount(keys.stream, group);
      }),
    );
    expect(pendingDuringHandler).toBe(1);
    expect(report.acked).toBe(1);
    expect(await pendingCount(keys.stream, group)).toBe(0);
  });

  it('a failure stays pending and is redelivered after the visibility timeout with its delivery count', async () => {
    const { topic, group, keys } = await arrange();
    const { id } = await publish(driver, topic, { data: 'flaky' });
    const first = await drain(
      driver,
      options(topic, group, () => {
        throw new Error('transient');
      }),
    );
    expect(first).toMatchObject({ read: 1, failed: 1, acked: 0 });
    expect(await pendingCount(keys.stream, group)).toBe(1);

    // Inside the visibility timeout nobody gets it again.
    const early: Message[] = [];
    await drain(
      driver,
      options(topic, group, (m) => void early.push(m), { visibilityTimeoutMs: 60_000 }),
    );
    expect(early).toEqual([]);

    await agePending(keys.stream, group);
    const later: Message[] = [];
    const second = await drain(
      driver,
      options(topic, group, (m) => void later.push(m), { visibilityTimeoutMs: 1 }),
    );
    expect(later.map((m) => [m.id, m.deliveries])).toEqual([[id, 2]]);
    expect(second).toMatchObject({ reclaimed: 1, acked: 1 });
    expect(await pendingCount(keys.stream, group)).toBe(0);
  });

  it('a poison message reaches the dead-letter stream after exactly maxDeliveries attempts', async () => {
    const { topic, group, keys } = await arrange();
    const { id } = await publish(driver, topic, { data: { poison: true }, key: 'p' });
    let attempts = 0;
    const poison = () => {
      attempts++;
      throw new Error('cannot parse');
    };
    for (let i = 0; i < 6; i++) {
      await agePending(keys.stream, group);
      await drain(driver, options(topic, group, poison, { maxDeliveries: 3, visibilityTimeoutMs: 1 }));
    }
    expect(attempts).toBe(3);
    expect(await pendingCount(keys.stream, group)).toBe(0);
    const dead = await redis.xrange(keys.deadLetters(group), '-', '+');
    expect(dead).toHaveLength(1);
    const fields = fieldsToRecord((dead[0] as [string, string[]])[1]);
    expect(fields).toMatchObject({
      data: '{"poison":true}',
      key: 'p',
      [DEAD_LETTER_FIELDS.reason]: 'max-deliveries',
      [DEAD_LETTER_FIELDS.deliveries]: '3',
      [DEAD_LETTER_FIELDS.sourceId]: id,
      [DEAD_LETTER_FIELDS.sourceStream]: keys.stream,
      [DEAD_LETTER_FIELDS.group]: group,
    });
    expect(fields[DEAD_LETTER_FIELDS.error]).toContain('cannot parse');
    expect(Number.isNaN(Date.parse(fields[DEAD_LETTER_FIELDS.deadAt] as string))).toBe(false);
  });

  it('a message whose deliveries exceeded maxDeliveries without a verdict (crashes) is dead-lettered on reclaim', async () => {
    const { topic, group, keys } = await arrange();
    const { id } = await publish(driver, topic, { data: 'crashes the handler' });
    // Three deliveries that never settled, as if each invocation had been killed mid-handler.
    await redis.xreadgroup('GROUP', group, 'dead-1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    await redis.xclaim(keys.stream, group, 'dead-2', 0, id);
    await redis.xclaim(keys.stream, group, 'dead-3', 0, id, 'IDLE', 60_000);
    const handled: string[] = [];
    const report = await drain(
      driver,
      options(topic, group, (m) => void handled.push(m.id), { maxDeliveries: 3, visibilityTimeoutMs: 1 }),
    );
    expect(handled).toEqual([]);
    expect(report).toMatchObject({ reclaimed: 1, deadLettered: 1 });
    expect(await redis.xlen(keys.deadLetters(group))).toBe(1);
  });

  it('a PermanentError dead-letters at once', async () => {
    const { topic, group, keys } = await arrange();
    await publishBatch(driver, topic, [{ data: 'bad' }, { data: 'good' }]);
    const report = await drain(
      driver,
      options(topic, group, (m) => {
        if (m.data === 'bad') throw new PermanentError('malformed order');
      }),
    );
    expect(report).toMatchObject({ read: 2, acked: 1, deadLettered: 1, failed: 0 });
    const [[, fields]] = (await redis.xrange(keys.deadLetters(group), '-', '+')) as [[string, string[]]];
    expect(fieldsToRecord(fields)).toMatchObject({
      [DEAD_LETTER_FIELDS.reason]: 'permanent',
      [DEAD_LETTER_FIELDS.deliveries]: '1',
    });
    expect(await pendingCount(keys.stream, group)).toBe(0);
  });

  it('a message that cannot be dead-lettered stays pending and does not stop the group', async () => {
    const { topic, group, keys } = await arrange();
    await redis.set(keys.deadLetters(group), 'not a stream'); // WRONGTYPE for the dead-letter XADD
    await publishBatch(driver, topic, [{ data: 'bad' }, { data: 'good' }]);
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      options(topic, group, (m) => {
        seen.push(m.data);
        if (m.data === 'bad') throw new PermanentError('malformed');
      }),
    );
    expect(seen).toEqual(['bad', 'good']);
    expect(report).toMatchObject({ stoppedBy: 'idle', acked: 1, deadLettered: 0 });
    expect(await pendingCount(keys.stream, group)).toBe(1);
    await redis.del(keys.deadLetters(group));
  });

  it('dead letters are kept per group: another group still processes the message', async () => {
    const { topic, keys } = await arrange('strict');
    await redis.xgroup('CREATE', keys.stream, 'lenient', '$');
    await publish(driver, topic, { data: 'x' });
    await drain(
      driver,
      options(topic, 'strict', () => {
        throw new PermanentError('no');
      }),
    );
    const report = await drain(
      driver,
      options(topic, 'lenient', () => {}),
    );
    expect(report.acked).toBe(1);
    expect(await redis.xlen(keys.deadLetters('strict'))).toBe(1);
    expect(await redis.exists(keys.deadLetters('lenient'))).toBe(0);
  });

  /** A driver of its own for the latency probe, so that its round trips neither wait behind the cycle's nor delay them. */
  const probeDriver = kind.create();

  /**
   * Times a cycle with `budgetMs` from now: `check()` fails when it returned later than the
   * deadline plus the slack for the few round trips it still makes after it, measured on this
   * driver and machine just before and while it ran.
   */
  async function timeCycle(stream: string, budgetMs: number) {
    const probe = probeLatency(probeDriver, stream, await measureLatency(probeDriver, stream));
    const startedAt = Date.now();
    return {
      startedAt,
      async check(): Promise<Latency> {
        const overMs = Date.now() - startedAt - budgetMs;
        const latency = await probe.stop();
        expect(
          overMs,
          `ms past the deadline (${describeSlack(latency, ROUND_TRIPS_AFTER_DEADLINE)})`,
        ).toBeLessThanOrEqual(slackMs(latency, ROUND_TRIPS_AFTER_DEADLINE));
        return latency;
      },
    };
  }

  it('honours the deadline with a slow handler: returns in time, signal fired, message left pending', async () => {
    const { topic, group, keys } = await arrange();
    const { id } = await publish(driver, topic, { data: 'slow' });
    let aborted = false;
    const budgetMs = BUDGET_MS;
    const timing = await timeCycle(keys.stream, budgetMs);
    const report = await drain(
      driver,
      options(
        topic,
        group,
        (_m, { signal }) =>
          new Promise<void>((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(signal.reason);
            });
          }),
        { budgetMs, idleExitMs: undefined },
      ),
    );
    await timing.check();
    expect(aborted).toBe(true);
    expect(report).toMatchObject({ stoppedBy: 'budget', acked: 0, unfinished: 1, failed: 0 });
    const [entry] = (await redis.xpending(keys.stream, group, '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(entry?.[0]).toBe(id);
  });

  it('a handler that ignores the signal cannot hold the cycle past its deadline', async () => {
    const { topic, group, keys } = await arrange();
    await publish(driver, topic, { data: 'stuck' });
    let release: () => void = () => {};
    const budgetMs = BUDGET_MS;
    const timing = await timeCycle(keys.stream, budgetMs);
    const report = await drain(
      driver,
      options(topic, group, () => new Promise<void>((resolve) => (release = resolve)), {
        budgetMs,
        idleExitMs: undefined,
      }),
    );
    const latency = await timing.check();
    expect(report).toMatchObject({ read: 1, acked: 0, unfinished: 1 });
    release(); // finishing after the cycle returned must not acknowledge it
    // A late XACK would be sent at once: give it the time of a few round trips to arrive.
    await new Promise((r) => setTimeout(r, slackMs(latency, 4)));
    expect(await pendingCount(keys.stream, group)).toBe(1);
  });

  it('the deadline follows the Lambda context: remaining time minus the safety margin', async () => {
    const { topic, group, keys } = await arrange();
    const timing = await timeCycle(keys.stream, 300);
    const report = await drain(driver, {
      ...options(topic, group, () => {}, { budgetMs: 50_000, idleExitMs: undefined }),
      safetyMarginMs: 200,
      remainingTimeMs: lambdaContext(500).getRemainingTimeInMillis,
    });
    const elapsed = Date.now() - timing.startedAt;
    expect(report.stoppedBy).toBe('budget');
    // 500 ms left less the 200 ms margin: the cycle ends by 300 ms (not at 500: the margin is kept
    // free), and not long before it.
    expect(elapsed).toBeGreaterThanOrEqual(150);
    await timing.check();
  });

  it('entries read but not started by the deadline are given back with their delivery count restored', async () => {
    const { topic, group } = await arrange();
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 5 }, (_, i) => ({ data: i })),
    );
    const report = await drain(
      driver,
      options(
        topic,
        group,
        (_m, { signal }) =>
          new Promise<void>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        // Long enough for the batch to be read on a busy machine (the read is what this is about).
        { budgetMs: BUDGET_MS, idleExitMs: undefined },
      ),
    );
    expect(report).toMatchObject({ read: 5, unfinished: 1, released: 4, acked: 0 });
    const seen: Message[] = [];
    await drain(
      driver,
      options(topic, group, (m) => void seen.push(m)),
    );
    // The four released entries come back at once (idle set past the visibility timeout), as first deliveries.
    expect(seen.map((m) => [m.data, m.deliveries])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it('counts pending entries deleted from the stream before they were processed', async () => {
    const { topic, group, keys } = await arrange();
    const published = await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
    await redis.xreadgroup('GROUP', group, 'crashed', 'COUNT', 10, 'STREAMS', keys.stream, '>');
    await redis.xdel(keys.stream, published[0]?.id as string, published[1]?.id as string);
    await redis.xclaim(
      keys.stream,
      group,
      'crashed',
      0,
      published[2]?.id as string,
      'IDLE',
      60_000,
      'JUSTID',
    );
    // The deleted entries (which cannot be claimed to age them) must be past the 1 ms visibility timeout.
    await expect
      .poll(async () => {
        const rows = (await redis.xpending(keys.stream, group, '-', '+', 10)) as [string, string, number][];
        return Math.min(...rows.map((row) => row[2]));
      })
      .toBeGreaterThanOrEqual(2);
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      options(topic, group, (m) => void seen.push(m.data), { visibilityTimeoutMs: 1 }),
    );
    expect(report).toMatchObject({ lostToTrim: 2, reclaimed: 1, acked: 1 });
    expect(seen).toEqual([3]);
    expect(await pendingCount(keys.stream, group)).toBe(0);
  });

  it('consumes a foreign stream written with arbitrary fields; the handler sees the raw fields', async () => {
    const stream = `orders-from-elsewhere-${randomTopic()}`;
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    await redis.xadd(stream, '*', 'order', '42', 'amount', '9.99', '__proto__', 'x', 'data', 'not json');
    const seen: Message[] = [];
    const report = await drain(driver, {
      ...options('unused', 'g', (m) => void seen.push(m)),
      topic: undefined,
      stream,
    });
    expect(report.acked).toBe(1);
    expect(seen[0]).toMatchObject({ format: 'foreign', data: undefined, key: undefined });
    expect(Object.entries(seen[0]?.fields ?? {})).toEqual([
      ['order', '42'],
      ['amount', '9.99'],
      ['__proto__', 'x'],
      ['data', 'not json'],
    ]);
    await redis.del(stream);
  });

  it('bounded concurrency runs handlers in parallel up to the limit', async () => {
    const { topic, group } = await arrange();
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ data: i })),
    );
    let running = 0;
    let most = 0;
    const report = await drain(
      driver,
      options(
        topic,
        group,
        async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        },
        { concurrency: 4 },
      ),
    );
    expect(report.acked).toBe(20);
    expect(most).toBe(4);
  });

  it('concurrency 1 keeps stream order', async () => {
    const { topic, group } = await arrange();
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 250 }, (_, i) => ({ data: i })),
    );
    const seen: unknown[] = [];
    await drain(
      driver,
      options(topic, group, (m) => void seen.push(m.data), { batchSize: 30 }),
    );
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('recreates the group when it vanished after being cached', async () => {
    const { topic, group, keys } = await arrange();
    await drain(
      driver,
      options(topic, group, () => {}),
    );
    await redis.del(keys.stream); // drops the group with the stream
    const report = await drain(
      driver,
      options(topic, group, () => {}),
    );
    expect(report.stoppedBy).toBe('idle');
    expect(await redis.xinfo('GROUPS', keys.stream)).toHaveLength(1);
  });

  it('recreates a vanished group even when its names read like network errors', async () => {
    const topic = randomTopic('socket-timeout-unavailable');
    const { stream } = streamKeys({ topic });
    await drain(
      driver,
      options(topic, 'connection-lost', () => {}),
    );
    await redis.del(stream);
    const report = await drain(
      driver,
      options(topic, 'connection-lost', () => {}),
    );
    expect(report.stoppedBy).toBe('idle');
  });

  it('a Redis failure ends the cycle with stoppedBy "error" and the reason, not a throw', async () => {
    const { topic, group } = await arrange();
    const broken = kind.unreachable();
    const report = await drain(
      broken,
      options(topic, group, () => {}),
    );
    expect(report.stoppedBy).toBe('error');
    expect(report.error).toMatch(/RedisUnavailableError/);
  });
});
