/** Each dead letter gets a log line of its own: which message, why, after how many deliveries. */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic, recordingLogger, testDrainOptions } from '../support/fixtures.js';

describe.each(DRIVERS)('dead-letter log lines over $name', (kind) => {
  it('a permanent failure and an exhausted message each log their id, reason and deliveries', async () => {
    const topic = randomTopic();
    const driver = kind.create();
    const ids = (
      await publishBatch(driver, topic, [{ data: 'ok' }, { data: 'poison' }, { data: 'flaky' }], {
        groups: ['g'],
      })
    ).map((r) => r.id);
    const { logger, lines } = recordingLogger();
    const options = testDrainOptions(
      topic,
      'g',
      async (message) => {
        if (message.data === 'poison') throw new PermanentError('no such order');
        if (message.data === 'flaky') throw new Error('card declined');
      },
      { logger, maxDeliveries: 2, visibilityTimeoutMs: 1, maxRedeliveryDelayMs: 1 },
    );
    const first = await drain(driver, options);
    // The flaky one is retried in later cycles until its deliveries run out.
    let dead = first.deadLettered;
    for (let cycle = 0; cycle < 20 && dead < 2; cycle++) dead += (await drain(driver, options)).deadLettered;
    expect(dead).toBe(2);
    const logged = lines.filter((line) => line.message === 'message dead-lettered');
    expect(logged.map((line) => line.level)).toEqual(['error', 'error']);
    const byId = new Map(logged.map((line) => [line.fields?.id, line.fields]));
    expect(byId.get(ids[1])).toMatchObject({
      stream: streamKeys({ topic }).stream,
      group: 'g',
      reason: 'permanent',
      deliveries: 1,
      error: 'PermanentError: no such order',
      deadLetters: streamKeys({ topic }).deadLetters('g'),
    });
    expect(byId.get(ids[2])).toMatchObject({
      reason: 'max-deliveries',
      deliveries: 2,
      error: 'Error: card declined',
    });
    expect(byId.has(ids[0])).toBe(false);
  });
});
