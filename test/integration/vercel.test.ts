import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_DURATION_SECONDS } from '../../functions/vercel/max-duration.js';
import { loadCronSecret, vercelDrainHandler, vercelPublishHandler } from '../../src/adapters/vercel.js';
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
const secret = 'cron-secret-0123456789abcdef';
const publishToken = 'publish-token-0123456789';
const origin = 'https://sluice.example';

/** A topic with group `g` already created at `$`, so what is published next is delivered. */
async function arrange(group = 'g') {
  const topic = randomTopic();
  const { stream } = streamKeys({ topic });
  await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
  return { topic, group, stream };
}

function cron(
  topic: string,
  extra: Partial<Omit<Parameters<typeof vercelDrainHandler>[0], 'batchHandler'>> = {},
  on: { driver?: Driver } = {},
) {
  const seen: string[] = [];
  const handler: Handler = (message) => {
    seen.push(message.id);
  };
  const route = vercelDrainHandler({
    driver: on.driver ?? driver,
    topic,
    group: 'g',
    maxDurationSeconds: 10,
    budgetMs: 3_000,
    blockMs: 50,
    idleExitMs: 100,
    cronSecret: secret,
    logger: silentLogger,
    handler,
    ...extra,
  });
  return { route, seen };
}

function cronRequest(
  headers: Record<string, string> = { authorization: `Bearer ${secret}` },
  path = '/api/drain',
) {
  return new Request(`${origin}${path}`, { method: 'GET', headers });
}

async function call(route: (request: Request) => Promise<Response>, request: Request) {
  const response = await route(request);
  return { status: response.status, headers: response.headers, body: JSON.parse(await response.text()) };
}

async function pendingCount(stream: string, group = 'g'): Promise<number> {
  return ((await redis.xpending(stream, group)) as [number])[0];
}

describe('vercelDrainHandler (Vercel Cron)', () => {
  it('with the cron secret: 200 with the DrainReport, and the published message is acknowledged', async () => {
    const { topic, stream } = await arrange();
    const { id } = await publish(driver, topic, { data: { orderId: 1 } });
    const { route, seen } = cron(topic);

    const res = await call(route, cronRequest());

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ stream, group: 'g', read: 1, acked: 1, stoppedBy: 'idle', pending: 0 });
    expect(seen).toEqual([id]);
    expect(await pendingCount(stream)).toBe(0);
  });

  it('a missing, wrong or forged secret: 401, and nothing is read', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'waits' });
    const { route, seen } = cron(topic);
    const forged: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${'x'.repeat(secret.length)}` }, // same length
      { authorization: `Bearer ${secret}x` },
      { authorization: `Bearer ${secret.slice(0, -1)}` },
      { authorization: `Bearer ${secret.toUpperCase()}` },
      { authorization: `Bearer ${secret} ${secret}` },
      { authorization: secret }, // no scheme
      { authorization: `Basic ${Buffer.from(`:${secret}`).toString('base64')}` },
      { 'x-vercel-cron': '1', 'user-agent': 'vercel-cron/1.0' }, // looks like Vercel, proves nothing
      { cookie: `authorization=Bearer ${secret}` },
    ];
    for (const headers of forged) {
      const res = await call(route, cronRequest(headers));
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body).toEqual({ error: 'missing or invalid bearer token' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    // The secret in the query string is not the header either.
    const inQuery = await call(
      route,
      cronRequest({}, `/api/drain?authorization=${encodeURIComponent(`Bearer ${secret}`)}`),
    );
    expect(inQuery.status).toBe(401);
    expect(seen).toEqual([]);

    // The message was left for a run that authenticates.
    const ok = await call(route, cronRequest());
    expect(ok.body).toMatchObject({ read: 1, acked: 1 });
  });

  it('a replayed secret: the old one after rotation, the publish token, the cron secret at the publish route', async () => {
    const { topic } = await arrange();
    const rotated = cron(topic, { cronSecret: 'rotated-secret-fedcba9876543210' });
    expect((await call(rotated.route, cronRequest())).status).toBe(401);
    expect((await call(rotated.route, cronRequest({ authorization: `Bearer ${publishToken}` }))).status).toBe(
      401,
    );
    expect(
      (await call(rotated.route, cronRequest({ authorization: 'Bearer rotated-secret-fedcba9876543210' })))
        .status,
    ).toBe(200);

    const publishRoute = vercelPublishHandler({
      driver,
      topics: [topic],
      token: publishToken,
      logger: silentLogger,
    });
    const res = await publishRoute(
      new Request(`${origin}/topics/${topic}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: '{"data":1}',
      }),
    );
    expect(res.status).toBe(401);
  });

  it('CRON_SECRET unset: every request is refused, "Bearer undefined" and an empty token included', async () => {
    const { topic } = await arrange();
    await publish(driver, topic, { data: 'waits' });
    for (const cronSecret of [undefined, '']) {
      const { route, seen } = cron(topic, { cronSecret });
      for (const authorization of [undefined, 'Bearer undefined', 'Bearer null', 'Bearer ', 'Bearer']) {
        const res = await call(route, cronRequest(authorization === undefined ? {} : { authorization }));
        expect(res.status).toBe(401);
        expect(res.body.error).toMatch(/CRON_SECRET/);
      }
      expect(seen).toEqual([]);
    }
  });

  it('a method other than GET or POST: 405', async () => {
    const { topic } = await arrange();
    const { route } = cron(topic);
    const res = await route(
      new Request(`${origin}/api/drain`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${secret}` },
      }),
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });

  it('the deadline comes from maxDuration: 1 s less a 300 ms margin ends the cycle before 1 s', async () => {
    const { topic, stream } = await arrange();
    await publish(driver, topic, { data: 'in time' });
    // No budgetMs and no idle exit: only the function's own limit ends this cycle.
    const { route, seen } = cron(topic, {
      maxDurationSeconds: 1,
      safetyMarginMs: 300,
      budgetMs: undefined,
      idleExitMs: undefined,
      blockMs: 1_000,
    });

    const started = Date.now();
    const res = await call(route, cronRequest());
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(1_000);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ acked: 1, stoppedBy: 'budget' });
    // The budget defaulted to fill the function's time (700 ms; the last blocking read keeps one
    // 100 ms server tick free before it), not the library's 50 s.
    expect(res.body.durationMs).toBeGreaterThanOrEqual(500);
    expect(seen).toHaveLength(1);
    expect(await pendingCount(stream)).toBe(0);
  });

  it('a shorter budget wins over maxDuration, and the query may shorten it for one run', async () => {
    const { topic } = await arrange();
    const { route } = cron(topic, { maxDurationSeconds: 10, budgetMs: 400, idleExitMs: undefined });
    const configured = await call(route, cronRequest());
    expect(configured.body.stoppedBy).toBe('budget');
    expect(configured.body.durationMs).toBeGreaterThanOrEqual(250);
    expect(configured.body.durationMs).toBeLessThan(1_500);

    const shortened = await call(route, cronRequest(undefined, '/api/drain?budgetMs=100'));
    expect(shortened.body.stoppedBy).toBe('budget');
    expect(shortened.body.durationMs).toBeLessThan(250);
  });

  it('cold start: maxDurationSeconds missing, not whole seconds, or without room for the margin throws', () => {
    const base = { driver, topic: 't', group: 'g', cronSecret: secret, handler: () => {} };
    const option = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof InvalidOptionError ? `${error.option}: ${error.message}` : String(error);
      }
      return 'no error';
    };
    expect(option(() => vercelDrainHandler({ ...base } as never))).toMatch(
      /^maxDurationSeconds: .*vercel\.json/,
    );
    expect(option(() => vercelDrainHandler({ ...base, maxDurationSeconds: 1.5 }))).toMatch(
      /^maxDurationSeconds:/,
    );
    expect(option(() => vercelDrainHandler({ ...base, maxDurationSeconds: 0 }))).toMatch(
      /^maxDurationSeconds:/,
    );
    // The default safety margin (2 s) leaves nothing of 1 s.
    expect(option(() => vercelDrainHandler({ ...base, maxDurationSeconds: 1 }))).toMatch(
      /^maxDurationSeconds: .*safetyMarginMs/,
    );
    expect(option(() => vercelDrainHandler({ ...base, maxDurationSeconds: 60, cronSecret: 'a b' }))).toMatch(
      /^cronSecret:/,
    );
    expect(option(() => vercelDrainHandler({ ...base, maxDurationSeconds: 60, group: 'no spaces' }))).toMatch(
      /^group:/,
    );
  });

  it('the query overrides topic and group for one run; bad overrides get 400, after authentication', async () => {
    const { topic } = await arrange();
    const other = await arrange('g2');
    const { id } = await publish(driver, other.topic, { data: 'elsewhere' });
    const { route, seen } = cron(topic, { allowedTopics: [other.topic], allowedGroups: ['g2'] });

    const res = await call(route, cronRequest(undefined, `/api/drain?topic=${other.topic}&group=g2`));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stream: other.stream, group: 'g2', acked: 1 });
    expect(seen).toEqual([id]);

    for (const [query, option] of [
      ['budgetMs=soon', 'budgetMs'],
      ['budgetMs=0', 'budgetMs'],
      ['budgetMs=1000000', 'budgetMs'],
      ['topic=..%2Fetc', 'topic'],
      ['group=', 'group'],
      [`topic=${topic}&topic=${other.topic}`, 'topic'],
    ] as const) {
      const bad = await call(route, cronRequest(undefined, `/api/drain?${query}`));
      expect(bad.status, query).toBe(400);
      expect(bad.body.error).toContain(`\`${option}\``);
      expect((await call(route, cronRequest({}, `/api/drain?${query}`))).status).toBe(401);
    }
    // Parameters that are not overrides are left alone.
    expect((await call(route, cronRequest(undefined, '/api/drain?utm_source=x'))).status).toBe(200);
  });

  it('an override outside the allowed topics and groups: 403 naming them, and no stream or group is made', async () => {
    const { topic, stream } = await arrange();
    const stray = randomTopic('stray');
    const { route, seen } = cron(topic, { allowedTopics: ['refunds'] });

    const res = await call(route, cronRequest(undefined, `/api/drain?topic=${stray}`));
    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      `query \`topic\` ${JSON.stringify(stray)} is not one this drain may serve; allowed: ${topic}, refunds (option allowedTopics)`,
    );
    const group = await call(route, cronRequest(undefined, '/api/drain?group=stray-group'));
    expect(group.status).toBe(403);
    expect(group.body.error).toMatch(/allowed: g \(option allowedGroups\)$/);
    expect(await redis.exists(streamKeys({ topic: stray }).stream)).toBe(0);
    expect(((await redis.xinfo('GROUPS', stream)) as unknown[][]).map((g) => g[1])).toEqual(['g']);
    expect(seen).toEqual([]);
    // Without the secret the answer is still 401; naming the configured ones is allowed.
    expect((await call(route, cronRequest({}, `/api/drain?topic=${stray}`))).status).toBe(401);
    expect((await call(route, cronRequest(undefined, `/api/drain?topic=${topic}&group=g`))).status).toBe(200);
  });

  it('a cycle that stops on a Redis error: 500 with the report', async () => {
    const { route } = cron(randomTopic(), {}, { driver: rest.unreachable() });
    const res = await call(route, cronRequest());
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ stoppedBy: 'error', acked: 0 });
    expect(res.body.error).toMatch(/RedisUnavailableError/);
  });
});

describe('loadCronSecret', () => {
  it('reads CRON_SECRET: unset or empty is undefined; whitespace fails naming the variable', () => {
    expect(loadCronSecret({})).toBeUndefined();
    expect(loadCronSecret({ CRON_SECRET: '' })).toBeUndefined();
    expect(loadCronSecret({ CRON_SECRET: secret })).toBe(secret);
    expect(() => loadCronSecret({ CRON_SECRET: `${secret}\n` })).toThrow(ConfigurationError);
    try {
      loadCronSecret({ CRON_SECRET: 'two words' });
    } catch (error) {
      expect((error as ConfigurationError).variable).toBe('CRON_SECRET');
      expect((error as Error).message).toMatch(/^CRON_SECRET /);
    }
  });
});

describe('vercelPublishHandler', () => {
  const topic = randomTopic();
  const stream = `sluice:{${topic}}`;
  const route = vercelPublishHandler({
    driver,
    topics: [topic],
    token: publishToken,
    maxBodyBytes: 10_000,
    logger: silentLogger,
  });

  function post(
    path: string,
    body: string | Uint8Array | null = '{"data":{"orderId":7}}',
    headers: Record<string, string> = {},
  ) {
    return call(
      route,
      new Request(`${origin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publishToken}`, 'content-type': 'application/json', ...headers },
        body,
      }),
    );
  }

  it('202 with the ids, from every URL shape Vercel may pass', async () => {
    for (const path of [
      `/topics/${topic}/messages`,
      `/api/topics/${topic}/messages`,
      `/topics/${topic}/messages?topic=${topic}`, // what the vercel.json rewrite passes
      `/api/publish?topic=${topic}`,
      `/v1/api/topics/${encodeURIComponent(topic)}/messages`,
    ]) {
      const res = await post(path);
      expect(res.status, path).toBe(202);
      expect(res.body).toMatchObject({ topic, duplicates: 0 });
      const [[id, fields]] = (await redis.xrange(stream, res.body.ids[0], res.body.ids[0])) as [
        [string, string[]],
      ];
      expect(id).toBe(res.body.ids[0]);
      expect(fields).toEqual(['sluice', '1', 'data', '{"orderId":7}']);
    }
  });

  it('a batch and the Idempotency-Key header go through', async () => {
    const key = `idem-${Math.random()}`;
    const body = JSON.stringify({ messages: [{ data: 1 }, { data: 2 }] });
    const first = await post(`/topics/${topic}/messages`, body, { 'idempotency-key': key });
    const retry = await post(`/topics/${topic}/messages`, body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(first.body.ids).toHaveLength(2);
    expect(retry.body).toMatchObject({ ids: first.body.ids, duplicates: 2 });
  });

  it('401 without the publish token', async () => {
    for (const authorization of ['', 'Bearer wrong', `Bearer ${publishToken}x`]) {
      const res = await post(`/topics/${topic}/messages`, undefined, { authorization });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('missing or invalid bearer token');
    }
  });

  it('404 for an unknown topic, or a path that is not /topics/{topic}/messages', async () => {
    for (const path of [
      '/topics/nope/messages',
      `/topics/${topic}/messages/extra`,
      `/topics/${topic}/extra/messages`,
      `/topic/${topic}/messages`,
      `/topics/${topic}`,
      '/topics//messages',
      '/api/publish',
      `/api/publish?topic=${topic}&topic=${topic}x`,
    ]) {
      const res = await post(path);
      expect(res.status, path).toBe(404);
      expect(res.body.error).toMatch(/^unknown topic/);
    }
  });

  it('415 for a body that is not JSON', async () => {
    const res = await post(`/topics/${topic}/messages`, 'data=1', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('400 for invalid UTF-8 bytes, which are not replaced', async () => {
    const bytes = Uint8Array.from([...Buffer.from('{"data":"'), 0xc3, 0x28, 0xff, ...Buffer.from('"}')]);
    const res = await post(`/topics/${topic}/messages`, bytes);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('body is not valid UTF-8');
  });

  it('400 for an empty or malformed body; 413 for one over maxBodyBytes', async () => {
    expect((await post(`/topics/${topic}/messages`, null)).status).toBe(400);
    expect((await post(`/topics/${topic}/messages`, '{"data":')).status).toBe(400);
    const big = JSON.stringify({ data: 'x'.repeat(20_000) });
    expect((await post(`/topics/${topic}/messages`, big)).status).toBe(413);
  });

  it('405 for GET', async () => {
    const res = await call(
      route,
      new Request(`${origin}/topics/${topic}/messages`, {
        headers: { authorization: `Bearer ${publishToken}` },
      }),
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('vercelPublishHandler: the body is read only once trusted, capped and timed', () => {
  const topic = randomTopic();
  const limit = 10_000;
  const route = vercelPublishHandler({
    driver,
    topics: [topic],
    token: publishToken,
    signingSecrets: ['signing-secret-0123456789'],
    maxBodyBytes: limit,
    bodyTimeoutMs: 500,
    logger: silentLogger,
  });
  const at = `${origin}/topics/${topic}/messages`;
  const json = { 'content-type': 'application/json' };

  it('a huge streamed body without credentials: 401 without reading it', async () => {
    for (const headers of [
      json,
      { ...json, authorization: 'Bearer wrong' },
      { ...json, 'sluice-signature': 'not a signature' },
    ]) {
      const body = countedBody(65_536, 3_200); // 200 MiB if it were read
      const res = await call(route, streamedRequest(at, body.stream, headers));
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(body.pulled.chunks, JSON.stringify(headers)).toBeLessThanOrEqual(1);
    }
  });

  it('an oversize body with the token: 413 after reading at most the limit and one chunk', async () => {
    const chunkBytes = 4_096;
    const body = countedBody(chunkBytes, 10_000);
    const res = await call(
      route,
      streamedRequest(at, body.stream, { ...json, authorization: `Bearer ${publishToken}` }),
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(`the limit is ${limit}`);
    expect(body.pulled.chunks * chunkBytes).toBeLessThanOrEqual(limit + chunkBytes);
    expect(body.pulled.cancelled).toBe(true);
    expect(await redis.exists(`sluice:{${topic}}`)).toBe(0);
  });

  it('a body trickled in slower than bodyTimeoutMs: 408 once it has run out', async () => {
    const body = countedBody(1, 200, 50); // 10 s to send 200 bytes
    const started = Date.now();
    const res = await call(
      route,
      streamedRequest(at, body.stream, { ...json, authorization: `Bearer ${publishToken}` }),
    );
    expect(res.status).toBe(408);
    expect(res.body.error).toMatch(/bodyTimeoutMs \(500 ms\)/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(body.pulled.chunks).toBeLessThan(200);
  });

  it('a streamed body within the limits is published', async () => {
    const bytes = new TextEncoder().encode('{"data":"streamed"}');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 5));
        controller.enqueue(bytes.slice(5));
        controller.close();
      },
    });
    const res = await call(
      route,
      streamedRequest(at, stream, { ...json, authorization: `Bearer ${publishToken}` }),
    );
    expect(res.status).toBe(202);
  });

  it('cold start: a bad bodyTimeoutMs throws naming it', () => {
    expect(() =>
      vercelPublishHandler({ driver, topics: [topic], token: publishToken, bodyTimeoutMs: 0 }),
    ).toThrow(/^Expected `bodyTimeoutMs`/);
  });
});

describe('the Vercel deployment', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('vercel.json: the cron calls /api/drain, maxDuration matches the functions, publishing is rewritten', () => {
    const config = JSON.parse(readFileSync(new URL('../../vercel.json', import.meta.url), 'utf8'));
    expect(config.crons).toEqual([{ path: '/api/drain', schedule: '* * * * *' }]);
    expect(config.functions['api/drain.ts'].maxDuration).toBe(MAX_DURATION_SECONDS);
    expect(config.functions['api/qstash-drain.ts'].maxDuration).toBe(MAX_DURATION_SECONDS);
    expect(config.rewrites).toContainEqual({
      source: '/topics/:topic/messages',
      destination: '/api/publish?topic=:topic',
    });
  });

  /** The environment of a Vercel deployment on Upstash (nothing listens there: only refusals are tried). */
  function stubVercelEnv(extra: Record<string, string | undefined> = {}) {
    vi.stubEnv('REDIS_URL', undefined);
    vi.stubEnv('SLUICE_DRIVER', undefined);
    vi.stubEnv('UPSTASH_REDIS_REST_URL', 'http://127.0.0.1:1');
    vi.stubEnv('UPSTASH_REDIS_REST_TOKEN', 'token');
    vi.stubEnv('CRON_SECRET', secret);
    vi.stubEnv('SLUICE_PUBLISH_TOKEN', undefined);
    for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
  }

  it('api/drain.ts and api/publish.ts are wired to the adapters and the environment', async () => {
    stubVercelEnv({ SLUICE_TOPIC: undefined, SLUICE_GROUP: undefined, SLUICE_TOPICS: 'orders,refunds' });
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { GET } = await import('../../api/drain.js');
    expect((await GET(cronRequest({ authorization: 'Bearer wrong' }))).status).toBe(401);
    // Overrides are held to SLUICE_TOPICS and SLUICE_GROUP (refused before Redis is asked).
    const stray = await GET(cronRequest(undefined, '/api/drain?topic=stray'));
    expect(stray.status).toBe(403);
    expect(JSON.parse(await stray.text()).error).toMatch(
      /allowed: orders, refunds \(option allowedTopics\)$/,
    );
    const group = await GET(cronRequest(undefined, '/api/drain?group=stray'));
    expect(JSON.parse(await group.text()).error).toMatch(
      /allowed: payment-processors \(option allowedGroups\)$/,
    );
    const { POST } = await import('../../api/publish.js');
    const res = await POST(new Request(`${origin}/topics/orders/messages`, { method: 'POST' }));
    expect(res.status).toBe(401);
    expect(JSON.parse(await res.text()).error).toMatch(/SLUICE_PUBLISH_TOKEN/);
    // The refusal was logged as one JSON line.
    expect(JSON.parse(warnings.mock.calls[0]?.[0] as string)).toMatchObject({ level: 'warn' });
    warnings.mockRestore();
  });

  it('a bad environment fails the cold start with an error naming the variable', async () => {
    stubVercelEnv({ REDIS_URL: 'redis://127.0.0.1:6379' });
    await expect(import('../../api/drain.js')).rejects.toMatchObject({ variable: 'SLUICE_DRIVER' });
    vi.resetModules();
    stubVercelEnv({ CRON_SECRET: 'has a space' });
    await expect(import('../../api/drain.js')).rejects.toMatchObject({ variable: 'CRON_SECRET' });
    vi.resetModules();
    stubVercelEnv({ SLUICE_BUDGET_MS: 'soon' });
    await expect(import('../../api/publish.js')).rejects.toMatchObject({ variable: 'SLUICE_BUDGET_MS' });
  });
});
