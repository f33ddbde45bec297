/**
 * No error message quotes a Redis password or token, whatever shape the bad value has (item 14 of
 * issue 11): the configuration, the drivers and the CLI mask credentials with one function.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { driverConfig } from '../../src/app/driver-config.js';
import { connectionOf, describeConnection, describeFailure } from '../../src/cli/context.js';
import { maskCredentials } from '../../src/core/errors.js';
import { parseClusterNodes } from '../../src/drivers/cluster-nodes.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';

/** Every value below hides the secret XYZZY, whole or in pieces; none of them may show. */
const LEAKS = /XYZZY|XY|ZZY|YZZ/;

/** Values no URL parser accepts, or that the configuration refuses, each carrying the secret. */
const HOSTILE = [
  'redis://:XY ZZY@cache:6379',
  'redis://:XYZZY pw@cache:6379',
  'redis://app:XY@ZZY@cache:6379',
  'redis://:XY/ZZY@cache:6379',
  'redis://:XY//ZZY@cache:6379',
  'redis://:"XYZZY"@cache:6379',
  'redis://:XY\nZZY@cache:6379',
  'redis://:XYZZY@cache:6379 trailing',
  'redis:/:XYZZY@cache:6379',
  'redis::XYZZY@cache:6379',
  'redis:XYZZY@cache:6379',
  ':XYZZY@cache:6379',
  'app:XYZZY@cache:6379',
  'http://:XYZZY@cache:6379',
  'redis://cache:6379?password=XYZZY x',
  'redis://:XYZZY@',
  'redis://:XYZZY@cache:6379/not a db',
] as const;

/** `value` made unacceptable everywhere (a URL holds no space), its secret kept. */
const refused = (value: string) => `${value} x`;

function messageOf(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected an error');
}

describe('maskCredentials', () => {
  it.each([
    ['redis://:s3cret@cache:6379', 'redis://***@cache:6379'],
    ['rediss://app:s3cret@cache:6380/0', 'rediss://***@cache:6380/0'],
    ['redis://:s3cret pw@cache:6379', 'redis://***@cache:6379'],
    ['redis://:a@b/c@cache:6379', 'redis://***@cache:6379'],
    ['a:b@cache//x@y', '***@y'],
    ['redis://cache:6379', 'redis://cache:6379'],
    ['redis://cache:6379?password=s3cret&db=1', 'redis://cache:6379?password=***&db=1'],
    ['https://x.upstash.io?_token=s3cret', 'https://x.upstash.io?_token=***'],
    ['', ''],
  ])('%j → %j', (url, masked) => {
    expect(maskCredentials(url)).toBe(masked);
  });

  it.each(HOSTILE)('hides the secret of %j', (value) => {
    expect(maskCredentials(value)).not.toMatch(LEAKS);
  });
});

describe('no error quotes a password', () => {
  it.each(HOSTILE)('REDIS_URL=%j at cold start (loadConfig)', (value) => {
    const message = messageOf(() => loadConfig({ REDIS_URL: refused(value) }));
    expect(message).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL, got "/);
    expect(message).not.toMatch(LEAKS);
  });

  // A cluster seed's query is ignored (not refused): that value has no error to look into.
  const NODES = HOSTILE.filter((value) => !value.includes('?'));

  it.each(NODES)('REDIS_CLUSTER_NODES=%j', (value) => {
    const message = messageOf(() => driverConfig({ REDIS_CLUSTER_NODES: `10.0.0.1:6379,${refused(value)}` }));
    expect(message).toMatch(/REDIS_CLUSTER_NODES/);
    expect(message).not.toMatch(LEAKS);
    expect(parseClusterNodes([refused(value)])).not.toMatch(LEAKS);
  });

  it.each(HOSTILE)('UPSTASH_REDIS_REST_URL=%j', (value) => {
    const message = messageOf(() =>
      driverConfig({ UPSTASH_REDIS_REST_URL: refused(value), UPSTASH_REDIS_REST_TOKEN: 't' }),
    );
    expect(message).toMatch(/UPSTASH_REDIS_REST_URL must be an http\(s\):\/\/ URL/);
    expect(message).not.toMatch(LEAKS);
  });

  it.each(HOSTILE)('the drivers, given %j', (value) => {
    expect(messageOf(() => ioredisDriver(value.replace(/^redis:/, 'redix:')))).not.toMatch(LEAKS);
    if (NODES.includes(value))
      expect(messageOf(() => ioredisClusterDriver([refused(value)]))).not.toMatch(LEAKS);
    const rest = refused(`https${value.replace(/^[a-z]*:?\/*/, '://')}`);
    expect(messageOf(() => upstashDriver({ url: rest, token: 't' }))).not.toMatch(LEAKS);
  });

  it.each(HOSTILE)('the CLI, given --redis-url %j', (value) => {
    const message = messageOf(() => connectionOf(refused(value), {}));
    expect(message).toMatch(/--redis-url must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).not.toMatch(LEAKS);
    expect(describeFailure(new Error(message))).not.toMatch(LEAKS);
  });

  it('the CLI names where it connects without the password', () => {
    expect(describeConnection({ kind: 'ioredis', url: 'redis://app:XY/ZZY@cache:6379' })).toBe(
      'Redis at redis://***@cache:6379',
    );
    expect(
      describeConnection({ kind: 'ioredis-cluster', nodes: ['redis://:XY@ZZY@a:1', 'redis://:XY@ZZY@b:2'] }),
    ).toBe('the Redis Cluster at redis://***@a:1, redis://***@b:2');
    expect(describeConnection({ kind: 'upstash', url: 'https://u:XYZZY@x.upstash.io', token: 't' })).toBe(
      'the Upstash REST API at https://***@x.upstash.io',
    );
  });
});
