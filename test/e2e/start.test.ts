/**
 * `npm start`'s first steps, run as a user does (`tsx scripts/start.ts`): the help, and the settings
 * it refuses before it starts or writes anything (so these runs never meet a stack running in the
 * checkout).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, root, start } from '../support/cli-run.js';

const script = join(root, 'scripts/start.ts');

function npmStart(args: readonly string[], env: Record<string, string | undefined> = {}) {
  return finished(start(args, { env: { REDIS_URL: undefined, ...env } }, ['--import', 'tsx', script]));
}

describe('npm start', () => {
  it('--help prints the usage, every setting it reads, and starts nothing', async () => {
    const run = await npmStart(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm start \[-- --help\]/);
    for (const name of [
      'REDIS_URL',
      'REDIS_CLUSTER_NODES',
      'SLUICE_DRIVER',
      'SLUICE_HTTP_PORT',
      'SLUICE_REST_PORT',
    ]) {
      expect(run.stdout).toContain(name);
    }
    expect(run.stderr).toBe('');
  });

  it.each([
    [['--bogus'], {}, 'unknown argument "--bogus"; see npm start -- --help'],
    [[], { SLUICE_DRIVER: 'redis' }, 'SLUICE_DRIVER must be "ioredis" or "upstash", got "redis"'],
    [
      [],
      { SLUICE_DRIVER: 'upstash', UPSTASH_REDIS_REST_URL: 'https://example.upstash.io' },
      'UPSTASH_REDIS_REST_TOKEN is not set: set both',
    ],
    [
      [],
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' },
      'REDIS_CLUSTER_NODES and REDIS_URL are both set',
    ],
  ] as const)('refuses %j with %j, saying why, before starting anything', async (args, env, message) => {
    const run = await npmStart(args, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`sluice: ${message}`);
    expect(run.stdout).not.toMatch(/redis-server|local stack is up/);
  });
});
