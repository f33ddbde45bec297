/** The local Upstash REST server: the protocol over raw fetch, and the real @upstash/redis client through it. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis, type RedisConfigNodejs } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { waitFor } from '../support/wait-for.js';

let redisServer: RedisServer;
let rest: RestServer;
const token = `token-${randomUUID()}`;

beforeAll(async () => {
  redisServer = await startRedisServer();
  rest = await startRestServer({ redisUrl: redisServer.url, token });
});

afterAll(async () => {
  await rest?.stop();
  await redisServer?.stop();
});

/** How many clients redis holds blocked (BLPOP, XREAD BLOCK …), from INFO clients. */
async function blockedClients(): Promise<number> {
  const info = (await command(['INFO', 'clients'])).json as { result: string };
  return Number(/blocked_clients:(\d+)/.exec(info.result)?.[1]);
}

const key = (prefix = 'k') => `${prefix}-${randomUUID().slice(0, 8)}`;

interface Options {
  readonly base64?: boolean;
  readonly auth?: string | null;
  readonly server?: RestServer;
  readonly method?: string;
}

/** A raw request; `body` is JSON-encoded unless it is a string or bytes already. */
async function call(path: string, body?: unknown, options: Options = {}) {
  const server = options.server ?? rest;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = options.auth === undefined ? `Bearer ${server.token}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  if (options.base64) headers['upstash-encoding'] = 'base64';
  const payload =
    body === undefined || typeof body === 'string' || body instanceof Uint8Array
      ? body
      : JSON.stringify(body);
  const res = await fetch(`${server.url}${path}`, {
    method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
    headers,
    body: payload as string | Uint8Array | undefined,
  });
  return { status: res.status, json: (await res.json()) as unknown };
}

const command = (args: unknown[], options?: Options) => call('/', args, options);

/** Undoes the base64 encoding at every depth (leaving `OK`, numbers, nulls and error entries alone). */
function decodeDeep(value: unknown): unknown {
  if (typeof value === 'string')
    return value === 'OK' ? value : Buffer.from(value, 'base64').toString('utf8');
  if (Array.isArray(value)) return value.map(decodeDeep);
  return value;
}

function sdk(overrides: Partial<RedisConfigNodejs> = {}) {
  return new Redis({
    url: rest.url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 0 },
    ...overrides,
  });
}

describe('protocol', () => {
  it('answers POST / with {result}; a redis error is a 400 with {error}', async () => {
    const k = key();
    expect(await command(['SET', k, 'hello'])).toEqual({ status: 200, json: { result: 'OK' } });
    expect(await command(['GET', k])).toEqual({ status: 200, json: { result: 'hello' } });
    expect(await command(['GET', key('missing')])).toEqual({ status: 200, json: { result: null } });
    const failed = await command(['INCR', k]);
    expect(failed.status).toBe(400);
    expect(failed.json).toEqual({ error: 'ERR value is not an integer or out of range' });
    const unknown = await command(['NOSUCHCOMMAND', k]);
    expect(unknown.status).toBe(400);
    expect((unknown.json as { error: string }).error).toMatch(/^ERR unknown command/);
  });

  it('takes numbers as arguments and answers integers as JSON numbers, with or without base64', async () => {
    const k = key();
    expect(await command(['INCRBY', k, 41])).toEqual({ status: 200, json: { result: 41 } });
    expect(await command(['INCR', k], { base64: true })).toEqual({ status: 200, json: { result: 42 } });
    const s = key('s');
    await command(['XADD', s, '*', 'f', 'v']);
    expect(await command(['XLEN', s], { base64: true })).toEqual({ status: 200, json: { result: 1 } });
    expect(await command(['EVAL', 'return {1, {2, 3}, "x"}', 0], { base64: true })).toEqual({
      status: 200,
      json: { result: [1, [2, 3], 'eA=='] },
    });
  });

  it('requires the bearer token on every path; compares it exactly', async () => {
    const k = key();
    for (const auth of [null, 'Bearer wrong', `Bearer ${token}x`, token, `bearer  ${token}`]) {
      expect(await command(['SET', k, 'v'], { auth })).toEqual({
        status: 401,
        json: { error: 'Unauthorized' },
      });
      expect(await call('/pipeline', [['GET', k]], { auth })).toEqual({
        status: 401,
        json: { error: 'Unauthorized' },
      });
      expect(await call(`/get/${k}`, undefined, { auth })).toMatchObject({ status: 401 });
    }
    expect(await command(['EXISTS', k])).toEqual({ status: 200, json: { result: 0 } });
    // The documented `_token` query parameter works too.
    expect(await call(`/set/${k}/v?_token=${encodeURIComponent(token)}`, undefined, { auth: null })).toEqual({
      status: 200,
      json: { result: 'OK' },
    });
  });

  it('base64-encodes every string at every depth, keeps OK, numbers and nil: decoded it equals the plain reply', async () => {
    const s = key('s');
    const g = 'group';
    await command(['XGROUP', 'CREATE', s, g, '$', 'MKSTREAM']);
    for (const n of [1, 2, 3]) await command(['XADD', s, '*', 'n', n, 'text', `héllo ${n} OK`]);
    const script = "return {'OK', {KEYS[1], false, 7}, redis.status_reply('OK'), redis.status_reply('FINE')}";
    // Replies that do not change between two calls: decoded, the base64 one equals the plain one.
    const stable: unknown[][] = [
      ['XRANGE', s, '-', '+'],
      ['XREVRANGE', s, '+', '-', 'COUNT', 2],
      ['EVAL', script, 1, s],
    ];
    // Replies whose shape is stable but whose state moves: read once per encoding, compare after.
    await command(['XREADGROUP', 'GROUP', g, 'c1', 'COUNT', 2, 'STREAMS', s, '>']);
    stable.push(
      ['XPENDING', s, g],
      ['XINFO', 'STREAM', s],
      ['XINFO', 'GROUPS', s],
      ['XAUTOCLAIM', s, g, 'c2', 0, '0-0'],
    );
    for (const args of stable) {
      const plain = await command(args);
      const encoded = await command(args, { base64: true });
      expect(plain.status, String(args[0])).toBe(200);
      expect(encoded.status, String(args[0])).toBe(200);
      expect(decodeDeep((encoded.json as { result: unknown }).result), String(args[0])).toEqual(
        (plain.json as { result: unknown }).result,
      );
    }
    const read = await command(['XREADGROUP', 'GROUP', g, 'c1', 'COUNT', 5, 'STREAMS', s, '>'], {
      base64: true,
    });
    expect(decodeDeep((read.json as { result: unknown }).result)).toEqual([
      [s, [[expect.stringMatching(/^\d+-\d+$/), ['n', '3', 'text', 'héllo 3 OK']]]],
    ]);
    const pending = await command(['XPENDING', s, g, '-', '+', 10], { base64: true });
    const entries = (pending.json as { result: [string, string, number, number][] }).result;
    expect(entries.map(([, consumer, idle, count]) => [decodeDeep(consumer), typeof idle, count])).toEqual([
      ['c2', 'number', 3],
      ['c2', 'number', 3],
      ['c1', 'number', 1],
    ]);
    // The raw encoded forms: strings are base64, "OK" inside an array too (bulk or status); only a top-level status OK is not.
    const raw = await command(['EVAL', script, 1, s], { base64: true });
    expect(raw.json).toEqual({
      result: [
        Buffer.from('OK').toString('base64'),
        [Buffer.from(s).toString('base64'), null, 7],
        Buffer.from('OK').toString('base64'),
        Buffer.from('FINE').toString('base64'),
      ],
    });
    expect(await command(['SET', key(), 'v'], { base64: true })).toEqual({
      status: 200,
      json: { result: 'OK' },
    });
    expect(await command(['PING'], { base64: true })).toEqual({ status: 200, json: { result: 'UE9ORw==' } });
    expect(await command(['PING'])).toEqual({ status: 200, json: { result: 'PONG' } });
    expect(await command(['TYPE', s], { base64: true })).toEqual({
      status: 200,
      json: { result: Buffer.from('stream').toString('base64') },
    });
  });

  it('is binary-safe: bytes 0xff 0x00 stored through the protocol come back exactly with base64', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0x41, 0xfe, 0x0a]);
    const viaBody = key('bin');
    // Path form: the POST body is appended, raw, as the last argument.
    expect(await call(`/set/${viaBody}`, new Uint8Array(bytes))).toEqual({
      status: 200,
      json: { result: 'OK' },
    });
    const read = await command(['GET', viaBody], { base64: true });
    expect(Buffer.from((read.json as { result: string }).result, 'base64')).toEqual(bytes);
    expect(await command(['STRLEN', viaBody])).toEqual({ status: 200, json: { result: 5 } });
    // Lua escapes, through POST /.
    const viaLua = key('bin');
    await command(['EVAL', "return redis.call('SET', KEYS[1], '\\255\\0A\\254\\n')", 1, viaLua]);
    const lua = await command(['GET', viaLua], { base64: true });
    expect(Buffer.from((lua.json as { result: string }).result, 'base64')).toEqual(bytes);
    // Unicode through JSON round-trips as UTF-8.
    const text = key('txt');
    await command(['SET', text, 'żółw 🐢 \u0000 end']);
    expect(await command(['GET', text])).toEqual({ status: 200, json: { result: 'żółw 🐢 \u0000 end' } });
  });

  it('an error inside an array reply becomes an {error} element', async () => {
    const k = key();
    await command(['SET', k, 'text']);
    const script = "return {1, redis.pcall('INCR', KEYS[1]), {redis.pcall('GET', KEYS[1])}}";
    for (const base64 of [false, true]) {
      const res = await command(['EVAL', script, 1, k], { base64 });
      expect(res).toEqual({
        status: 200,
        json: {
          result: [
            1,
            { error: 'ERR value is not an integer or out of range' },
            [base64 ? Buffer.from('text').toString('base64') : 'text'],
          ],
        },
      });
    }
  });

  it('carries large requests and replies whole', async () => {
    const k = key();
    const value = `${'ä'.repeat(1_500_000)}end`; // 3 MB of UTF-8
    expect(await command(['SET', k, value])).toEqual({ status: 200, json: { result: 'OK' } });
    const read = await command(['GET', k], { base64: true });
    expect(Buffer.from((read.json as { result: string }).result, 'base64').toString('utf8')).toBe(value);
    const s = key('s');
    const field = 'x'.repeat(1000);
    const added = await call(
      '/pipeline',
      Array.from({ length: 2000 }, (_, i) => ['XADD', s, '*', 'i', i, 'v', field]),
    );
    expect((added.json as unknown[]).length).toBe(2000);
    const range = await command(['XRANGE', s, '-', '+']);
    const entries = (range.json as { result: [string, string[]][] }).result;
    expect(entries.length).toBe(2000);
    expect(entries.map(([, fields]) => Number(fields[1]))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(entries.every(([, fields]) => fields[3] === field)).toBe(true);
  });

  it('pipeline: one entry per command, errors included, not atomic', async () => {
    const k = key();
    const s = key('s');
    const res = await call('/pipeline', [
      ['SET', k, 'a'],
      ['INCR', k],
      ['APPEND', k, 'b'],
      ['GET', k],
      ['MULTI'],
      ['XADD', s, '*', 'f', 'v'],
      ['XLEN', s],
    ]);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { result: 2 },
      { result: 'ab' },
      { error: expect.stringMatching(/not available/) },
      { result: expect.stringMatching(/^\d+-\d+$/) },
      { result: 1 },
    ]);
    const encoded = await call(
      '/pipeline',
      [
        ['GET', k],
        ['XLEN', s],
        ['SET', k, 'c'],
      ],
      { base64: true },
    );
    expect(encoded.json).toEqual([{ result: 'YWI=' }, { result: 1 }, { result: 'OK' }]);
  });

  it('multi-exec: atomic; a runtime error is an entry, a command that fails to queue discards everything (400)', async () => {
    const k = key();
    const other = key();
    const ok = await call(
      '/multi-exec',
      [
        ['SET', k, '10'],
        ['INCRBY', k, 5],
        ['LPUSH', k, 'x'],
        ['GET', k],
      ],
      {
        base64: true,
      },
    );
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual([
      { result: 'OK' },
      { result: 15 },
      { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
      { result: Buffer.from('15').toString('base64') },
    ]);
    const aborted = await call('/multi-exec', [['SET', other, '1'], ['NOSUCHCOMMAND'], ['GET', other]]);
    expect(aborted.status).toBe(400);
    expect((aborted.json as { error: string }).error).toMatch(/^EXECABORT.*unknown command/);
    const arity = await call('/multi-exec', [['SET', other, '1'], ['GET']]);
    expect(arity.status).toBe(400);
    expect((arity.json as { error: string }).error).toMatch(/EXECABORT.*wrong number of arguments/);
    expect(await command(['EXISTS', other])).toEqual({ status: 200, json: { result: 0 } });
    const nested = await call('/multi-exec', [['SET', other, '1'], ['MULTI']]);
    expect(nested.status).toBe(400);
    expect(await command(['EXISTS', other])).toEqual({ status: 200, json: { result: 0 } });
  });

  it('rejects malformed bodies with 400 and refuses connection-state commands', async () => {
    const cases: [string, unknown][] = [
      ['/', '{not json'],
      ['/', '{"a":1}'],
      ['/', '[]'],
      ['/', '"GET"'],
      ['/', '["GET", {"a": 1}]'],
      ['/', '["GET", null]'],
      ['/pipeline', '["GET", "k"]'],
      ['/pipeline', '[]'],
      ['/multi-exec', '[["GET", "k"], "x"]'],
      ['/multi-exec', '{}'],
    ];
    for (const [path, body] of cases) {
      const res = await call(path, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(res.json, `${path} ${body}`).toEqual({ error: expect.any(String) });
    }
    for (const refused of [
      ['MULTI'],
      ['WATCH', 'k'],
      ['SUBSCRIBE', 'ch'],
      ['CLIENT', 'REPLY', 'OFF'],
      ['QUIT'],
    ]) {
      const res = await command(refused);
      expect(res.status).toBe(400);
      expect((res.json as { error: string }).error).toMatch(/not available/);
    }
    expect(await call('/', ['PING'], { method: 'DELETE' })).toMatchObject({ status: 405 });
    expect(await call('/pipeline')).toMatchObject({ status: 405 });
  });

  it('answers 413 past the body limit', async () => {
    const small = await startRestServer({ redisUrl: redisServer.url, token, maxBodyBytes: 1024 });
    try {
      const k = key();
      expect(await command(['SET', k, 'x'.repeat(900)], { server: small })).toEqual({
        status: 200,
        json: { result: 'OK' },
      });
      const big = await command(['SET', k, 'x'.repeat(2000)], { server: small });
      expect(big.status).toBe(413);
      expect(big.json).toEqual({ error: expect.any(String) });
      // The connection is still good for the next request.
      expect(await command(['STRLEN', k], { server: small })).toEqual({ status: 200, json: { result: 900 } });
    } finally {
      await small.stop();
    }
  });

  it('path form: URL-decoded segments, POST body appended, query parameters after it', async () => {
    const k = `${key()}/with space`;
    const path = `/set/${encodeURIComponent(k)}`;
    expect(await call(`${path}/a%20b`)).toEqual({ status: 200, json: { result: 'OK' } });
    expect(await call(`/get/${encodeURIComponent(k)}`)).toEqual({ status: 200, json: { result: 'a b' } });
    expect(await call(`${path}?EX=100`, '{"json":"body"}')).toEqual({ status: 200, json: { result: 'OK' } });
    expect(await call(`/get/${encodeURIComponent(k)}`)).toEqual({
      status: 200,
      json: { result: '{"json":"body"}' },
    });
    const ttl = await call(`/ttl/${encodeURIComponent(k)}`);
    expect(ttl.json).toEqual({ result: expect.any(Number) });
    expect((ttl.json as { result: number }).result).toBeGreaterThan(90);
    expect(await call(`/get/${encodeURIComponent(k)}`, undefined, { base64: true })).toEqual({
      status: 200,
      json: { result: Buffer.from('{"json":"body"}').toString('base64') },
    });
  });

  it('a blocking command holds up no other request', async () => {
    const list = key('list');
    const stream = key('s');
    const blocked = command(['BLPOP', list, 20]);
    const blockedStream = command(['XREAD', 'BLOCK', 20_000, 'STREAMS', stream, '$']);
    // Both are blocked in redis itself (this file's own server: no one else's clients count).
    await waitFor(async () => (await blockedClients()) === 2, {
      timeoutMs: 10_000,
      what: 'BLPOP and XREAD BLOCK to block in redis',
    });
    const quick = await Promise.all(Array.from({ length: 10 }, (_, i) => command(['ECHO', `e${i}`])));
    expect(quick.map((res) => (res.json as { result: string }).result)).toEqual(
      Array.from({ length: 10 }, (_, i) => `e${i}`),
    );
    // Answered while both were still blocked, not after they gave up.
    expect(await blockedClients()).toBe(2);
    await command(['RPUSH', list, 'item']);
    expect(await blocked).toEqual({ status: 200, json: { result: [list, 'item'] } });
    const added = await command(['XADD', stream, '*', 'f', 'v']);
    const id = (added.json as { result: string }).result;
    expect(await blockedStream).toEqual({ status: 200, json: { result: [[stream, [[id, ['f', 'v']]]]] } });
  });

  it('answers 503 while redis is down and recovers when it is back', async () => {
    const own = await startRedisServer();
    const server = await startRestServer({ redisUrl: own.url, token });
    try {
      const k = key();
      expect(await command(['SET', k, 'v'], { server })).toEqual({ status: 200, json: { result: 'OK' } });
      await own.kill();
      const down = await command(['GET', k], { server });
      expect(down.status).toBe(503);
      expect(down.json).toEqual({ error: expect.stringMatching(/^ERR /) });
      expect(await call('/pipeline', [['GET', k]], { server })).toMatchObject({ status: 503 });
      await own.restart();
      expect(await command(['SET', k, 'again'], { server })).toEqual({ status: 200, json: { result: 'OK' } });
      expect(await command(['GET', k], { server })).toEqual({ status: 200, json: { result: 'again' } });
    } finally {
      await server.stop();
      await own.stop();
    }
  });

  it('delayMs holds every request that long before answering it (a network, for the benchmarks)', async () => {
    const delayMs = 150;
    const server = await startRestServer({ redisUrl: redisServer.url, token, delayMs });
    try {
      for (const send of [
        () => command(['PING'], { server }),
        () => call('/pipeline', [['PING']], { server }),
      ]) {
        const started = performance.now();
        expect((await send()).status).toBe(200);
        expect(performance.now() - started).toBeGreaterThanOrEqual(delayMs - 1);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('@upstash/redis through the server', () => {
  it('set/get keeps "123" and \'{"a":1}\' as strings', async () => {
    const redis = sdk();
    const [a, b] = [key(), key()];
    expect(await redis.set(a, '123')).toBe('OK');
    expect(await redis.set(b, '{"a":1}')).toBe('OK');
    expect(await redis.get(a)).toBe('123');
    expect(await redis.get(b)).toBe('{"a":1}');
    expect(await redis.get(key('missing'))).toBeNull();
    expect(await redis.incr(key())).toBe(1);
  });

  it('xadd / xrange / xreadgroup / xautoclaim / xpending, raw arrays', async () => {
    const redis = sdk();
    const s = key('s');
    const g = 'g';
    expect(await redis.xgroup(s, { type: 'CREATE', group: g, id: '$', options: { MKSTREAM: true } })).toBe(
      'OK',
    );
    const id = await redis.xadd(s, '*', { data: '{"n":1}', n: '42' });
    expect(id).toMatch(/^\d+-\d+$/);
    expect(await redis.xrange(s, '-', '+')).toEqual([[id, ['data', '{"n":1}', 'n', '42']]]);
    expect(await redis.xreadgroup(g, 'c1', s, '>', { count: 10 })).toEqual([
      [s, [[id, ['data', '{"n":1}', 'n', '42']]]],
    ]);
    expect(await redis.exec(['XREADGROUP', 'GROUP', g, 'c1', 'COUNT', '10', 'STREAMS', s, '>'])).toBeNull();
    const claimed = (await redis.exec(['XAUTOCLAIM', s, g, 'c2', '0', '0-0', 'COUNT', '10'])) as unknown[];
    expect(claimed).toEqual(['0-0', [[id, ['data', '{"n":1}', 'n', '42']]], []]);
    const pending = await redis.xpending(s, g, '-', '+', 10);
    expect(pending).toEqual([[id, 'c2', expect.any(Number), 2]]);
    expect(await redis.xack(s, g, id)).toBe(1);
  });

  it('eval returns nested arrays; evalsha after SCRIPT LOAD', async () => {
    const redis = sdk();
    const k = key();
    const script = 'return {1, ARGV[1], {KEYS[1], {ARGV[2]}}, false, "123"}';
    expect(await redis.eval(script, [k], ['a', 'b'])).toEqual([1, 'a', [k, ['b']], null, '123']);
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, [k], ['x', 'y'])).toEqual([1, 'x', [k, ['y']], null, '123']);
    expect(await redis.exec(['EVALSHA', sha, '1', k, 'p', 'q'])).toEqual([1, 'p', [k, ['q']], null, '123']);
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    expect(await redis.eval("return {redis.status_reply('OK'), 'OK', 'PONG'}", [], [])).toEqual([
      'OK',
      'OK',
      'PONG',
    ]);
  });

  it('pipeline() goes to /pipeline and multi() to /multi-exec', async () => {
    const redis = sdk({ enableAutoPipelining: false });
    const paths: string[] = [];
    redis.use((req, next) => {
      paths.push((req.path ?? []).join('/'));
      return next(req);
    });
    const k = key();
    expect(await redis.pipeline().set(k, '1').incr(k).get(k).exec()).toEqual(['OK', 2, '2']);
    const kept = await redis.pipeline().incr(k).lpush(k, 'x').get(k).exec({ keepErrors: true });
    expect(kept).toEqual([
      { result: 3, error: undefined },
      { result: undefined, error: expect.stringMatching(/^WRONGTYPE/) },
      { result: '3', error: undefined },
    ]);
    await expect(redis.pipeline().incr(k).lpush(k, 'x').exec()).rejects.toThrow(
      /Command 2 \[ lpush \] failed/,
    );
    expect(await redis.multi().set(k, '10').incrby(k, 5).get(k).exec()).toEqual(['OK', 15, '15']);
    expect(paths).toEqual(['pipeline', 'pipeline', 'pipeline', 'multi-exec']);
  });

  it('an error reply surfaces as a thrown error, with or without auto-pipelining', async () => {
    const k = key();
    const redis = sdk();
    await redis.set(k, 'not a number');
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer/);
    await expect(sdk({ enableAutoPipelining: false }).incr(k)).rejects.toThrow(/ERR value is not an integer/);
    await expect(redis.exec(['INCR', k])).rejects.toThrow(/ERR value is not an integer.*command was/);
  });

  it('a wrong token makes every call throw', async () => {
    const redis = sdk({ token: 'wrong' });
    await expect(redis.get(key())).rejects.toThrow(/Unauthorized/);
    await expect(redis.exec(['PING'])).rejects.toThrow(/Unauthorized/);
  });

  it('works with telemetry on and base64 off as well', async () => {
    const k = key();
    const plain = sdk({ responseEncoding: false, enableTelemetry: true });
    await plain.set(k, 'żółw 123');
    expect(await plain.get(k)).toBe('żółw 123');
    expect(await sdk().get(k)).toBe('żółw 123');
  });
});

describe('CLI', () => {
  it('prints its readiness line, serves, and exits on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'dev/upstash-rest-server.ts', '--redis-url', redisServer.url, '--token', token],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /^upstash-rest listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error(`exited before ready: ${output}`)));
      });
      const redis = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false });
      const k = key();
      expect(await redis.set(k, '123')).toBe('OK');
      expect(await redis.get(k)).toBe('123');
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
