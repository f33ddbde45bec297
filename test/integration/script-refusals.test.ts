/**
 * The scripts that give back or dead-letter entries act only on entries the calling consumer still
 * holds: an entry another consumer took over (a reclaim by an overlapping invocation) or one already
 * acknowledged is left exactly as it is. Without the check, a cycle that lost an entry could reset a
 * running handler's hold (RELEASE) or copy a message to the dead letters and acknowledge it while
 * another invocation is handling it (DEAD_LETTER). Over every driver, straight against the scripts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER, RELEASE, TOUCH } from '../../src/core/cycle-scripts.js';
import { runScript } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { parseInteger } from '../../src/core/replies.js';
import { DRIVERS, dropTopic, randomTopic } from '../support/fixtures.js';

describe.each(DRIVERS)('the scripts refuse entries that are not the consumer’s, over $name', (kind) => {
  const driver = kind.create();
  const redis = kind.redis();
  const topics: string[] = [];
  afterAll(async () => {
    await Promise.all(topics.map((topic) => dropTopic(redis, topic)));
  });

  /** A stream with 2 entries, both read by consumer `other` (pending, 1 delivery); the 2nd acknowledged. */
  async function arrange() {
    const topic = randomTopic('refuse');
    topics.push(topic);
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '0', 'MKSTREAM');
    const held = (await redis.xadd(keys.stream, '*', 'payload', '1')) as string;
    const acked = (await redis.xadd(keys.stream, '*', 'payload', '2')) as string;
    await redis.xreadgroup('GROUP', 'g', 'other', 'COUNT', 2, 'STREAMS', keys.stream, '>');
    await redis.xack(keys.stream, 'g', acked);
    return { keys, held, acked };
  }

  async function pending(stream: string) {
    const list = (await redis.xpending(stream, 'g', '-', '+', 10)) as [string, string, number, number][];
    return list.map(([id, consumer, idleMs, deliveries]) => ({ id, consumer, idleMs, deliveries }));
  }

  it('RELEASE gives back nothing another consumer holds or that was acknowledged; the holder can', async () => {
    const { keys, held, acked } = await arrange();
    const args = (consumer: string) => ['g', consumer, 60_000, held, 0, acked, 0];
    const refused = parseInteger(await runScript(driver, RELEASE, [keys.stream], args('me')), 'release');
    expect(refused).toBe(0);
    const after = await pending(keys.stream);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: held, consumer: 'other', deliveries: 1 });
    expect(after[0]?.idleMs).toBeLessThan(60_000);
    // The holder itself is not refused: only the held one is given back (delivery count set back to 0).
    const released = parseInteger(await runScript(driver, RELEASE, [keys.stream], args('other')), 'release');
    expect(released).toBe(1);
    expect((await pending(keys.stream))[0]).toMatchObject({ id: held, consumer: 'other', deliveries: 0 });
    expect((await pending(keys.stream))[0]?.idleMs).toBeGreaterThanOrEqual(60_000);
  });

  it('DEAD_LETTER moves nothing another consumer holds or that was acknowledged; the holder can', async () => {
    const { keys, held, acked } = await arrange();
    const deadLetters = keys.deadLetters('g');
    const entry = (id: string) => [id, 4, 'dlq.source-id', id, 'dlq.reason', 'test'];
    const args = (consumer: string) => ['g', consumer, 2, ...entry(held), ...entry(acked)];
    const refused = await runScript(
      driver,
      DEAD_LETTER,
      [keys.stream, deadLetters, keys.retrySchedule('g')],
      args('me'),
    );
    expect(refused).toEqual([]);
    expect(await redis.exists(deadLetters)).toBe(0);
    expect(await pending(keys.stream)).toMatchObject([{ id: held, consumer: 'other', deliveries: 1 }]);
    const moved = await runScript(
      driver,
      DEAD_LETTER,
      [keys.stream, deadLetters, keys.retrySchedule('g')],
      args('other'),
    );
    expect(moved).toEqual([held]);
    expect(await redis.xlen(deadLetters)).toBe(1);
    expect(await pending(keys.stream)).toEqual([]);
  });

  it('TOUCH keeps hold only of what the consumer holds, and names the rest as lost', async () => {
    const { keys, held, acked } = await arrange();
    const lost = await runScript(driver, TOUCH, [keys.stream], ['g', 'me', held, acked]);
    expect(lost).toEqual([held, acked]);
    expect(await pending(keys.stream)).toMatchObject([{ id: held, consumer: 'other', deliveries: 1 }]);
    expect(await runScript(driver, TOUCH, [keys.stream], ['g', 'other', held, acked])).toEqual([acked]);
  });
});
