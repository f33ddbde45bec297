import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { AlreadyRunningError, idempotent } from '../../src/consume/idempotent.js';
import { decodeMessage, type Message } from '../../src/core/envelope.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const context = { signal: new AbortController().signal, deadline: Date.now() + 60_000 };

describe.each(DRIVERS)('idempotent() over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();

  function message(stream: string, id = `${Date.now()}-0`): Message {
    return decodeMessage(stream, { id, fields: ['sluice', '1', 'data', '{"orderId":1}'] }, 1);
  }

  it('runs the handler once per message id and group, however often it is delivered', async () => {
    const { stream } = streamKeys({ topic: randomTopic() });
    let charges = 0;
    const handler = idempotent(() => void charges++, { driver, group: 'billing' });
    const m = message(stream);
    await handler(m, context);
    await handler({ ...m, deliveries: 2 }, context);
    expect(charges).toBe(1);
    // Another group has its own record.
    await idempotent(() => void charges++, { driver, group: 'audit' })(m, context);
    expect(charges).toBe(2);
    const ttl = await redis.pttl(streamKeys({ stream }).processed('billing', m.id));
    expect(ttl).toBeGreaterThan(600_000_000);
  });

  it('a failed run records nothing: the next delivery runs the handler again', async () => {
    const { stream } = streamKeys({ topic: randomTopic() });
    let runs = 0;
    const handler = idempotent(
      () => {
        runs++;
        if (runs === 1) throw new Error('payment provider down');
      },
      { driver, group: 'billing' },
    );
    const m = message(stream);
    await expect(handler(m, context)).rejects.toThrow('payment provider down');
    await handler(m, context);
    await handler(m, context);
    expect(runs).toBe(2);
  });

  it('a concurrent delivery of the same message waits its turn (stays pending)', async () => {
    const { stream } = streamKeys({ topic: randomTopic() });
    let release: () => void = () => {};
    const handler = idempotent(() => new Promise<void>((resolve) => (release = resolve)), {
      driver,
      group: 'g',
    });
    const m = message(stream);
    const first = handler(m, context);
    await expect.poll(() => redis.exists(`${streamKeys({ stream }).processed('g', m.id)}:lock`)).toBe(1);
    await expect(handler(m, context)).rejects.toThrow(AlreadyRunningError);
    release();
    await first;
    await handler(m, context); // now done: returns without running
  });

  it('replaying a group does not repeat side effects already done', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    await publish(driver, topic, { data: { orderId: 7 } });
    let effects = 0;
    const handler = idempotent(() => void effects++, { driver, group: 'g' });
    const base = { topic, group: 'g', handler, blockMs: 20, idleExitMs: 50, logger: silentLogger };
    await drain(driver, base);
    await redis.xgroup('SETID', stream, 'g', '0'); // replay from the start
    const replay = await drain(driver, base);
    expect(replay.acked).toBe(1);
    expect(effects).toBe(1);
  });
});
