/**
 * Idempotency keys: a batch published under one key (the Idempotency-Key header) keeps its records
 * in a namespace of its own, so a caller's key can never be taken for one of them; two messages of
 * one batch under one key are refused instead of answering with one id.
 */
import { describe, expect, it } from 'vitest';
import { declareTopic } from '../../src/core/declare.js';
import { InvalidMessageError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const token = 'publish-token-0123';

describe.each(DRIVERS)('idempotency namespaces over $name', (kind) => {
  const redis = kind.redis();

  function endpointFor(topic: string) {
    const endpoint = createPublishEndpoint({
      driver: kind.create(),
      topics: [topic],
      token,
      logger: silentLogger,
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

  it('a message whose own key looks like a batch-derived one is not dropped as a duplicate', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const batch = await post({ messages: [{ data: 'a' }, { data: 'b' }] }, 'batch-77');
    expect(batch.status).toBe(202);
    const single = await post({ data: 'c', idempotencyKey: 'batch-77:1' });
    expect(single).toMatchObject({ status: 202, body: { duplicates: 0 } });
    expect(single.body.ids[0]).not.toBe(batch.body.ids[1]);
    const single2 = await post({ data: 'd' }, 'batch-77:0');
    expect(single2.body.duplicates).toBe(0);
    expect(await redis.xlen(streamKeys({ topic }).stream)).toBe(4);
  });

  it('a batch retried under the same Idempotency-Key writes nothing twice and answers the same ids', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const body = { messages: [{ data: 1 }, { data: 2 }, { data: 3, idempotencyKey: 'own-3' }] };
    const first = await post(body, 'order-batch-9');
    const again = await post(body, 'order-batch-9');
    expect(first.body.duplicates).toBe(0);
    expect(again.body).toEqual({ ...first.body, duplicates: 3 });
    expect(await redis.xlen(streamKeys({ topic }).stream)).toBe(3);
  });

  it('two messages of one batch under one key are refused (400, both named) and nothing is written', async () => {
    const topic = randomTopic();
    const post = endpointFor(topic);
    const refused = await post({
      messages: [{ data: 1, idempotencyKey: 'k' }, { data: 2 }, { data: 3, idempotencyKey: 'k' }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/messages\[2\]: `idempotencyKey` repeats that of messages\[0\]/);
    await expect(
      publishBatch(kind.create(), topic, [
        { data: 1, idempotencyKey: 'x' },
        { data: 2, idempotencyKey: 'x' },
      ]),
    ).rejects.toThrow(InvalidMessageError);
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
  });

  it('on a partitioned topic a batch retried under its key lands on the same partitions, written once', async () => {
    const topic = randomTopic();
    await declareTopic(kind.create(), topic, { partitions: 4 });
    const messages = Array.from({ length: 20 }, (_, i) => ({ data: i }));
    const first = await publishBatch(kind.create(), topic, messages, { idempotencyKey: 'p-batch' });
    const again = await publishBatch(kind.create(), topic, messages, { idempotencyKey: 'p-batch' });
    expect(new Set(first.map((r) => r.partition)).size).toBeGreaterThan(1);
    expect(again).toEqual(first.map((r) => ({ ...r, duplicate: true })));
  });
});
