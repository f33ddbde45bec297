/**
 * Reclaim during a long cycle: a message a dead consumer left pending, not yet due when the cycle
 * starts, is reclaimed and handled within the same cycle once it becomes due — over every driver.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, testDrainOptions } from '../support/fixtures.js';

const VISIBILITY_MS = 1_000;

describe.each(DRIVERS)('reclaim during a long cycle over $name', (kind) => {
  it('a message left pending by a dead consumer becomes due mid-cycle and is handled in that cycle', async () => {
    const driver = kind.create();
    const redis = kind.redis();
    const topic = randomTopic('midcycle');
    const stream = streamKeys({ topic }).stream;
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const { id } = await publish(driver, topic, { data: { stale: true } });
    // A consumer reads it and dies: it stays pending, due one visibility timeout from now.
    await redis.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 1, 'STREAMS', stream, '>');
    const readAt = Date.now();
    const stop = new AbortController();
    const handled: { id: string; deliveries: number; afterMs: number }[] = [];
    const report = await drain(
      driver,
      testDrainOptions(
        topic,
        'g',
        (message) => {
          handled.push({ id: message.id, deliveries: message.deliveries, afterMs: Date.now() - readAt });
          stop.abort();
        },
        {
          visibilityTimeoutMs: VISIBILITY_MS,
          maxRedeliveryDelayMs: VISIBILITY_MS,
          budgetMs: 8 * VISIBILITY_MS,
          idleExitMs: undefined,
          blockMs: 200,
          signal: stop.signal,
        },
      ),
    );
    expect(handled).toEqual([{ id, deliveries: 2, afterMs: expect.any(Number) }]);
    // Not before it was due; well before the cycle's budget.
    expect(handled[0]?.afterMs).toBeGreaterThanOrEqual(VISIBILITY_MS);
    expect(handled[0]?.afterMs).toBeLessThan(5 * VISIBILITY_MS);
    expect(report).toMatchObject({ reclaimed: 1, read: 0, acked: 1, stoppedBy: 'signal' });
    expect(await redis.xpending(stream, 'g')).toEqual([0, null, null, null]);
  });
});
