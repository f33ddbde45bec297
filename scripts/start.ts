/**
 * `npm start`: the whole app on a laptop.
 *
 * - Redis: REDIS_URL when set; otherwise a private redis-server with append-only persistence in
 *   `.sluice/redis` (git-ignored), on SLUICE_REDIS_PORT or a free port.
 * - A development publish token (SLUICE_PUBLISH_TOKEN, or generated once and kept in
 *   `.sluice/dev.env`).
 * - `serverless offline`: POST /topics/{topic}/messages on SLUICE_HTTP_PORT (3000), the Lambda
 *   invoke API on SLUICE_LAMBDA_PORT (3002), the drain function fired every minute.
 * - `.sluice/dev.env` tells `npm run drain` where the running stack is.
 *
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP stops everything this script started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ioredisDriver } from '../src/drivers/ioredis.js';
import { ConfigurationError, ensureGroup, loadConfig, streamKeys } from '../src/index.js';
import {
  freePort,
  hasRedisServer,
  type RedisServer,
  startRedisServer,
} from '../test/support/redis-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(root, '.sluice');
const envFile = join(stateDir, 'dev.env');
const STAGE = 'dev';

/** Reads `KEY=value` lines (`#` comments allowed). */
function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

function writeEnvFile(values: Record<string, string | undefined>): void {
  const lines = [
    '# Written by `npm start` (scripts/start.ts); read by `npm run drain`. Local development only.',
    ...Object.entries(values)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
      .map(([key, value]) => `${key}=${value}`),
  ];
  writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRedisServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return true; // no /proc (macOS): assume it is
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

function fail(message: string): never {
  console.error(`\nsluice: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  const previous = readEnvFile(envFile);
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

  const host = process.env.SLUICE_HTTP_HOST?.trim() || 'localhost';
  let httpPort: number;
  let lambdaPort: number;
  let redisPort: number | undefined;
  try {
    httpPort = port('SLUICE_HTTP_PORT', 3000);
    lambdaPort = port('SLUICE_LAMBDA_PORT', 3002);
    redisPort = process.env.SLUICE_REDIS_PORT?.trim() ? port('SLUICE_REDIS_PORT', 0) : undefined;
  } catch (error) {
    fail((error as Error).message);
  }
  for (const [name, value] of [
    ['SLUICE_HTTP_PORT', httpPort],
    ['SLUICE_LAMBDA_PORT', lambdaPort],
  ] as const) {
    if (!(await portIsFree(value, host)))
      fail(`port ${value} is in use: choose another with ${name}=<port>.`);
  }

  const externalRedis = process.env.REDIS_URL?.trim() || undefined;
  if (externalRedis === undefined && !hasRedisServer()) {
    fail(
      [
        'no Redis to run against: REDIS_URL is not set and redis-server is not on PATH.',
        'Either install Redis (7 or newer):',
        '  Debian/Ubuntu: sudo apt-get install redis-server',
        '  macOS:         brew install redis',
        'or point sluice at a Redis you already have:',
        '  REDIS_URL=redis://127.0.0.1:6379 npm start',
      ].join('\n'),
    );
  }

  const token =
    process.env.SLUICE_PUBLISH_TOKEN?.trim() ||
    previous.SLUICE_PUBLISH_TOKEN ||
    randomBytes(24).toString('base64url');

  // Validate the whole configuration now, with the Redis URL the functions will get.
  const probeUrl = externalRedis ?? 'redis://127.0.0.1:6379';
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...process.env, REDIS_URL: probeUrl, SLUICE_PUBLISH_TOKEN: token });
  } catch (error) {
    fail((error as Error).message);
  }

  let redis: RedisServer | undefined;
  let redisUrl: string;
  if (externalRedis === undefined) {
    redisPort ??= await freePort();
    const dir = join(stateDir, 'redis');
    try {
      redis = await startRedisServer({ port: redisPort, dir, appendOnly: true });
    } catch (error) {
      fail(`could not start redis-server on port ${redisPort}: ${(error as Error).message}`);
    }
    redisUrl = redis.url;
    console.log(`sluice: redis-server ${redisUrl} (pid ${redis.pid}), append-only data in .sluice/redis`);
  } else {
    redisUrl = externalRedis;
    console.log(`sluice: using REDIS_URL ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}`);
  }

  // The drain reads new messages only (group start `$`), and its first cycle may run a minute
  // from now: create the group before anyone can publish, so that no early message is skipped.
  const driver = ioredisDriver(redisUrl);
  try {
    const created = await ensureGroup(driver, streamKeys({ topic: config.topic }).stream, config.group);
    if (created) console.log(`sluice: created consumer group ${config.group} on topic ${config.topic}`);
  } catch (error) {
    await redis?.stop();
    fail(`cannot reach Redis at ${redisUrl}: ${(error as Error).message}`);
  } finally {
    // Bounded, and with a timer keeping the process up: the driver unrefs its idle socket.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([driver.close(), new Promise((done) => (timer = setTimeout(done, 2_000)))]);
    clearTimeout(timer);
  }

  const drainFunction = `sluice-${STAGE}-drain`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    SLUICE_PUBLISH_TOKEN: token,
    SLUICE_HTTP_HOST: host,
    SLUICE_HTTP_PORT: String(httpPort),
    SLUICE_LAMBDA_PORT: String(lambdaPort),
    // Own build folder: `npm run package` cleans `.esbuild` when it is done.
    SLUICE_ESBUILD_DIR: process.env.SLUICE_ESBUILD_DIR?.trim() || '.sluice/esbuild',
  };

  writeEnvFile({
    REDIS_URL: redisUrl,
    SLUICE_PUBLISH_TOKEN: token,
    SLUICE_HTTP_HOST: host,
    SLUICE_HTTP_PORT: String(httpPort),
    SLUICE_LAMBDA_PORT: String(lambdaPort),
    SLUICE_TOPIC: config.topic,
    SLUICE_GROUP: config.group,
    SLUICE_DRAIN_FUNCTION: drainFunction,
    SLUICE_STACK_PID: String(process.pid),
    SLUICE_REDIS_PID: redis?.pid === undefined ? undefined : String(redis.pid),
  });

  const require = createRequire(import.meta.url);
  const serverlessBin = require.resolve('osls/bin/serverless.js');
  // Own process group, so that stopping it also stops whatever it started (esbuild's service).
  const offline: ChildProcess = spawn(process.execPath, [serverlessBin, 'offline', '--stage', STAGE], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });

  let stopping = false;
  let ready = false;
  const publishUrl = `http://${host}:${httpPort}/topics/${config.topics[0] ?? config.topic}/messages`;
  const onOutput = (chunk: Buffer, to: NodeJS.WriteStream) => {
    to.write(chunk);
    if (!ready && /Server ready: http/.test(chunk.toString())) {
      ready = true;
      const example = JSON.stringify({ data: { orderId: 42, amount: 1999 } });
      console.log(
        [
          '',
          'sluice: local stack is up',
          `  publish URL   POST ${publishUrl}`,
          `  topics        ${config.topics.join(', ')}   (drain: topic ${config.topic}, group ${config.group})`,
          `  token         ${token}`,
          `  redis         ${redisUrl}`,
          `  drain         every minute by the schedule; one cycle now: npm run drain`,
          `  lambda API    http://${host}:${lambdaPort}/2015-03-31/functions/${drainFunction}/invocations`,
          '',
          '  Try it:',
          `  curl -i -X POST ${publishUrl} \\`,
          `    -H 'Authorization: Bearer ${token}' \\`,
          `    -H 'Content-Type: application/json' \\`,
          `    -d '${example}'`,
          '',
          '  Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
    }
  };
  offline.stdout?.on('data', (chunk: Buffer) => onOutput(chunk, process.stdout));
  offline.stderr?.on('data', (chunk: Buffer) => onOutput(chunk, process.stderr));

  const offlineExited = new Promise<number>((resolveExit) => {
    offline.once('exit', (code, signal) => resolveExit(code ?? (signal ? 1 : 0)));
    offline.once('error', (error) => {
      console.error(`sluice: could not run serverless offline: ${error.message}`);
      resolveExit(1);
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    if (offline.pid === undefined) return;
    try {
      process.kill(-offline.pid, signal);
    } catch {
      // already gone
    }
  };

  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nsluice: ${reason}, stopping…`);
    if (offline.exitCode === null && offline.signalCode === null) {
      signalGroup('SIGINT');
      const forced = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await offlineExited;
      clearTimeout(forced);
    }
    // Whatever serverless offline left in its group (esbuild's service process).
    signalGroup('SIGKILL');
    if (redis) {
      await redis.stop();
      console.log('sluice: redis-server stopped (data kept in .sluice/redis)');
    }
    const current = readEnvFile(envFile);
    if (current.SLUICE_STACK_PID === String(process.pid)) {
      writeEnvFile({ ...current, SLUICE_STACK_PID: undefined, SLUICE_REDIS_PID: undefined });
    }
    process.exit(exitCode);
  };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(`got ${signal}`, 0));
  }
  void offlineExited.then((code) =>
    shutdown(`serverless offline exited with code ${code}`, code === 0 ? 0 : 1),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
