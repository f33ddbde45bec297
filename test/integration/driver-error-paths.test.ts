/**
 * Error paths of the drivers that the rest of the suite does not reach: how each system error code
 * of a failed connection is reported (a timeout, an unreachable network, a broken pipe, a refused
 * certificate, TLS spoken to a plain port, a code inside an AggregateError), bad driver arguments
 * named by option, clients handed in by the caller (the REST client's deserialisation checked; an
 * ioredis client or Cluster the caller owns is left open by close()), REST error replies kept apart
 * from unavailability, and WAIT refused once the writing connection is gone. Real redis-servers and
 * the local REST server; no mocks.
 */
import { Redis as UpstashRedis } from '@upstash/redis';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { InvalidOptionError, RedisReplyError, RedisUnavailableError } from '../../src/core/errors.js';
import { connectionError } from '../../src/drivers/connection-errors.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { clusterNodes, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';

const where = { address: '10.0.0.9:6380' };

function systemError(code: string, message = `connect ${code} 10.0.0.9:6380`): Error {
  return Object.assign(new Error(message), { code });
}

describe('connection failures are reported by what their code means, naming host:port', () => {
  it.each([
    ['ETIMEDOUT', /did not accept a connection in time \(ETIMEDOUT\)/],
    ['EHOSTUNREACH', /is unreachable \(EHOSTUNREACH\): check the network route/],
    ['ENETUNREACH', /is unreachable \(ENETUNREACH\)/],
    ['EPIPE', /the connection to .* was cut \(EPIPE\)/],
    ['CERT_HAS_EXPIRED', /TLS certificate of .* was not accepted \(CERT_HAS_EXPIRED\)/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /TLS certificate .* not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/],
  ])('%s', (code, expected) => {
    const error = connectionError(where, systemError(code));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error?.message).toMatch(expected);
    expect(error?.message).toContain('10.0.0.9:6380');
  });

  it('a code inside an AggregateError (every address of a host refused) is found', () => {
    const aggregate = new AggregateError([systemError('ECONNREFUSED')], 'connect failed');
    expect(connectionError(where, aggregate)?.message).toMatch(/refused the connection \(ECONNREFUSED\)/);
  });

  it('a code inside a cause is found', () => {
    const outer = new Error('fetch failed', { cause: systemError('ENOTFOUND') });
    expect(connectionError({ ...where, rest: true }, outer)?.message).toMatch(/ENOTFOUND/);
  });

  it('an OpenSSL code, or a plain-text answer to TLS, is reported as TLS spoken to a plain port', () => {
    const ssl = connectionError(where, systemError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'));
    expect(ssl).toBeInstanceOf(RedisUnavailableError);
    expect(ssl?.message).toMatch(/TLS/);
    const text = connectionError(where, new Error('ssl3_get_record:wrong version number'));
    expect(text?.message).toMatch(/TLS/);
  });

  it('an error that says nothing recognisable is left to the caller', () => {
    expect(connectionError(where, new Error('something else'))).toBeUndefined();
    expect(connectionError(where, 'not an error')).toBeUndefined();
  });
});

describe('bad driver arguments are refused by name', () => {
  it('ioredis: no URL, or not a redis URL', () => {
    expect(() => ioredisDriver(undefined)).toThrow(InvalidOptionError);
    expect(() => ioredisDriver(undefined)).toThrow(/redis:\/\/ or rediss:\/\/ URL, got nothing/);
    expect(() => ioredisDriver('http://user:secret@h:1')).toThrow(/got "http:\/\/\*+@h:1"/);
    expect(() => ioredisDriver(42 as unknown as string)).toThrow(/got number/);
  });

  it('cluster: nodes that are not a list, or a malformed node', () => {
    expect(() => ioredisClusterDriver('h:1' as unknown as string[])).toThrow(/list of host:port/);
    expect(() => ioredisClusterDriver(['no-port'])).toThrow(InvalidOptionError);
  });

  it('upstash: no token, an empty one, a URL that is not http(s), a request timeout that is not a positive integer', () => {
    expect(() => upstashDriver({ url: 'https://x.upstash.io', token: undefined })).toThrow(
      /Expected `token` to be the Upstash REST token/,
    );
    expect(() => upstashDriver({ url: 'https://x.upstash.io', token: '' })).toThrow(/token/);
    expect(() => upstashDriver({ url: 'redis://x', token: 't' })).toThrow(/Upstash REST URL/);
    expect(() => upstashDriver({ url: 'https://x.upstash.io', token: 't', requestTimeoutMs: 0 })).toThrow(
      /requestTimeoutMs/,
    );
  });

  it('upstash: a client built with automatic deserialisation is refused (payloads like "123" would turn into numbers)', () => {
    const client = new UpstashRedis({ url: 'https://x.upstash.io', token: 't' });
    expect(() => upstashDriver(client)).toThrow(/automaticDeserialization: false/);
  });
});

describe('clients the caller built', () => {
  it('an @upstash/redis client with automaticDeserialization: false works, and keeps "123" a string', async () => {
    const client = new UpstashRedis({
      url: inject('restUrl'),
      token: inject('restToken'),
      automaticDeserialization: false,
    });
    const driver = upstashDriver(client);
    const stream = `sluice:{${randomTopic('own-client')}}`;
    const id = (await driver.add(stream, ['payload', '123'])) as string;
    expect(await driver.read?.({ stream, afterId: '0', count: 10 })).toEqual([
      [stream, [[id, ['payload', '123']]]],
    ]);
    await rawClient().del(stream);
  });

  it('an ioredis client the caller owns stays open after close()', async () => {
    const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    const driver = ioredisDriver(client);
    await driver.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('an ioredis Cluster the caller owns stays open after close()', async () => {
    const [host, port] = (clusterNodes()[0] as string).split(':');
    const cluster = new Cluster([{ host: host as string, port: Number(port) }]);
    const driver = ioredisClusterDriver(cluster);
    await driver.close();
    expect(await cluster.ping()).toBe('PONG');
    await cluster.quit();
  });
});

describe('REST error replies are not unavailability', () => {
  it('a reply error (WRONGTYPE) keeps its code; an unreachable REST server is RedisUnavailableError', async () => {
    const driver = upstashDriver({ url: inject('restUrl'), token: inject('restToken') });
    const key = `sluice:{${randomTopic('wrongtype')}}`;
    const redis = rawClient();
    await redis.set(key, 'a string');
    const error = await driver.add(key, ['f', 'v']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisReplyError);
    expect((error as RedisReplyError).code).toBe('WRONGTYPE');
    await redis.del(key);
    const down = upstashDriver({ url: 'http://127.0.0.1:1', token: 't', config: { retry: { retries: 0 } } });
    await expect(down.add(key, ['f', 'v'])).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});

describe('WAIT is refused once the writing connection is gone', () => {
  it('ioredis: after the connection closed, waitForReplicas names the key whose replication cannot be confirmed', async () => {
    const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1, lazyConnect: true });
    const driver = ioredisDriver(client);
    const key = `sluice:{${randomTopic('wait')}}`;
    client.disconnect();
    expect(driver.waitForReplicas).toBeTypeOf('function');
    await expect(driver.waitForReplicas?.(key, 1, 100) ?? Promise.resolve()).rejects.toThrow(
      /the connection that wrote .* is gone: its replication cannot be confirmed/,
    );
  });
});
