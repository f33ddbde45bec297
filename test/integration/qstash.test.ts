import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadQStashConfig, qstashDrainHandler } from '../../src/adapters/qstash.js';
import type { Handler } from '../../src/consume/options.js';
import type { Driver } from '../../src/core/driver.js';
import { ConfigurationError, InvalidOptionError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, rawClient } from '../support/fixtures.js';
import { countedBody, streamedRequest } from '../support/streams.js';

// These functions run on Upstash over REST in production: test them on that driver.
const rest = DRIVERS.find((kind) => kind.name === 'upstash') as (typeof DRIVERS)[number];

const driver = rest.create();
const redis = rawClient();
const currentSigningKey = 'sig_current0123456789abcdefghij';
const nextSigningKey = 'sig_next9876543210zyxwvutsrqpo';
const url = 'https://sluice.example/api/qstash-drain';
/** QStash's public development key: never accepted in production, whatever QSTASH_DEV says. */
const QSTASH_DEV_CURRENT_SIGNING_KEY = 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r';

interface Claims {
  key?: string;
  sub?: string;
  iss?: string;
  /** Seconds from now. */
  iat?: number;
  nbf?: number;
  exp?: number;
  /** The body the signature is for (default: the one sent). */
  signedBody?: string;
}

/** An `Upstash-Signature` made the way QStash makes it: an HS256 JWT over the URL and the body's SHA-256. */
function sign(body: string, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const hash = createHash('sha256')
    .update(claims.signedBody ?? body)
    .digest('base64url');
  return new SignJWT({ body: hash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(claims.iss ?? 'Upstash')
    .setSubject(claims.sub ?? url)
    .setIssuedAt(now + (claims.iat ?? 0))
    .setNotBefore(now + (claims.nbf ?? 0))
    .setExpirationTime(now + (claims.exp ?? 300))
    .setJti(`jwt_${randomUUID()}`)
    .sign(new TextEncoder().encode(claims.key ?? currentSigningKey));
}

function request(body: string, signature: string | undefined, to = url, method = 'POST'): Request {
  return new Request(to, {
    method,
    headers: signature === undefined ? {} : { 'upstash-signature': signature },
    body: method === 'GET' ? null : body,
  });
}

/** A topic with group `g` already created at `$`, so what is published next is delivered. */
async function arrange(group = 'g') {
  const topic = randomTopic();
  const { stream } = streamKeys({ topic });
  await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
  return { topic, group, stream };
}

function route(
  topic: string,
  extra: Partial<Omit<Parameters<typeof qstashDrainHandler>[0], 'batchHandler'>> = {},
  on: { driver?: Driver } = {},
) {
  const seen: string[] = [];
  const handler: Handler = (message) => {
    seen.push(message.id);
  };
  const drain = qstashDrainHandler({
    driver: on.driver ?? driver,
    currentSigningKey,
    nextSigningKey,
    topic,
    group: 'g',
    budgetMs: 3_000,
    blockMs: 50,
    idleExitMs: 100,
    logger: silentLogger,
    handler,
    ...extra,
  });
  return { drain, seen };
}

async function call(handler: (request: Request) => Promise<Response>, req: Request) {
  const response = await handler(req);
  return { status: response.status, headers: response.headers, body: JSON.parse(await response.text()) };
}

describe('qstashDrainHandler', () => {
  it('signed with the current key: 200, and the drain ran (the published message is acknowledged)', async () => {
    const { topic, stream } = await arrange();
    const { id } = await publish(driver, topic, { data: { orderId: 1 } });
    const { drain, seen } = route(topic);

    const res = await call(drain, request('', await sign('')));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stream, group: 'g', read: 1, acked: 1, stoppedBy: 'idle', pending: 0 });
    expect(seen).toEqual([id]);
    expect(((await redis.xpending(stream, 'g')) as [number])[0]).toBe(0);
  });

  it('signed with the next key (keys being rotated): 200', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'rotated' });
    const { drain, seen } = route(topic);
    const res = await call(drain, request('', await sign('', { key: nextSigningKey })));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('refused with 401, nothing read: wrong key, expired, not yet valid, other issuer, unsigned, garbage', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'waits' });
    const { drain, seen } = route(topic);
    const unsigned = new UnsecuredJWT({ body: createHash('sha256').update('').digest('base64url') })
      .setIssuer('Upstash')
      .setSubject(url)
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    const refused: [string, string][] = [
      ['wrong key', await sign('', { key: 'sig_someoneElsesKey0123456789' })],
      ['expired', await sign('', { iat: -600, nbf: -600, exp: -300 })],
      ['not yet valid', await sign('', { nbf: 120 })],
      ['other issuer', await sign('', { iss: 'Mallory' })],
      ['alg none', unsigned],
      ['garbage', 'not-a-jwt'],
    ];
    for (const [what, signature] of refused) {
      const res = await call(drain, request('', signature));
      expect(res.status, what).toBe(401);
      expect(res.body).toEqual({ error: 'invalid Upstash-Signature' });
    }
    expect(seen).toEqual([]);
    // The message waited for a signed request.
    expect((await call(drain, request('', await sign('')))).body).toMatchObject({ read: 1, acked: 1 });
  });

  it('401 when the body differs from the signed one', async () => {
    const { topic } = await arrange();
    const { drain } = route(topic);
    const signature = await sign('{"budgetMs":1000}');
    const res = await call(drain, request('{"budgetMs":9000}', signature));
    expect(res.status).toBe(401);
    // …and a signature for an empty body does not cover a body either.
    expect((await call(drain, request('{"budgetMs":1000}', await sign('')))).status).toBe(401);
  });

  it('401 without the Upstash-Signature header', async () => {
    const { topic } = await arrange();
    const { drain } = route(topic);
    const res = await call(drain, request('', undefined));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'missing Upstash-Signature header' });
    expect((await call(drain, request('', ''))).status).toBe(401);
  });

  it('401 for a signature made for another URL (another endpoint of the same account)', async () => {
    const { topic } = await arrange();
    const { drain } = route(topic);
    for (const sub of [
      'https://sluice.example/api/publish',
      'https://other.example/api/qstash-drain',
      `${url}?topic=${topic}`,
      'http://sluice.example/api/qstash-drain',
    ]) {
      expect((await call(drain, request('', await sign('', { sub })))).status, sub).toBe(401);
    }
  });

  it('with `url` set, the signature must be for that public URL, whatever URL the request arrived at', async () => {
    const { topic } = await arrange();
    const { drain } = route(topic, { url });
    const internal = 'http://localhost:3000/api/qstash-drain';
    expect((await call(drain, request('', await sign(''), internal))).status).toBe(200);
    expect((await call(drain, request('', await sign('', { sub: internal }), internal))).status).toBe(401);
  });

  it('the public development keys are refused even with QSTASH_DEV set', async () => {
    vi.stubEnv('QSTASH_DEV', 'true');
    try {
      const { topic } = await arrange();
      const { drain } = route(topic);
      const res = await call(drain, request('', await sign('', { key: QSTASH_DEV_CURRENT_SIGNING_KEY })));
      expect(res.status).toBe(401);
      expect((await call(drain, request('', await sign('')))).status).toBe(200);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('the signed body may override topic, group and budgetMs; a bad one gets 400, after the signature', async () => {
    const { topic } = await arrange();
    const other = await arrange('g2');
    const { id } = await publish(driver, other.topic, { data: 'elsewhere' });
    const { drain, seen } = route(topic, { allowedTopics: [other.topic], allowedGroups: ['g2'] });

    const body = JSON.stringify({ topic: other.topic, group: 'g2', budgetMs: 2_000 });
    const res = await call(drain, request(body, await sign(body)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stream: other.stream, group: 'g2', acked: 1 });
    expect(seen).toEqual([id]);

    for (const [bad, error] of [
      ['{"budgetMs":"soon"}', /`budgetMs`/],
      ['{"topic":"../etc"}', /`topic`/],
      ['{"budgetMS":1000}', /unknown field "budgetMS"/],
      ['[1]', /JSON object/],
      ['{"topic":', /not valid JSON/],
    ] as const) {
      const refused = await call(drain, request(bad, await sign(bad)));
      expect(refused.status, bad).toBe(400);
      expect(refused.body.error).toMatch(error);
      expect((await call(drain, request(bad, await sign('')))).status).toBe(401);
    }
  });

  it('an override outside the allowed topics and groups: 403 naming them, and no stream or group is made', async () => {
    const { topic, stream } = await arrange();
    const stray = randomTopic('stray');
    const { drain, seen } = route(topic);
    for (const [body, error] of [
      [
        { topic: stray },
        `body \`topic\` "${stray}" is not one this drain may serve; allowed: ${topic} (option allowedTopics)`,
      ],
      [
        { group: 'stray-group' },
        'body `group` "stray-group" is not one this drain may serve; allowed: g (option allowedGroups)',
      ],
    ] as const) {
      const text = JSON.stringify(body);
      const res = await call(drain, request(text, await sign(text)));
      expect(res.status, text).toBe(403);
      expect(res.body.error).toBe(error);
    }
    expect(await redis.exists(streamKeys({ topic: stray }).stream)).toBe(0);
    expect(((await redis.xinfo('GROUPS', stream)) as unknown[][]).map((g) => g[1])).toEqual(['g']);
    expect(seen).toEqual([]);
  });

  it('GET (a schedule with Upstash-Method: GET) works; other methods get 405', async () => {
    const { topic } = await arrange();
    const { drain } = route(topic);
    expect((await call(drain, request('', await sign(''), url, 'GET'))).status).toBe(200);
    const res = await call(drain, request('', await sign(''), url, 'PUT'));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, GET');
  });

  it('with maxDurationSeconds, the deadline comes from it: 1 s less a 300 ms margin ends before 1 s', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'in time' });
    const { drain } = route(topic, {
      maxDurationSeconds: 1,
      safetyMarginMs: 300,
      budgetMs: undefined,
      idleExitMs: undefined,
      blockMs: 1_000,
    });
    const signature = await sign('');
    const started = Date.now();
    const res = await call(drain, request('', signature));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(res.body).toMatchObject({ acked: 1, stoppedBy: 'budget' });
  });

  it('a cycle that stops on a Redis error: 500 with the report (QStash retries it)', async () => {
    const { drain } = route(randomTopic(), {}, { driver: rest.unreachable() });
    const res = await call(drain, request('', await sign('')));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ stoppedBy: 'error' });
  });

  it('cold start: missing keys, a bad url or clock tolerance throw, naming the option', () => {
    const base = { driver, currentSigningKey, nextSigningKey, topic: 't', group: 'g', handler: () => {} };
    const option = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof InvalidOptionError ? error.option : String(error);
      }
      return 'no error';
    };
    expect(option(() => qstashDrainHandler({ ...base, currentSigningKey: '' }))).toBe('currentSigningKey');
    expect(option(() => qstashDrainHandler({ ...base, nextSigningKey: undefined as never }))).toBe(
      'nextSigningKey',
    );
    expect(option(() => qstashDrainHandler({ ...base, url: '/api/qstash-drain' }))).toBe('url');
    expect(option(() => qstashDrainHandler({ ...base, clockToleranceSeconds: -1 }))).toBe(
      'clockToleranceSeconds',
    );
    expect(option(() => qstashDrainHandler({ ...base, maxDurationSeconds: 2 }))).toBe('maxDurationSeconds');
    expect(option(() => qstashDrainHandler({ ...base, budgetMs: 0 }))).toBe('budgetMs');
  });
});

describe('qstashDrainHandler: the body is read only under a signature, capped and timed', () => {
  it('a huge body under a missing, garbled or forged signature: 401 without reading it', async () => {
    const { drain, seen } = route(randomTopic());
    const forged: [string, Record<string, string>][] = [
      ['none', {}],
      ['garbage', { 'upstash-signature': 'not-a-jwt' }],
      ['wrong key', { 'upstash-signature': await sign('', { key: 'sig_someoneElsesKey0123456789' }) }],
      [
        'alg none',
        { 'upstash-signature': `${new UnsecuredJWT({ body: '' }).setIssuer('Upstash').encode()}` },
      ],
      ['too long', { 'upstash-signature': `${await sign('')}${'A'.repeat(8_192)}` }],
    ];
    for (const [what, headers] of forged) {
      const body = countedBody(65_536, 3_200); // 200 MiB if it were read
      const res = await call(drain, streamedRequest(url, body.stream, headers));
      expect(res.status, what).toBe(401);
      expect(body.pulled.chunks, what).toBeLessThanOrEqual(1);
    }
    expect(seen).toEqual([]);
  });

  it('an oversize body under a valid signature: 413 after at most maxBodyBytes and one chunk', async () => {
    const { drain } = route(randomTopic());
    const chunkBytes = 4_096;
    const body = countedBody(chunkBytes, 10_000);
    const res = await call(drain, streamedRequest(url, body.stream, { 'upstash-signature': await sign('') }));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch('the limit is 65536');
    expect(body.pulled.chunks * chunkBytes).toBeLessThanOrEqual(65_536 + chunkBytes);
    expect(body.pulled.cancelled).toBe(true);
  });

  it('a body trickled in slower than bodyTimeoutMs: 408 once it has run out', async () => {
    const { drain, seen } = route(randomTopic(), { bodyTimeoutMs: 300 });
    const body = countedBody(1, 200, 50); // 10 s to send 200 bytes
    const started = Date.now();
    const res = await call(drain, streamedRequest(url, body.stream, { 'upstash-signature': await sign('') }));
    expect(res.status).toBe(408);
    expect(res.body.error).toMatch(/bodyTimeoutMs \(300 ms\)/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(seen).toEqual([]);
  });

  it('cold start: a bad maxBodyBytes or bodyTimeoutMs throws naming it', () => {
    expect(() => route(randomTopic(), { maxBodyBytes: -1 })).toThrow(/^Expected `maxBodyBytes`/);
    expect(() => route(randomTopic(), { bodyTimeoutMs: 1.5 })).toThrow(/^Expected `bodyTimeoutMs`/);
  });
});

describe('loadQStashConfig', () => {
  const env = {
    QSTASH_CURRENT_SIGNING_KEY: currentSigningKey,
    QSTASH_NEXT_SIGNING_KEY: nextSigningKey,
  };
  const variable = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return error instanceof ConfigurationError ? `${error.variable}: ${error.message}` : String(error);
    }
    return 'no error';
  };

  it('reads both signing keys and the optional public URL', () => {
    expect(loadQStashConfig(env)).toEqual({ currentSigningKey, nextSigningKey, url: undefined });
    expect(loadQStashConfig({ ...env, SLUICE_QSTASH_URL: url })).toMatchObject({ url });
  });

  it('fails naming the variable that is missing or bad', () => {
    expect(variable(() => loadQStashConfig({ ...env, QSTASH_CURRENT_SIGNING_KEY: undefined }))).toMatch(
      /^QSTASH_CURRENT_SIGNING_KEY: QSTASH_CURRENT_SIGNING_KEY is not set/,
    );
    expect(variable(() => loadQStashConfig({ ...env, QSTASH_NEXT_SIGNING_KEY: ' ' }))).toMatch(
      /^QSTASH_NEXT_SIGNING_KEY: /,
    );
    expect(variable(() => loadQStashConfig({ ...env, QSTASH_NEXT_SIGNING_KEY: 'sig_a b' }))).toMatch(
      /^QSTASH_NEXT_SIGNING_KEY: .*whitespace/,
    );
    expect(variable(() => loadQStashConfig({ ...env, SLUICE_QSTASH_URL: 'sluice.example/api' }))).toMatch(
      /^SLUICE_QSTASH_URL: /,
    );
  });
});

describe('api/qstash-drain.ts', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubEnv(extra: Record<string, string | undefined> = {}) {
    vi.stubEnv('REDIS_URL', undefined);
    vi.stubEnv('SLUICE_DRIVER', undefined);
    vi.stubEnv('UPSTASH_REDIS_REST_URL', 'http://127.0.0.1:1');
    vi.stubEnv('UPSTASH_REDIS_REST_TOKEN', 'token');
    vi.stubEnv('QSTASH_CURRENT_SIGNING_KEY', currentSigningKey);
    vi.stubEnv('QSTASH_NEXT_SIGNING_KEY', nextSigningKey);
    for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
  }

  it('is wired to the adapter and the signing keys of the environment', async () => {
    stubEnv({ SLUICE_TOPIC: undefined, SLUICE_TOPICS: 'orders,refunds' });
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { POST } = await import('../../api/qstash-drain.js');
    // Nothing listens behind the REST URL: only the refusal is tried.
    const res = await POST(request('', await sign('', { key: 'sig_someoneElsesKey0123456789' })));
    expect(res.status).toBe(401);
    // Overrides are held to SLUICE_TOPICS (refused before Redis is asked).
    const body = '{"topic":"stray"}';
    const stray = await POST(request(body, await sign(body)));
    expect(stray.status).toBe(403);
    expect(JSON.parse(await stray.text()).error).toMatch(
      /allowed: orders, refunds \(option allowedTopics\)$/,
    );
    warnings.mockRestore();
  });

  it('fails the cold start naming a missing signing key', async () => {
    stubEnv({ QSTASH_NEXT_SIGNING_KEY: undefined });
    await expect(import('../../api/qstash-drain.js')).rejects.toMatchObject({
      variable: 'QSTASH_NEXT_SIGNING_KEY',
    });
  });
});
