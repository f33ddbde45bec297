/**
 * Each way a connection fails has its own message naming host:port (never the password), and a
 * refused password is a configuration error with one stable answer: RedisAuthError, 500 without
 * Retry-After at the publish endpoint, exit 4 from the CLI (item 9 of issue 11).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { EXIT } from '../../src/cli/context.js';
import type { Driver } from '../../src/core/driver.js';
import { RedisAuthError, RedisUnavailableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';

const PASSWORD = 'right-horse-battery';
let server: RedisServer;
let rest: RestServer;
let closedPort: number;

beforeAll(async () => {
  server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  rest = await startRestServer({
    redisUrl: `redis://:${PASSWORD}@127.0.0.1:${server.port}`,
    token: 'right-token',
  });
  closedPort = await freePort();
});
afterAll(async () => {
  await rest?.stop();
  await server?.stop();
});

/** The error a first command fails with, and how long it took. */
async function failure(driver: Driver): Promise<{ error: Error; elapsedMs: number }> {
  const started = performance.now();
  try {
    await driver.add('sluice:{conn-errors}', ['f', 'v']);
  } catch (error) {
    return { error: error as Error, elapsedMs: performance.now() - started };
  } finally {
    await driver.close();
  }
  throw new Error('the command succeeded');
}

const tcp = (url: string) => ioredisDriver(url, { commandTimeoutMs: 10_000 });
const overRest = (url: string, token = 'right-token') =>
  upstashDriver({ url, token, requestTimeoutMs: 10_000 });

describe('a closed port', () => {
  it('ioredis: ECONNREFUSED naming host:port, at once', async () => {
    const { error, elapsedMs } = await failure(tcp(`redis://:${PASSWORD}@127.0.0.1:${closedPort}`));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(`Redis at 127.0.0.1:${closedPort} refused the connection (ECONNREFUSED)`);
    expect(error.message).not.toContain(PASSWORD);
    expect(elapsedMs).toBeLessThan(3_000);
  });

  it('REST: ECONNREFUSED naming host:port', async () => {
    const { error } = await failure(overRest(`http://127.0.0.1:${closedPort}`));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(
      `the REST server at 127.0.0.1:${closedPort} refused the connection (ECONNREFUSED)`,
    );
  });
});

describe('an unknown host', () => {
  const unknown = /nohost\.invalid:6379 (was not found \(ENOTFOUND\)|could not be resolved \(EAI_AGAIN)/;

  it('ioredis: ENOTFOUND (or EAI_AGAIN without DNS) naming the host', async () => {
    const { error, elapsedMs } = await failure(tcp('redis://nohost.invalid:6379'));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(unknown);
    expect(elapsedMs).toBeLessThan(8_000);
  });

  it('REST: the same', async () => {
    const { error } = await failure(overRest('http://nohost.invalid:6379'));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(unknown);
  });
});

describe('rediss:// to a plain port', () => {
  it('fails within the handshake timeout, saying the server may not speak TLS', async () => {
    const { error, elapsedMs } = await failure(tcp(`rediss://:${PASSWORD}@127.0.0.1:${server.port}`));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^TLS handshake with 127\\.0\\.0\\.1:${server.port} failed .*: is the server speaking TLS\\? use redis:// for a plain port$`,
      ),
    );
    expect(error.message).not.toContain(PASSWORD);
    // The command timeout is 10 s: the handshake's own (2 s) ended it.
    expect(elapsedMs).toBeLessThan(5_000);
  });
});

describe('a wrong or missing password', () => {
  it.each([
    [
      'wrong',
      `redis://:not-the-password@127.0.0.1`,
      /refused the password \(WRONGPASS\): check the password/,
    ],
    ['missing', 'redis://127.0.0.1', /requires a password and none was given \(NOAUTH\)/],
  ])('%s: a RedisAuthError on every command of a warm driver, naming host:port', async (_, base, message) => {
    const driver = tcp(`${base}:${server.port}`);
    try {
      for (let i = 0; i < 12; i++) {
        const error = await driver.add('sluice:{conn-errors}', ['f', 'v']).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RedisAuthError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);
        expect((error as Error).message).not.toContain('not-the-password');
      }
    } finally {
      await driver.close();
    }
  });

  it('REST: a wrong token is a RedisAuthError', async () => {
    const { error } = await failure(overRest(rest.url, 'wrong-token'));
    expect(error).toBeInstanceOf(RedisAuthError);
    expect(error.message).toMatch(`the REST server at 127.0.0.1:${rest.port} refused the token`);
    expect(error.message).not.toContain('wrong-token');
  });
});

describe('the publish endpoint', () => {
  const token = 'publish-token-0123';
  const publishWith = (driver: Driver) =>
    createPublishEndpoint({ driver, topics: ['orders'], token, logger: silentLogger });
  const request = {
    method: 'POST',
    topic: 'orders',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { n: 1 } }),
  };

  it('answers a refused password with 500 and no Retry-After, every time', async () => {
    for (const driver of [
      tcp(`redis://:wrong@127.0.0.1:${server.port}`),
      overRest(rest.url, 'wrong-token'),
    ]) {
      const publish = publishWith(driver);
      for (let i = 0; i < 8; i++) {
        const answer = await publish(request);
        expect(answer.status).toBe(500);
        expect(answer.headers['retry-after']).toBeUndefined();
        expect(JSON.parse(answer.body).error).toMatch(/Redis refused its credentials/);
      }
      await driver.close();
    }
  });

  it('still answers an unreachable Redis with 503 and Retry-After', async () => {
    const driver = tcp(`redis://127.0.0.1:${closedPort}`);
    const answer = await publishWith(driver)(request);
    await driver.close();
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
  });
});

describe('the CLI', () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const cli = (url: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', tsx, 'src/cli/main.ts', 'stats', '-t', 'orders', '--redis-url', url],
        { env: { PATH: process.env.PATH }, timeout: 25_000 },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });

  it('exits 4 when Redis refuses the password, 3 when it cannot be reached', async () => {
    const [refused, unreachable] = await Promise.all([
      cli(`redis://:wrong-pw@127.0.0.1:${server.port}`),
      cli(`redis://127.0.0.1:${closedPort}`),
    ]);
    expect(refused.code).toBe(EXIT.credentials);
    expect(refused.stderr).toMatch(/refused the password \(WRONGPASS\)/);
    expect(refused.stderr).not.toContain('wrong-pw');
    expect(unreachable.code).toBe(EXIT.unavailable);
    expect(unreachable.stderr).toMatch(/refused the connection \(ECONNREFUSED\)/);
  });
});
