import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { silentLogger } from '../../src/core/logger.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const token = 'test-token-0123456789';
const topic = randomTopic();
const other = randomTopic();
const stream = `sluice:{${topic}}`;

function event(overrides: {
  body?: string;
  topic?: string;
  headers?: Record<string, string>;
  method?: string;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /topics/{topic}/messages',
    rawPath: `/topics/${overrides.topic ?? topic}/messages`,
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...overrides.headers },
    pathParameters: { topic: overrides.topic ?? topic },
    requestContext: {
      http: { method: overrides.method ?? 'POST' },
    } as APIGatewayProxyEventV2['requestContext'],
    body: overrides.body,
    isBase64Encoded: overrides.isBase64Encoded ?? false,
  };
}

describe.each(DRIVERS)('publish endpoint (Lambda, HTTP API v2) over $name', (kind) => {
  const redis = kind.redis();

  const handler = lambdaPublishHandler({
    driver: kind.create(),
    topics: [topic, other],
    token,
    maxBodyBytes: 10_000,
    maxMessageBytes: 1_000,
    maxBatchMessages: 5,
    logger: silentLogger,
  });

  async function call(overrides: Parameters<typeof event>[0]) {
    const response = await handler(event(overrides));
    return {
      status: response.statusCode,
      headers: response.headers ?? {},
      body: JSON.parse(response.body as string),
    };
  }

  it('202 with the id of a single message, written to the topic stream', async () => {
    const res = await call({ body: JSON.stringify({ data: { orderId: 1 }, key: 'c1' }) });
    expect(res.status).toBe(202);
    expect(res.body.ids).toHaveLength(1);
    const [[id, fields]] = (await redis.xrange(stream, res.body.ids[0], res.body.ids[0])) as [
      [string, string[]],
    ];
    expect(id).toBe(res.body.ids[0]);
    expect(fields).toEqual(['sluice', '1', 'data', '{"orderId":1}', 'key', 'c1']);
  });

  it('202 with ids in order for a batch', async () => {
    const res = await call({ body: JSON.stringify({ messages: [{ data: 1 }, { data: 2 }, { data: 3 }] }) });
    expect(res.status).toBe(202);
    expect(res.body.ids).toHaveLength(3);
    const entries = await redis.xrange(stream, res.body.ids[0], res.body.ids[2]);
    expect(entries.map(([, f]) => f[3])).toEqual(['1', '2', '3']);
  });

  it('the Idempotency-Key header makes a retried request a no-op', async () => {
    const key = `idem-${Math.random()}`;
    const first = await call({ body: JSON.stringify({ data: 'pay' }), headers: { 'idempotency-key': key } });
    const length = await redis.xlen(stream);
    const retry = await call({ body: JSON.stringify({ data: 'pay' }), headers: { 'Idempotency-Key': key } });
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ ids: first.body.ids, duplicates: 1 });
    expect(await redis.xlen(stream)).toBe(length);
  });

  it('accepts a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ data: 'ü' })).toString('base64');
    const res = await call({ body, isBase64Encoded: true });
    expect(res.status).toBe(202);
  });

  it.each([
    ['no Authorization header', { headers: { authorization: '' } }],
    ['a wrong token', { headers: { authorization: 'Bearer wrong' } }],
    [
      'a token that is a prefix of the right one',
      { headers: { authorization: `Bearer ${token.slice(0, -1)}` } },
    ],
    ['another scheme', { headers: { authorization: `Basic ${token}` } }],
  ])('401 for %s', async (_name, overrides) => {
    const before = await redis.xlen(stream);
    const res = await call({ body: JSON.stringify({ data: 1 }), ...overrides });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(await redis.xlen(stream)).toBe(before);
  });

  it('401 for everyone while no token is configured', async () => {
    const closed = lambdaPublishHandler({
      driver: kind.create(),
      topics: [topic],
      token: undefined,
      logger: silentLogger,
    });
    const res = await closed(event({ body: JSON.stringify({ data: 1 }) }));
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('SLUICE_PUBLISH_TOKEN');
  });

  it('404 for a topic that is not allowed, and for names that are not topics', async () => {
    for (const name of ['not-listed', '{orders}', 'a:b', '*', '..', '']) {
      const res = await call({ topic: name, body: JSON.stringify({ data: 1 }) });
      expect(res.status, name).toBe(404);
    }
  });

  it('405 for other methods', async () => {
    const res = await call({ method: 'GET' });
    expect(res.status).toBe(405);
  });

  it.each([
    ['no content type', { 'content-type': '' }],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('415 for %s', async (_name, headers) => {
    const res = await call({ body: JSON.stringify({ data: 1 }), headers });
    expect(res.status).toBe(415);
  });

  it('accepts application/json with a charset', async () => {
    const res = await call({
      body: JSON.stringify({ data: 1 }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(202);
  });

  it.each([
    ['a body too large', JSON.stringify({ data: 'x'.repeat(20_000) })],
    ['a message too large', JSON.stringify({ data: 'x'.repeat(2_000) })],
    ['too many messages', JSON.stringify({ messages: Array.from({ length: 6 }, () => ({ data: 1 })) })],
  ])('413 for %s', async (_name, body) => {
    const res = await call({ body });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/limit/);
  });

  it.each([
    ['invalid JSON', '{"data": '],
    ['an empty body', ''],
    ['an array', '[1]'],
    ['a string', '"hello"'],
    ['no data', '{"key":"k"}'],
    ['an unknown field', '{"data":1,"dta":2}'],
    ['a __proto__ field', '{"data":1,"__proto__":{"x":1}}'],
    ['a non-string key', '{"data":1,"key":5}'],
    ['an empty batch', '{"messages":[]}'],
    ['messages not an array', '{"messages":{}}'],
    ['a batch with extra fields', '{"messages":[{"data":1}],"data":2}'],
    ['a bad message inside a batch', '{"messages":[{"data":1},{"nodata":true}]}'],
    ['too deep nesting', JSON.stringify({ data: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) })],
  ])('400 for %s, and nothing is written', async (_name, body) => {
    const before = await redis.xlen(stream);
    const res = await call({ body });
    expect(res.status).toBe(400);
    expect(typeof res.body.error).toBe('string');
    expect(await redis.xlen(stream)).toBe(before);
  });

  it('400 names the offending message of a batch', async () => {
    const res = await call({ body: '{"messages":[{"data":1},{"data":2,"key":""}]}' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/messages\[1\]/);
  });

  it('400 for invalid UTF-8', async () => {
    const body = Buffer.concat([
      Buffer.from('{"data":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]).toString('base64');
    const res = await call({ body, isBase64Encoded: true });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/UTF-8/);
  });

  // Regression (found by test/fault/hostile-input.test.ts): a deeply nested `key` or
  // `idempotencyKey` overflowed the stack while the refusal was being worded → 500.
  it.each([
    ['key', `{"data":1,"key":${'['.repeat(20_000)}${']'.repeat(20_000)}}`],
    ['idempotencyKey', `{"data":1,"idempotencyKey":${'{"a":'.repeat(8_000)}1${'}'.repeat(8_000)}}`],
    [
      'key in a batch',
      `{"messages":[{"data":1},{"data":2,"key":${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`,
    ],
  ])('400, not 500, for a deeply nested %s; the refusal does not echo it', async (_name, body) => {
    const big = lambdaPublishHandler({
      driver: kind.create(),
      topics: [topic],
      token,
      maxBodyBytes: 100_000,
      logger: silentLogger,
    });
    const before = await redis.xlen(stream);
    const res = await big(event({ body }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body as string).error).toMatch(
      /must be a string of 1 to 256 characters, got an (array|object)/,
    );
    expect((res.body as string).length).toBeLessThan(200);
    expect(await redis.xlen(stream)).toBe(before);
  });

  // Regression (found by test/fault/hostile-input.test.ts): a lone surrogate has no UTF-8, so Redis
  // got U+FFFD: two different idempotency keys became one, and the second message was reported a
  // duplicate — and never written. A `key` was stored altered.
  it.each([
    ['idempotencyKey', { body: '{"data":"second","idempotencyKey":"k-\\udc00"}' }],
    ['Idempotency-Key header', { body: '{"data":"second"}', headers: { 'idempotency-key': 'k-\udc00' } }],
    ['key', { body: '{"data":"second","key":"\\ud800"}' }],
    ['key in a batch', { body: '{"messages":[{"data":1},{"data":2,"key":"a\\udfffb"}]}' }],
  ])('400 for a lone surrogate in the %s, and nothing is written', async (_name, overrides) => {
    const before = await redis.xlen(stream);
    const res = await call(overrides);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/not valid Unicode: it holds a lone surrogate/);
    expect(await redis.xlen(stream)).toBe(before);
  });

  it('a payload with lone surrogates is stored escaped, exactly as sent', async () => {
    const res = await call({ body: '{"data":{"s":"\\ud800x\\udfff"},"key":"\\ud83d\\ude00"}' });
    expect(res.status).toBe(202);
    const [[, fields]] = (await redis.xrange(stream, res.body.ids[0], res.body.ids[0])) as [
      [string, string[]],
    ];
    expect(fields).toEqual(['sluice', '1', 'data', '{"s":"\\ud800x\\udfff"}', 'key', '😀']);
  });

  it('a misconfigured endpoint fails at construction, never per request', () => {
    expect(() =>
      lambdaPublishHandler({ driver: kind.create(), topics: ['bad topic'], token, logger: silentLogger }),
    ).toThrow(/`topics`/);
    expect(() =>
      lambdaPublishHandler({
        driver: kind.create(),
        topics: [topic],
        token,
        idempotencyWindowMs: -1,
        logger: silentLogger,
      }),
    ).toThrow(/idempotencyWindowMs/);
  });

  it('503 with Retry-After when Redis is unreachable', async () => {
    const down = lambdaPublishHandler({
      driver: kind.unreachable(),
      topics: [topic],
      token,
      logger: silentLogger,
    });
    const res = await down(event({ body: JSON.stringify({ data: 1 }) }));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('1');
  });
});
