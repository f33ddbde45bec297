/**
 * Delayed messages through the publish endpoint over every driver: `"delayMs"` and `"deliverAt"`
 * in a body, refused with a 400 naming the field and the limit (nothing written), and the 202
 * answer of a scheduled message.
 */
import { describe, expect, it } from 'vitest';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { createPublishEndpoint, type PublishEndpointOptions } from '../../src/http/publish-endpoint.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const token = 'publish-token-0123';
const HOUR = 3_600_000;

describe.each(DRIVERS)('delayed messages over HTTP, $name', (kind) => {
  const redis = kind.redis();

  function endpointFor(topic: string, options: Partial<PublishEndpointOptions> = {}) {
    const endpoint = createPublishEndpoint({
      driver: kind.create(),
      topics: [topic],
      token,
      logger: silentLogger,
      ...options,
    });
    return async (body: unknown, idempotencyKey?: string) => {
      const answer = await endpoint({
        method: 'POST',
        topic,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        },
        body: JSON.stringify(body),
      });
      return { status: answer.status, body: JSON.parse(answer.body) };
    };
  }

  async function holdings(topic: string) {
    const keys = streamKeys({ topic });
    return { stream: await redis.xlen(keys.stream), scheduled: await redis.zcard(keys.scheduled) };
  }

  it('answers 202 with the schedule id, how many were scheduled and when each is due', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const at = Date.now() + 2 * HOUR;
    const single = await post({ data: { orderId: 1 }, delayMs: HOUR });
    expect(single.status).toBe(202);
    expect(single.body).toEqual({
      topic,
      ids: [expect.stringMatching(/^s-\d+-/)],
      duplicates: 0,
      scheduled: 1,
      deliverAt: [Number(single.body.ids[0].split('-')[1])],
    });
    const batch = await post({ messages: [{ data: 2 }, { data: 3, deliverAt: at }] });
    expect(batch.body).toEqual({
      topic,
      ids: [expect.stringMatching(/^\d+-\d+$/), `s-${at}-${batch.body.ids[1].slice(`s-${at}-`.length)}`],
      duplicates: 0,
      scheduled: 1,
      deliverAt: [null, at],
    });
    // An immediate publish answers as it always did.
    const now = await post({ data: 4, delayMs: 0 });
    expect(Object.keys(now.body).sort()).toEqual(['duplicates', 'ids', 'topic']);
    expect(await holdings(topic)).toEqual({ stream: 2, scheduled: 2 });
  });

  it('a retry under the same Idempotency-Key schedules once and answers the same', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const body = { messages: [{ data: 1, delayMs: HOUR }, { data: 2 }] };
    const first = await post(body, 'remind-batch');
    const again = await post(body, 'remind-batch');
    expect(again.body).toEqual({ ...first.body, duplicates: 2 });
    const single = await post({ data: 'x', delayMs: HOUR }, 'remind-one');
    expect(await post({ data: 'x', delayMs: HOUR }, 'remind-one')).toEqual({
      status: 202,
      body: { ...single.body, duplicates: 1 },
    });
    expect(await holdings(topic)).toEqual({ stream: 1, scheduled: 2 });
  });

  it('refuses bad delays with a 400 naming the field and the limit, and writes nothing of the batch', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const refusals: [unknown, RegExp][] = [
      [{ data: 1, delayMs: 604_800_001 }, /^`delayMs` must be an integer from 0 to 604800000 \(maxDelayMs\)/],
      [{ data: 1, delayMs: -1 }, /`delayMs` must be an integer from 0 to 604800000/],
      [{ data: 1, delayMs: 2.5 }, /`delayMs` must be an integer/],
      [{ data: 1, delayMs: '60000' }, /`delayMs` must be an integer .* \(string\)/],
      [{ data: 1, deliverAt: '2030-01-01' }, /`deliverAt` must be an integer number of ms since the epoch/],
      [
        { data: 1, deliverAt: Date.now() + 8 * 24 * HOUR },
        /`deliverAt` is \d+ ms from now; the limit is 604800000/,
      ],
      [{ data: 1, delayMs: 5, deliverAt: Date.now() }, /`delayMs` or `deliverAt`, not both/],
      [
        { messages: [{ data: 1 }, { data: 2, delayMs: HOUR }, { data: 3, delayMs: -5 }] },
        /^messages\[2\]: `delayMs` must be/,
      ],
      [
        { data: 1, delay: 5 },
        /unknown field "delay"; allowed: data, key, idempotencyKey, delayMs, deliverAt/,
      ],
    ];
    for (const [body, pattern] of refusals) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toMatch(pattern);
    }
    expect(await holdings(topic)).toEqual({ stream: 0, scheduled: 0 });
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
  });

  it('takes its limit from the maxDelayMs option', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic, { maxDelayMs: 60_000 });
    expect((await post({ data: 1, delayMs: 60_000 })).status).toBe(202);
    const refused = await post({ data: 1, delayMs: 60_001 });
    expect(refused).toEqual({
      status: 400,
      body: { error: '`delayMs` must be an integer from 0 to 60000 (maxDelayMs), got `60001` (number)' },
    });
    expect(() => endpointFor(topic, { maxDelayMs: -1 })).toThrow(/`maxDelayMs`/);
    expect(await holdings(topic)).toEqual({ stream: 0, scheduled: 1 });
  });
});
