/**
 * The ops endpoint through the Lambda adapter (API Gateway HTTP API v2 events), over both drivers:
 * routes, statuses, the admin token, statistics, dead letters, redrive and purge — Redis state
 * checked directly.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lambdaOpsHandler } from '../../src/adapters/aws-lambda.js';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, groupInfo, randomTopic } from '../support/fixtures.js';

const token = 'admin-token-0123456789';

interface Call {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

function event(call: Call): APIGatewayProxyEventV2 {
  const method = call.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: `${method} /ops/{proxy+}`,
    rawPath: call.path,
    rawQueryString: call.query ?? '',
    headers: { authorization: `Bearer ${token}`, ...call.headers },
    requestContext: {
      http: { method, path: call.path },
    } as APIGatewayProxyEventV2['requestContext'],
    body: call.body,
    isBase64Encoded: call.isBase64Encoded ?? false,
  };
}

describe.each(DRIVERS)('ops endpoint (Lambda, HTTP API v2) over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();
  /** A topic in the allow-list that nothing was ever published to. */
  const quiet = randomTopic('quiet');

  function handlerFor(topics: readonly string[], options: { token?: string | undefined } = { token }) {
    return lambdaOpsHandler({ driver, topics, token: options.token, maxRedrive: 50, logger: silentLogger });
  }

  async function send(handler: ReturnType<typeof handlerFor>, call: Call) {
    const response = await handler(event(call));
    const text = response.body as string;
    const headers = response.headers ?? {};
    const isJson = String(headers['content-type']).startsWith('application/json');
    return {
      status: response.statusCode,
      headers,
      text,
      // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON
      body: (isJson ? JSON.parse(text) : undefined) as any,
    };
  }

  /**
   * A topic with groups `g` and `other`, both from `0`: `g` dead-lettered 1 and 2, `other`
   * dead-lettered 3 (PermanentError); each acknowledged the rest of 0…5. Then 6, 7, 8 were published
   * and g's consumer c1 read 6 without acknowledging it: g has lag 2, pending 1, dead letters 2;
   * other has lag 3, pending 0, dead letters 1.
   */
  async function arrange() {
    const topic = randomTopic('ops');
    const keys = streamKeys({ topic });
    for (const g of ['g', 'other']) await redis.xgroup('CREATE', keys.stream, g, '0', 'MKSTREAM');
    const first = await publishBatch(
      driver,
      topic,
      [0, 1, 2, 3, 4, 5].map((data) => ({ data })),
    );
    for (const [group, poison] of [
      ['g', [1, 2]],
      ['other', [3]],
    ] as const) {
      await drain(driver, {
        topic,
        group,
        budgetMs: 3_000,
        blockMs: 20,
        idleExitMs: 50,
        trim: false,
        logger: silentLogger,
        handler: (m: Message<number>) => {
          if ((poison as readonly number[]).includes(m.data)) throw new PermanentError(`bad ${m.data}`);
        },
      });
    }
    const later = await publishBatch(
      driver,
      topic,
      [6, 7, 8].map((data) => ({ data })),
    );
    await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    const ids = [...first, ...later].map((r) => r.id);
    return { topic, keys, ids, ops: handlerFor([topic, quiet]) };
  }

  const groupPath = (topic: string, group: string, action: string) =>
    `/ops/topics/${topic}/groups/${group}/${action}`;

  describe('the dashboard page', () => {
    it.each(['/ops', '/ops/', '/ops/dashboard', '/dev/ops'])(
      'GET %s serves it without a token, with a strict Content-Security-Policy',
      async (path) => {
        const res = await send(handlerFor([quiet]), { path, headers: { authorization: '' } });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.text).toMatch(/^<!doctype html>/);
        expect(res.text).toContain('<title>sluice · operations</title>');
        const csp = String(res.headers['content-security-policy']);
        expect(csp).toContain("default-src 'none'");
        expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
        expect(csp).toContain("connect-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).not.toContain('unsafe-inline');
      },
    );

    it('405 for POST /ops, with Allow: GET; 404 when the dashboard is turned off', async () => {
      const res = await send(handlerFor([quiet]), { method: 'POST', path: '/ops' });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET');
      const off = lambdaOpsHandler({
        driver,
        topics: [quiet],
        token,
        dashboard: false,
        logger: silentLogger,
      });
      expect((await send(off, { path: '/ops' })).status).toBe(404);
    });
  });

  describe('authentication', () => {
    it('401 without a token, with a wrong one, or with the publish token; WWW-Authenticate: Bearer', async () => {
      const ops = handlerFor([quiet]);
      for (const authorization of [
        '',
        'Bearer',
        `Bearer ${token}x`,
        `Basic ${token}`,
        'Bearer publish-token',
      ]) {
        const res = await send(ops, { path: '/ops/stats', headers: { authorization } });
        expect(res.status, authorization).toBe(401);
        expect(res.body).toEqual({ error: 'missing or invalid admin bearer token (SLUICE_ADMIN_TOKEN)' });
        expect(res.headers['www-authenticate']).toBe('Bearer realm="sluice-ops"');
      }
      expect(
        (await send(ops, { path: '/ops/stats', headers: { Authorization: `bearer ${token}` } })).status,
      ).toBe(200);
    });

    it('with no admin token configured, every data route is refused with 401 naming SLUICE_ADMIN_TOKEN', async () => {
      const { topic, keys } = await arrange();
      for (const adminToken of [undefined, '']) {
        const ops = handlerFor([topic], { token: adminToken });
        for (const call of [
          { path: '/ops/stats' },
          { path: groupPath(topic, 'g', 'dead-letters') },
          { method: 'POST', path: groupPath(topic, 'g', 'redrive') },
          { method: 'POST', path: groupPath(topic, 'g', 'purge'), body: '{"all":true}' },
        ]) {
          const res = await send(ops, call);
          expect(res.status).toBe(401);
          expect(res.body.error).toContain('SLUICE_ADMIN_TOKEN');
          expect(res.body.error).toMatch(/disabled/);
        }
      }
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
    });
  });

  describe('GET /ops/stats', () => {
    it('every configured topic: length, and per group lag, pending, oldest pending age, consumers, dead letters', async () => {
      const { topic, keys, ids, ops } = await arrange();
      const res = await send(ops, { path: '/ops/stats' });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.topics.map((t: { topic: string }) => t.topic)).toEqual([topic, quiet]);
      expect(Math.abs(res.body.measuredAt - Date.now())).toBeLessThan(5_000);
      const [stats, empty] = res.body.topics;
      expect(stats).toMatchObject({ topic, stream: keys.stream, exists: true, length: 9, lastId: ids[8] });
      const g = stats.groups.find((x: { name: string }) => x.name === 'g');
      expect(g).toMatchObject({ lag: 2, pending: 1, oldestPendingId: ids[6], deadLetters: 2 });
      expect(g.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
      expect(g.oldestPendingAgeMs).toBeLessThan(60_000);
      expect(g.consumers).toBeGreaterThanOrEqual(1);
      expect(stats.groups.find((x: { name: string }) => x.name === 'other')).toMatchObject({
        lag: 3,
        pending: 0,
        oldestPendingAgeMs: null,
        deadLetters: 1,
      });
      expect(empty).toMatchObject({ topic: quiet, exists: false, length: 0, groups: [] });
    });

    it('?topic= narrows to one configured topic; 404 for a topic outside the allow-list; 400 for two', async () => {
      const { topic, ops } = await arrange();
      const one = await send(ops, { path: '/ops/stats', query: `topic=${topic}` });
      expect(one.status).toBe(200);
      expect(one.body.topics).toHaveLength(1);
      expect(one.body.topics[0].topic).toBe(topic);

      const outside = randomTopic('outside');
      await redis.xadd(streamKeys({ topic: outside }).stream, '*', 'a', '1');
      const unknown = await send(ops, { path: '/ops/stats', query: `topic=${outside}` });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toContain(`unknown topic "${outside}"`);
      const twice = await send(ops, { path: '/ops/stats', query: `topic=${topic}&topic=${quiet}` });
      expect(twice.status).toBe(400);
      expect(twice.body.error).toMatch(/`topic` query parameter at most once/);
    });

    it('works under a prefix (an API Gateway stage) and answers 405 to POST', async () => {
      const { ops } = await arrange();
      expect((await send(ops, { path: '/dev/ops/stats' })).status).toBe(200);
      const post = await send(ops, { method: 'POST', path: '/ops/stats', body: '{}' });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET');
      expect(post.body.error).toBe('method POST is not allowed here; use GET');
    });

    it('404 for a route that does not exist', async () => {
      const { topic, ops } = await arrange();
      for (const path of [
        '/ops/nothing',
        `/ops/topics/${topic}`,
        `/ops/topics/${topic}/groups/g/other`,
        '/stats',
      ]) {
        const res = await send(ops, { path });
        expect(res.status, path).toBe(404);
        expect(res.body.error).toMatch(/^no such route/);
      }
    });

    it('503 with Retry-After when Redis is unreachable', async () => {
      const down = lambdaOpsHandler({
        driver: kind.unreachable(),
        topics: [quiet],
        token,
        logger: silentLogger,
      });
      const res = await send(down, { path: '/ops/stats' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({ error: 'Redis is unavailable; retry later' });
    });
  });

  describe('GET …/dead-letters', () => {
    it("lists a group's dead letters with reason, error, deliveries, source id and time, page by page", async () => {
      const { topic, keys, ids, ops } = await arrange();
      const res = await send(ops, { path: groupPath(topic, 'g', 'dead-letters') });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ stream: keys.deadLetters('g'), group: 'g', total: 2, next: null });
      expect(res.body.deadLetters).toHaveLength(2);
      expect(res.body.deadLetters[0]).toMatchObject({
        reason: 'permanent',
        error: 'PermanentError: bad 1',
        deliveries: 1,
        sourceId: ids[1],
        sourceStream: keys.stream,
        format: 'sluice',
        data: 1,
      });
      expect(Date.parse(res.body.deadLetters[0].deadAt)).toBeGreaterThan(Date.now() - 60_000);

      const first = await send(ops, { path: groupPath(topic, 'g', 'dead-letters'), query: 'count=1' });
      expect(first.body.deadLetters.map((d: { sourceId: string }) => d.sourceId)).toEqual([ids[1]]);
      expect(first.body.next).toMatch(/^\(\d+-\d+$/);
      const second = await send(ops, {
        path: groupPath(topic, 'g', 'dead-letters'),
        query: `count=1&start=${encodeURIComponent(first.body.next)}`,
      });
      expect(second.body.deadLetters.map((d: { sourceId: string }) => d.sourceId)).toEqual([ids[2]]);
      expect(second.body.next).toBeNull();

      const other = await send(ops, { path: groupPath(topic, 'other', 'dead-letters') });
      expect(other.body.deadLetters.map((d: { data: number }) => d.data)).toEqual([3]);
    });

    it('order=newest pages from the newest back to the oldest', async () => {
      const { topic, ids, ops } = await arrange();
      const path = groupPath(topic, 'g', 'dead-letters');
      const first = await send(ops, { path, query: 'order=newest&count=1' });
      expect(first.status).toBe(200);
      expect(first.body.total).toBe(2);
      expect(first.body.deadLetters.map((d: { sourceId: string }) => d.sourceId)).toEqual([ids[2]]);
      expect(first.body.next).toMatch(/^\(\d+-\d+$/);
      const second = await send(ops, {
        path,
        query: `order=newest&count=1&start=${encodeURIComponent(first.body.next)}`,
      });
      expect(second.body.deadLetters.map((d: { sourceId: string }) => d.sourceId)).toEqual([ids[1]]);
      expect(second.body.next).toBeNull();
      const both = await send(ops, { path, query: 'order=newest' });
      expect(both.body.deadLetters.map((d: { data: number }) => d.data)).toEqual([2, 1]);
      const bad = await send(ops, { path, query: 'order=latest' });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('`order` must be oldest or newest, got "latest"');
    });

    it('400 for a bad count, start or group name; 404 for an unknown group or topic; 405 for POST', async () => {
      const { topic, ops } = await arrange();
      const path = groupPath(topic, 'g', 'dead-letters');
      for (const query of ['count=0', 'count=abc', 'count=1001', 'count=1&count=2', 'start=yesterday']) {
        const res = await send(ops, { path, query });
        expect(res.status, query).toBe(400);
        expect(res.body.error, query).toMatch(/count|start/);
      }
      const badGroup = await send(ops, { path: groupPath(topic, 'no%20such', 'dead-letters') });
      expect(badGroup.status).toBe(400);
      expect(badGroup.body.error).toContain('"no such"');
      const unknownGroup = await send(ops, { path: groupPath(topic, 'nobody', 'dead-letters') });
      expect(unknownGroup.status).toBe(404);
      expect(unknownGroup.body.error).toBe(`the stream sluice:{${topic}} has no consumer group "nobody"`);
      const unknownTopic = await send(ops, { path: groupPath(randomTopic(), 'g', 'dead-letters') });
      expect(unknownTopic.status).toBe(404);
      expect(unknownTopic.body.error).toMatch(/^unknown topic/);
      const post = await send(ops, { method: 'POST', path });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET');
    });
  });

  describe('POST …/redrive', () => {
    it('a dry run reports what would happen and changes nothing', async () => {
      const { topic, keys, ids, ops } = await arrange();
      const before = await groupInfo(redis, keys.stream, 'g');
      const res = await send(ops, {
        method: 'POST',
        path: groupPath(topic, 'g', 'redrive'),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dryRun: true }),
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ dryRun: true, group: 'g', redriven: 2, remaining: 2 });
      expect(res.body.counts).toMatchObject({ pending: 2, blocked: 0 });
      expect(res.body.results.map((r: { sourceId: string }) => r.sourceId)).toEqual([ids[1], ids[2]]);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
      expect(await groupInfo(redis, keys.stream, 'g')).toEqual(before);
    });

    it("puts the group's dead letters back in its own pending list only (no body needed)", async () => {
      const { topic, keys, ids, ops } = await arrange();
      const otherBefore = await groupInfo(redis, keys.stream, 'other');
      const res = await send(ops, { method: 'POST', path: groupPath(topic, 'g', 'redrive') });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ dryRun: false, redriven: 2, remaining: 0, counts: { pending: 2 } });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
      const pending = (await redis.xpending(keys.stream, 'g', '-', '+', 10)) as [
        string,
        string,
        number,
        number,
      ][];
      expect(pending.map((p) => p[0])).toEqual([ids[1], ids[2], ids[6]]);
      // Nothing appended; the other group and its dead letter untouched.
      expect(await redis.xlen(keys.stream)).toBe(9);
      expect(await redis.xlen(keys.deadLetters('other'))).toBe(1);
      expect(await groupInfo(redis, keys.stream, 'other')).toEqual(otherBefore);

      const stats = await send(ops, { path: '/ops/stats', query: `topic=${topic}` });
      const g = stats.body.topics[0].groups.find((x: { name: string }) => x.name === 'g');
      expect(g).toMatchObject({ pending: 3, deadLetters: 0 });
    });

    it('chosen ids only, a limit, and base64 bodies', async () => {
      const { topic, keys, ops } = await arrange();
      const page = await send(ops, { path: groupPath(topic, 'g', 'dead-letters') });
      const [a, b] = page.body.deadLetters as { id: string }[];
      const one = await send(ops, {
        method: 'POST',
        path: groupPath(topic, 'g', 'redrive'),
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.from(JSON.stringify({ ids: [b?.id, '1-1'] })).toString('base64'),
        isBase64Encoded: true,
      });
      expect(one.status).toBe(200);
      expect(one.body.results.map((r: { id: string; outcome: string }) => [r.id, r.outcome])).toEqual([
        [b?.id, 'pending'],
        ['1-1', 'missing'],
      ]);
      expect(one.body).toMatchObject({ redriven: 1, remaining: 1 });
      const [[left]] = (await redis.xrange(keys.deadLetters('g'), '-', '+')) as unknown as [[string]];
      expect(left).toBe(a?.id);

      const limited = await send(ops, {
        method: 'POST',
        path: groupPath(topic, 'other', 'redrive'),
        headers: { 'content-type': 'application/json' },
        body: '{"limit":1}',
      });
      expect(limited.body).toMatchObject({ redriven: 1, remaining: 0 });
    });

    it('400, 413, 415 for bad bodies; 404 for an unknown group; 405 for GET — and nothing changes', async () => {
      const { topic, keys, ops } = await arrange();
      const path = groupPath(topic, 'g', 'redrive');
      const json = { 'content-type': 'application/json' };
      for (const [status, body, headers, message] of [
        [415, '{"dryRun":true}', { 'content-type': 'text/plain' }, /Content-Type: application\/json/],
        [415, '{}', {}, /got none/],
        [400, '{"dryRun":', json, /not valid JSON/],
        [400, '[]', json, /JSON object/],
        [400, '{"all":true}', json, /unknown field "all"; allowed: ids, limit, dryRun/],
        [400, '{"ids":[]}', json, /`ids` must be a non-empty array/],
        [400, '{"ids":[1]}', json, /`ids` must be a non-empty array/],
        [400, '{"ids":["yesterday"]}', json, /stream id/],
        [
          400,
          JSON.stringify({ ids: Array.from({ length: 51 }, (_, i) => `${i + 1}-0`) }),
          json,
          /limit is 50/,
        ],
        [400, '{"limit":0}', json, /`limit` must be a whole number from 1 to 50/],
        [400, '{"limit":51}', json, /`limit`/],
        [400, '{"dryRun":"yes"}', json, /`dryRun` must be true or false/],
        [413, JSON.stringify({ ids: ['x'.repeat(70_000)] }), json, /limit is 65536/],
      ] as const) {
        const res = await send(ops, { method: 'POST', path, headers, body });
        expect(res.status, body.slice(0, 40)).toBe(status);
        expect(res.body.error, body.slice(0, 40)).toMatch(message);
      }
      const nobody = await send(ops, { method: 'POST', path: groupPath(topic, 'nobody', 'redrive') });
      expect(nobody.status).toBe(404);
      expect(nobody.body.error).toContain('no consumer group "nobody"');
      const get = await send(ops, { path });
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
    });
  });

  describe('POST …/purge', () => {
    it('deletes chosen dead letters or all of them (a dry run only counts); 400 without ids or all', async () => {
      const { topic, keys, ops } = await arrange();
      const path = groupPath(topic, 'g', 'purge');
      const headers = { 'content-type': 'application/json' };
      const dry = await send(ops, { method: 'POST', path, headers, body: '{"all":true,"dryRun":true}' });
      expect(dry.body).toMatchObject({ dryRun: true, purged: 2, remaining: 2 });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);

      const neither = await send(ops, { method: 'POST', path, headers, body: '{}' });
      expect(neither.status).toBe(400);
      expect(neither.body.error).toMatch(/exactly one of `ids`/);

      const [[first]] = (await redis.xrange(keys.deadLetters('g'), '-', '+', 'COUNT', 1)) as unknown as [
        [string],
      ];
      const one = await send(ops, {
        method: 'POST',
        path,
        headers,
        body: JSON.stringify({ ids: [first, '1-1'] }),
      });
      expect(one.body).toMatchObject({ purged: 1, missing: ['1-1'], remaining: 1 });
      const all = await send(ops, { method: 'POST', path, headers, body: '{"all":true}' });
      expect(all.body).toMatchObject({ purged: 1, remaining: 0 });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
      expect(await redis.xlen(keys.deadLetters('other'))).toBe(1);

      const nobody = await send(ops, {
        method: 'POST',
        path: groupPath(topic, 'nobody', 'purge'),
        headers,
        body: '{"all":true}',
      });
      expect(nobody.status).toBe(404);
    });
  });
});
