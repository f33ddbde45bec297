/**
 * Topic schemas when publishing: the library's `schema` option and the HTTP endpoint's `schemas`
 * validate every message's `data` before anything is written — an invalid message refuses the
 * whole publish (a `MessageSchemaError` carrying the issues; HTTP 400 with `issues`), a valid one
 * is written as given. Over every driver.
 */
import { describe, expect, it } from 'vitest';
import { InvalidMessageError, InvalidOptionError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { MessageSchemaError } from '../../src/core/schema.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';
import { orderSchema } from '../support/schema-kit.js';

const token = 'test-token-0123456789';

describe.each(DRIVERS)('topic schemas when publishing over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  it.each([false, true])(
    'publish validates first: a valid message is written as given (async %s)',
    async (async) => {
      const topic = randomTopic('schema');
      const schema = orderSchema({ async });
      const { id } = await publish(driver, topic, { data: { orderId: 1, currency: 'EUR' } }, { schema });
      const [[, fields]] = (await redis.xrange(streamKeys({ topic }).stream, id, id)) as [[string, string[]]];
      // The input is written, not the schema's output (no `checked`): the drain validates again.
      expect(fields.slice(0, 4)).toEqual(['sluice', '1', 'data', '{"orderId":1,"currency":"EUR"}']);
      expect(schema.calls()).toBe(1);
    },
  );

  it.each([false, true])(
    'an invalid message writes nothing and names its issues (async %s)',
    async (async) => {
      const topic = randomTopic('schema');
      const bad = { orderId: 'one', currency: 7 } as unknown as { orderId: number; currency: string };
      const error = await publish(driver, topic, { data: bad }, { schema: orderSchema({ async }) }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MessageSchemaError);
      expect(error).toBeInstanceOf(InvalidMessageError);
      expect((error as MessageSchemaError).issues).toEqual([
        { path: ['data', 'orderId'], message: 'expected a number' },
        { path: ['data', 'currency'], message: 'expected a string' },
      ]);
      expect((error as Error).message).toMatch(
        /data\.orderId: expected a number; data\.currency: expected a string/,
      );
      expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
    },
  );

  it('a batch with one invalid message writes none of it', async () => {
    const topic = randomTopic('schema');
    const messages = [
      { data: { orderId: 1, currency: 'EUR' } },
      { data: { orderId: 2, currency: 'EUR' } },
      { data: { orderId: 3 } as unknown as { orderId: number; currency: string } },
    ];
    const error = await publishBatch(driver, topic, messages, { schema: orderSchema() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MessageSchemaError);
    expect((error as MessageSchemaError).issues).toEqual([
      { path: [2, 'data', 'currency'], message: 'expected a string' },
    ]);
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
    const written = await publishBatch(driver, topic, messages.slice(0, 2), { schema: orderSchema() });
    expect(written).toHaveLength(2);
    expect(await redis.xlen(streamKeys({ topic }).stream)).toBe(2);
  });

  it('a schema that throws refuses the message with one issue', async () => {
    const topic = randomTopic('schema');
    const throwing = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: () => {
          throw new Error('boom');
        },
      },
    };
    const error = await publish(driver, topic, { data: 1 }, { schema: throwing }).catch((e: unknown) => e);
    expect((error as MessageSchemaError).issues).toEqual([
      { path: ['data'], message: 'the schema threw: boom' },
    ]);
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
  });

  describe('the HTTP endpoint', () => {
    const topic = randomTopic('schema');
    const plain = randomTopic('plain');
    const schema = orderSchema();
    const endpoint = createPublishEndpoint({
      driver,
      topics: [topic, plain],
      schemas: { [topic]: schema },
      token,
      logger: silentLogger,
    });
    const post = async (to: string, body: unknown) => {
      const response = await endpoint({
        method: 'POST',
        topic: to,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: JSON.parse(response.body) };
    };

    it('400 with the issues, paths into the body, and nothing written', async () => {
      const one = await post(topic, { data: { orderId: 'x', currency: 'EUR' } });
      expect(one.status).toBe(400);
      expect(one.body.issues).toEqual([{ path: ['data', 'orderId'], message: 'expected a number' }]);
      expect(one.body.error).toMatch(/does not match the topic's schema/);
      const batch = await post(topic, {
        messages: [{ data: { orderId: 1, currency: 'EUR' } }, { data: { orderId: 2 } }],
      });
      expect(batch.status).toBe(400);
      expect(batch.body.issues).toEqual([
        { path: ['messages', 1, 'data', 'currency'], message: 'expected a string' },
      ]);
      expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);
    });

    it('202 for valid messages; a topic without a schema is not validated', async () => {
      const ok = await post(topic, { messages: [{ data: { orderId: 1, currency: 'EUR' } }] });
      expect(ok.status).toBe(202);
      expect(await redis.xlen(streamKeys({ topic }).stream)).toBe(1);
      const before = schema.calls();
      expect((await post(plain, { data: 'anything' })).status).toBe(202);
      expect(schema.calls()).toBe(before);
    });
  });
});

describe('schema options', () => {
  const driver = (DRIVERS[0] as (typeof DRIVERS)[number]).create();

  it('refuses what is not a Standard Schema, and schemas for topics the endpoint does not accept', async () => {
    const notSchema = { validate: () => ({ value: 1 }) } as never;
    await expect(publish(driver, randomTopic(), { data: 1 }, { schema: notSchema })).rejects.toThrow(
      InvalidOptionError,
    );
    expect(() =>
      createPublishEndpoint({
        driver,
        topics: ['a'],
        schemas: { a: notSchema },
        token,
        logger: silentLogger,
      }),
    ).toThrow(/`schemas.a` to be a Standard Schema/);
    expect(() =>
      createPublishEndpoint({
        driver,
        topics: ['a'],
        schemas: { b: orderSchema() },
        token,
        logger: silentLogger,
      }),
    ).toThrow(/names topic "b", which is not in `topics`/);
  });
});
