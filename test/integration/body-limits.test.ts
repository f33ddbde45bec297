import { describe, expect, it } from 'vitest';
import { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { silentLogger } from '../../src/core/logger.js';
import { type BodyLimits, Refusal, readBody } from '../../src/http/answers.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';
import { countedBody } from '../support/streams.js';

const limits: BodyLimits = { maxBodyBytes: 1_000, bodyTimeoutMs: 2_000 };

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return error as Refusal;
}

describe('readBody (the one reader of streamed request bodies)', () => {
  it('reads a body within the limit whole, in order', async () => {
    const body = countedBody(100, 10);
    const bytes = await readBody(body.stream, null, limits);
    expect(bytes.byteLength).toBe(1_000);
    expect(body.pulled.chunks).toBe(10);
    expect(await readBody(null, null, limits)).toEqual(new Uint8Array(0));
  });

  it('a Content-Length over the limit: 413 before a byte is read', async () => {
    const body = countedBody(100, 100);
    const refused = await refusal(readBody(body.stream, '10000', limits));
    expect(refused.status).toBe(413);
    expect(refused.message).toBe('body is 10000 bytes; the limit is 1000');
    expect(body.pulled.chunks).toBe(0);
    expect(body.pulled.cancelled).toBe(true);
  });

  it('a body longer than it said, or than the limit: 413 after at most the limit and one chunk', async () => {
    const body = countedBody(300, 1_000);
    const refused = await refusal(readBody(body.stream, '10', limits));
    expect(refused.status).toBe(413);
    expect(body.pulled.chunks).toBe(4); // 1,200 bytes: the fourth chunk crossed the limit
    expect(body.pulled.cancelled).toBe(true);
  });

  it('a stalled body: 408 after bodyTimeoutMs, and the stream is cancelled', async () => {
    const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const started = Date.now();
    const refused = await refusal(readBody(stalled, null, { ...limits, bodyTimeoutMs: 200 }));
    expect(refused.status).toBe(408);
    expect(refused.message).toBe('the body did not arrive within bodyTimeoutMs (200 ms)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a stream that fails or holds no bytes: 400', async () => {
    const broken = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.error(new Error('connection reset')),
    });
    expect((await refusal(readBody(broken, null, limits))).status).toBe(400);
    const text = new ReadableStream({ start: (controller) => controller.enqueue('not bytes') });
    expect((await refusal(readBody(text as ReadableStream<Uint8Array>, null, limits))).status).toBe(400);
  });
});

describe('the Lambda publish path (API Gateway hands over the whole body)', () => {
  it('checks the size before parsing: an oversize body that is not even JSON gets 413', async () => {
    const topic = randomTopic();
    const rest = DRIVERS.find((kind) => kind.name === 'upstash') as (typeof DRIVERS)[number];
    const handler = lambdaPublishHandler({
      driver: rest.create(),
      topics: [topic],
      token: 'publish-token-0123456789',
      maxBodyBytes: 1_000,
      logger: silentLogger,
    });
    const response = await handler({
      headers: { authorization: 'Bearer publish-token-0123456789', 'content-type': 'application/json' },
      pathParameters: { topic },
      requestContext: { http: { method: 'POST' } },
      body: `{${'x'.repeat(5_000)}`,
      isBase64Encoded: false,
    } as Parameters<typeof handler>[0]);
    expect(response.statusCode).toBe(413);
    expect(String(response.body)).toMatch(/the limit is 1000/);
  });
});
