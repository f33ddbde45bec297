import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { vercelPublishHandler } from '../../src/adapters/vercel.js';
import type { Driver } from '../../src/core/driver.js';
import { InvalidOptionError, RedisUnavailableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { signBody as exportedSignBody } from '../../src/http/index.js';
import type { PublishEndpointOptions } from '../../src/http/publish-endpoint.js';
import { computeSignature, signatureKey, signBody, verifySignature } from '../../src/http/signature.js';
import { DRIVERS, keysOf, randomTopic } from '../support/fixtures.js';

const secret = 'signing-secret-current-0123456789';
const oldSecret = 'signing-secret-previous-0123456789';
const token = 'bearer-token-0123456789';
/** The injected clock: a fixed instant, moved by tests that need to. */
/** The injected clock's start; each driver's run gets its own, since replay keys are shared by every topic. */
const BASE_T0 = 1_800_000_000;

function event(
  topic: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /topics/{topic}/messages',
    rawPath: `/topics/${topic}/messages`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    pathParameters: { topic },
    requestContext: { http: { method: 'POST' } } as APIGatewayProxyEventV2['requestContext'],
    body: typeof body === 'string' ? body : body.toString('base64'),
    isBase64Encoded: typeof body !== 'string',
  };
}

describe.each(DRIVERS)('publish endpoint, HMAC body signatures, over $name', (kind) => {
  const redis = kind.redis();

  /** Keys of a topic (stream, idempotency and signature keys). */
  async function topicKeys(topic: string): Promise<string[]> {
    return (await keysOf(redis, `sluice:{${topic}}*`)).sort();
  }

  const driver = kind.create();
  const T0 = BASE_T0 + DRIVERS.indexOf(kind) * 100_000 + Math.floor(Math.random() * 50_000);

  function endpoint(extra: Partial<PublishEndpointOptions> & { topics: string[] }) {
    let nowMs = T0 * 1000;
    const clock = {
      set: (seconds: number) => {
        nowMs = seconds * 1000;
      },
    };
    const handler = lambdaPublishHandler({
      driver,
      token: undefined,
      signingSecrets: [secret],
      now: () => nowMs,
      logger: silentLogger,
      ...extra,
    });
    const call = async (topic: string, body: string | Buffer, headers: Record<string, string> = {}) => {
      const response = await handler(event(topic, body, headers));
      return {
        status: response.statusCode,
        headers: response.headers ?? {},
        body: JSON.parse(response.body as string),
      };
    };
    return { call, clock };
  }

  it('accepts a signed request without any bearer token, once: the same signed bytes again are a replay', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic] });
    const body = JSON.stringify({ data: { orderId: 1 } });
    const signature = signBody(secret, body, T0);
    const first = await call(topic, body, { 'sluice-signature': signature });
    expect(first.status).toBe(202);
    expect(first.body.ids).toHaveLength(1);
    const length = await redis.xlen(`sluice:{${topic}}`);
    const keys = await topicKeys(topic);

    const replay = await call(topic, body, { 'Sluice-Signature': signature });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatch(/already used/);
    expect(replay.headers['www-authenticate']).toBe('Sluice-Signature');
    expect(await redis.xlen(`sluice:{${topic}}`)).toBe(length);
    expect(await topicKeys(topic)).toEqual(keys);
  });

  it('keeps one replay key for every topic, for the window and a window more', async () => {
    const topic = randomTopic();
    const other = randomTopic();
    const { call } = endpoint({ topics: [topic, other], signatureToleranceSeconds: 60 });
    const body = JSON.stringify({ data: 'ttl' });
    const res = await call(topic, body, { 'sluice-signature': signBody(secret, body, T0 - 10) });
    expect(res.status).toBe(202);
    const { replayId } = verifySignature(signBody(secret, body, T0 - 10), body, {
      secrets: [secret],
      nowMs: T0 * 1000,
    });
    const key = signatureKey(topic, replayId);
    expect(key).toMatch(/^sluice:sig:[0-9a-f]{64}$/);
    // The same signed request, sent to another topic, is a replay too.
    const again = await call(other, body, { 'sluice-signature': signBody(secret, body, T0 - 10) });
    expect(again.status).toBe(401);
    const ttl = await redis.pttl(key);
    // Accepted until t + 60 s (50 s from now), kept 60 s longer for clocks that disagree.
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(110_000);
  });

  it('a replay with only one of several v1 values is still a replay', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic], signingSecrets: [secret, oldSecret] });
    const body = JSON.stringify({ data: 'rotating' });
    const both = `t=${T0},v1=${computeSignature(secret, body, T0)},v1=${computeSignature(oldSecret, body, T0)}`;
    expect((await call(topic, body, { 'sluice-signature': both })).status).toBe(202);
    const onlyOld = `t=${T0},v1=${computeSignature(oldSecret, body, T0)}`;
    const replay = await call(topic, body, { 'sluice-signature': onlyOld });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatch(/already used/);
  });

  it('rotation: the current and the previous secret are accepted, a retired one is not', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic], signingSecrets: [secret, oldSecret] });
    const a = JSON.stringify({ data: 'new' });
    const b = JSON.stringify({ data: 'old' });
    const c = JSON.stringify({ data: 'retired' });
    expect((await call(topic, a, { 'sluice-signature': signBody(secret, a, T0) })).status).toBe(202);
    expect((await call(topic, b, { 'sluice-signature': signBody(oldSecret, b, T0) })).status).toBe(202);
    const retired = await call(topic, c, { 'sluice-signature': signBody('retired-secret', c, T0) });
    expect(retired.status).toBe(401);
    expect(retired.body.error).toMatch(/does not match/);
    expect(JSON.stringify(retired)).not.toContain(secret);
    expect(JSON.stringify(retired)).not.toContain(oldSecret);
  });

  it('window edges: ±tolerance accepted, one second more refused (injected clock)', async () => {
    const topic = randomTopic();
    const { call, clock } = endpoint({ topics: [topic], signatureToleranceSeconds: 300 });
    const send = (n: number, t: number) => {
      const body = JSON.stringify({ data: n });
      return call(topic, body, { 'sluice-signature': signBody(secret, body, t) });
    };
    expect((await send(1, T0 - 300)).status).toBe(202);
    expect((await send(2, T0 + 300)).status).toBe(202);
    const old = await send(3, T0 - 301);
    expect(old.status).toBe(401);
    expect(old.body.error).toMatch(/expired: t is 301 s before/);
    const future = await send(4, T0 + 301);
    expect(future.status).toBe(401);
    expect(future.body.error).toMatch(/future: t is 301 s after/);
    // The same signed bytes: accepted while fresh, refused once the clock has moved past the window.
    const body = JSON.stringify({ data: 5 });
    const signature = signBody(secret, body, T0);
    clock.set(T0 + 301);
    expect((await call(topic, body, { 'sluice-signature': signature })).body.error).toMatch(/expired/);
    clock.set(T0 + 300);
    expect((await call(topic, body, { 'sluice-signature': signature })).status).toBe(202);
  });

  it('uses the real clock by default', async () => {
    const topic = randomTopic();
    const handler = lambdaPublishHandler({
      driver,
      topics: [topic],
      token: undefined,
      signingSecrets: [secret],
      logger: silentLogger,
    });
    const body = JSON.stringify({ data: `now over ${kind.name}` });
    expect(
      (await handler(event(topic, body, { 'sluice-signature': signBody(secret, body) }))).statusCode,
    ).toBe(202);
    const hourAgo = Math.floor(Date.now() / 1000) - 3_600;
    const late = await handler(event(topic, body, { 'sluice-signature': signBody(secret, body, hourAgo) }));
    expect(late.statusCode).toBe(401);
    expect(late.body).toMatch(/expired/);
  });

  it('signs the exact raw bytes: a base64 body is checked as bytes, a changed byte is refused', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic] });
    const bytes = Buffer.from(JSON.stringify({ data: 'ü€😀' }));
    expect((await call(topic, bytes, { 'sluice-signature': signBody(secret, bytes, T0) })).status).toBe(202);
    // One byte of the emoji changed: still valid UTF-8 and valid JSON, but not what was signed.
    const changed = Buffer.from(bytes);
    const last = changed.lastIndexOf(0x80);
    changed[last] = 0x81;
    expect(() => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(changed))).not.toThrow();
    const res = await call(topic, changed, { 'sluice-signature': signBody(secret, bytes, T0 + 1) });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/does not match/);
  });

  it('a signed request that is refused for another reason writes nothing, not even its replay key', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic] });
    const bad = JSON.stringify({ messages: [{ data: 1 }, { nodata: true }] });
    const res = await call(topic, bad, { 'sluice-signature': signBody(secret, bad, T0) });
    expect(res.status).toBe(400);
    const unknown = JSON.stringify({ data: 1 });
    const elsewhere = await call('not-allowed', unknown, {
      'sluice-signature': signBody(secret, unknown, T0),
    });
    expect(elsewhere.status).toBe(404);
    expect(await topicKeys(topic)).toEqual([]);
    expect(await topicKeys('not-allowed')).toEqual([]);
    // …so the same signed request, once it is publishable, is not a replay.
    const ok = JSON.stringify({ data: 'fine' });
    const signature = signBody(secret, ok, T0);
    expect((await call('not-allowed', ok, { 'sluice-signature': signature })).status).toBe(404);
    expect((await call(topic, ok, { 'sluice-signature': signature })).status).toBe(202);
  });

  it('a publish that fails gives the claim back: a retry of the same signed bytes is accepted', async () => {
    const topic = randomTopic();
    let failures = 1;
    const flaky: Driver = {
      ...driver,
      // The publish script's first key is the stream; the replay guard's is a `:sig:` key.
      evalSha: (sha1, keys, args) => {
        if (failures > 0 && !keys[0]?.includes(':sig:')) {
          failures -= 1;
          return Promise.reject(new RedisUnavailableError('connection lost'));
        }
        return driver.evalSha(sha1, keys, args);
      },
    };
    const { call } = endpoint({ topics: [topic], driver: flaky });
    const body = JSON.stringify({ data: 'retry me' });
    const signature = signBody(secret, body, T0);
    const first = await call(topic, body, { 'sluice-signature': signature });
    expect(first.status).toBe(503);
    expect(await topicKeys(topic)).toEqual([]);
    const retry = await call(topic, body, { 'sluice-signature': signature });
    expect(retry.status).toBe(202);
    expect(await redis.xlen(`sluice:{${topic}}`)).toBe(1);
  });

  it('bearer OR signature when both are configured', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic], token });
    const body = JSON.stringify({ data: 'either' });
    expect((await call(topic, body, { authorization: `Bearer ${token}` })).status).toBe(202);
    expect(
      (
        await call(topic, body, {
          authorization: 'Bearer wrong',
          'sluice-signature': signBody(secret, body, T0),
        })
      ).status,
    ).toBe(202);
    // A valid bearer token is enough, whatever the signature says.
    expect(
      (await call(topic, body, { authorization: `Bearer ${token}`, 'sluice-signature': 'garbage' })).status,
    ).toBe(202);
    const neither = await call(topic, body, { authorization: 'Bearer wrong' });
    expect(neither.status).toBe(401);
    expect(neither.body.error).toBe('missing or invalid bearer token, and no Sluice-Signature header');
    expect(neither.headers['www-authenticate']).toBe('Bearer, Sluice-Signature');
  });

  it.each([
    ['missing', {}, /missing Sluice-Signature header/],
    ['malformed', { 'sluice-signature': 'v1=abc' }, /malformed Sluice-Signature header/],
    ['mismatched', { 'sluice-signature': `t=${T0},v1=${'0'.repeat(64)}` }, /does not match/],
  ])('401 naming the problem for a %s signature', async (_name, headers, message) => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic] });
    const res = await call(topic, JSON.stringify({ data: 1 }), headers);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(message);
    expect(await topicKeys(topic)).toEqual([]);
  });

  it('with signing secrets but no token, a bearer token is no way in', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic] });
    const res = await call(topic, JSON.stringify({ data: 1 }), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
  });

  it('with neither a token nor a secret, everything is refused', async () => {
    const topic = randomTopic();
    const { call } = endpoint({ topics: [topic], signingSecrets: [] });
    const body = JSON.stringify({ data: 1 });
    const res = await call(topic, body, { 'sluice-signature': signBody(secret, body, T0) });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/SLUICE_PUBLISH_TOKEN.*SLUICE_SIGNING_SECRET/);
  });

  it('works the same through the Vercel route (Web Request, body read as bytes)', async () => {
    const topic = randomTopic();
    const route = vercelPublishHandler({
      driver,
      topics: [topic],
      token: undefined,
      signingSecrets: [secret],
      now: () => T0 * 1000,
      logger: silentLogger,
    });
    const body = new TextEncoder().encode(JSON.stringify({ data: 'vercel' }));
    const request = () =>
      new Request(`https://sluice.example/api/topics/${topic}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'SLUICE-SIGNATURE': signBody(secret, body, T0) },
        body,
      });
    expect((await route(request())).status).toBe(202);
    const replay = await route(request());
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toMatch(/already used/);
  });

  it.each([
    ['signingSecrets', { signingSecrets: [''] }],
    ['signingSecrets', { signingSecrets: 'one,two' }],
    ['signatureToleranceSeconds', { signatureToleranceSeconds: 0 }],
    ['signatureToleranceSeconds', { signatureToleranceSeconds: 1.5 }],
    ['now', { now: 5 }],
  ])('refuses a bad %s at once (cold start)', (option, bad) => {
    const attempt = () =>
      lambdaPublishHandler({ driver, topics: ['x'], token, ...(bad as Partial<PublishEndpointOptions>) });
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(new RegExp(`\`${option}\``));
  });

  it('signBody is exported from the package entry', () => {
    expect(exportedSignBody).toBe(signBody);
  });
});
