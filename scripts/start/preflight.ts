/**
 * Before `npm start` starts anything: no earlier stack still running, its ports free, a Redis to
 * run against.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hasRedisServer } from '../../dev/redis-server.js';
import { isAlive } from '../../src/cli/local-stack.js';
import { ConfigurationError } from '../../src/http/index.js';
import type { Build } from './build.js';
import { fail } from './common.js';

function isRedisServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return true; // no /proc (macOS): assume it is
  }
}

/** Fails when the stack of an earlier run (named by `.sluice/dev.env`) or its redis-server still runs. */
export function checkNothingRunning(previous: Record<string, string>): void {
  const previousPid = Number(previous.SLUICE_STACK_PID);
  if (
    Number.isInteger(previousPid) &&
    previousPid > 0 &&
    previousPid !== process.pid &&
    isAlive(previousPid)
  ) {
    fail(
      `a local stack is already running (pid ${previousPid}, publish at http://${previous.SLUICE_HTTP_HOST ?? 'localhost'}:${previous.SLUICE_HTTP_PORT ?? '?'}). Stop it first: Ctrl-C in its terminal, or kill -INT ${previousPid}.`,
    );
  }
  // A redis-server left behind by a stack that was killed hard still owns .sluice/redis.
  const previousRedisPid = Number(previous.SLUICE_REDIS_PID);
  if (Number.isInteger(previousRedisPid) && previousRedisPid > 0 && isRedisServer(previousRedisPid)) {
    fail(
      `a redis-server from an earlier run still uses .sluice/redis (pid ${previousRedisPid}, ${previous.REDIS_URL ?? ''}). Stop it first: kill ${previousRedisPid}.`,
    );
  }
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, host, () => server.close(() => resolvePort(true)));
  });
}

function port(name: string, fallback: number): number {
  const value = process.env[name]?.trim();
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65_535) {
    throw new ConfigurationError(name, `${name} must be a TCP port (1-65535), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export interface Ports {
  readonly host: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  /** SLUICE_REDIS_PORT; unset: a free one, chosen when the redis-server starts. */
  readonly redisPort: number | undefined;
  /** SLUICE_REST_PORT; unset: a free one, chosen by the REST server. */
  readonly restPort: number | undefined;
}

/** The host and ports from the environment, checked free. */
export async function choosePorts(build: Build): Promise<Ports> {
  const host = process.env.SLUICE_HTTP_HOST?.trim() || 'localhost';
  let ports: Ports;
  try {
    ports = {
      host,
      httpPort: port('SLUICE_HTTP_PORT', 3000),
      lambdaPort: port('SLUICE_LAMBDA_PORT', 3002),
      redisPort: process.env.SLUICE_REDIS_PORT?.trim() ? port('SLUICE_REDIS_PORT', 0) : undefined,
      restPort: process.env.SLUICE_REST_PORT?.trim() ? port('SLUICE_REST_PORT', 0) : undefined,
    };
  } catch (error) {
    fail((error as Error).message);
  }
  for (const [name, value] of [
    ['SLUICE_HTTP_PORT', ports.httpPort],
    ['SLUICE_LAMBDA_PORT', ports.lambdaPort],
  ] as const) {
    if (!(await portIsFree(value, host)))
      fail(`port ${value} is in use: choose another with ${name}=<port>.`);
  }
  const { restPort } = ports;
  if (
    build.upstash &&
    build.externalRest === undefined &&
    restPort !== undefined &&
    !(await portIsFree(restPort, '127.0.0.1'))
  )
    fail(`port ${restPort} is in use: choose another with SLUICE_REST_PORT=<port>.`);
  return ports;
}

/** Fails, saying what to do, when a private redis-server is needed and there is none to start. */
export function checkRedisAvailable(build: Build): void {
  if (!build.needsRedis || build.externalRedis !== undefined || hasRedisServer()) return;
  fail(
    [
      'no Redis to run against: REDIS_URL is not set and redis-server is not on PATH.',
      'Either install Redis (7 or newer):',
      '  Debian/Ubuntu: sudo apt-get install redis-server',
      '  macOS:         brew install redis',
      'or point sluice at a Redis you already have:',
      '  REDIS_URL=redis://127.0.0.1:6379 npm start',
      ...(build.upstash
        ? [
            'or at an Upstash database:',
            '  SLUICE_DRIVER=upstash UPSTASH_REDIS_REST_URL=https://… UPSTASH_REDIS_REST_TOKEN=… npm start',
          ]
        : []),
    ].join('\n'),
  );
}
