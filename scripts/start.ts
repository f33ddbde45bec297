/**
 * `npm start`: the whole app on a laptop. `npm start -- --help` prints the settings.
 *
 * - Build: SLUICE_DRIVER picks which build of the functions runs, as it does for a deployment:
 *   `ioredis` (default: TCP, functions/aws/publish.ts and drain.ts) or `upstash` (HTTP REST,
 *   functions/aws/publish-upstash.ts and drain-upstash.ts).
 * - Redis: REDIS_URL when set, or REDIS_CLUSTER_NODES (a Redis Cluster, ioredis build only);
 *   otherwise a private redis-server with append-only persistence in `.sluice/redis` (git-ignored),
 *   on SLUICE_REDIS_PORT or a free port.
 * - With SLUICE_DRIVER=upstash: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN when both are
 *   set (a real Upstash database: no redis-server is started); otherwise that Redis behind a local
 *   server that speaks the Upstash REST protocol (test/support/upstash-rest-server.ts), on
 *   SLUICE_REST_PORT or a free port. The functions get only the REST settings, never REDIS_URL.
 * - A development publish token (SLUICE_PUBLISH_TOKEN, or generated once and kept in
 *   `.sluice/dev.env`), and likewise a separate admin token (SLUICE_ADMIN_TOKEN) for the ops
 *   endpoints and the dashboard at http://localhost:3000/ops.
 * - `serverless offline`: POST /topics/{topic}/messages on SLUICE_HTTP_PORT (3000), the Lambda
 *   invoke API on SLUICE_LAMBDA_PORT (3002), the drain function fired every minute.
 * - `.sluice/dev.env` tells `npm run drain` where the running stack is; `.sluice/env` exports the
 *   tokens for the README's commands (`source .sluice/env`); `.sluice/stack.json` tells the
 *   `sluice` CLI where the running stack's Redis is (scripts/stack-files.ts).
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
import { isAlive } from '../src/cli/local-stack.js';
import { ioredisClusterDriver, ioredisDriver } from '../src/drivers/ioredis.js';
import { upstashDriver } from '../src/drivers/upstash.js';
import { ConfigurationError, loadConfig } from '../src/http/index.js';
import type { Driver } from '../src/index.js';
import { ensureGroup, topicLayout } from '../src/ops/index.js';
import {
  freePort,
  hasRedisServer,
  type RedisServer,
  startRedisServer,
} from '../test/support/redis-server.js';
import { type RestServer, startRestServer } from '../test/support/upstash-rest-server.js';
import { removeStackFile, writeShellEnv, writeStackFile } from './stack-files.js';

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

/** A URL without its password, for printing. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//***@');
}

const HELP = `Usage: npm start [-- --help]

Runs sluice on this machine: Redis, the publish, drain and ops functions under serverless offline
(the drain fired every minute), .sluice/dev.env for \`npm run drain\`, .sluice/env (\`source .sluice/env\`:
the tokens, for the README's commands) and .sluice/stack.json (for the sluice CLI). Ctrl-C stops it all.

Which build of the functions (as for a deployment):
  npm start                          ioredis build (TCP): functions/aws/publish.ts, drain.ts
  SLUICE_DRIVER=upstash npm start    Upstash build (HTTP REST): functions/aws/*-upstash.ts

Environment:
  REDIS_URL                  use this Redis instead of starting a private redis-server
                             (data of the private one: .sluice/redis, append-only)
  REDIS_CLUSTER_NODES        ioredis build: use this Redis Cluster (host:port,host:port,…)
                             instead; not with REDIS_URL
  SLUICE_DRIVER              ioredis (default) or upstash
  UPSTASH_REDIS_REST_URL     with SLUICE_DRIVER=upstash and both set: a real Upstash database,
  UPSTASH_REDIS_REST_TOKEN   used as is (no redis-server, no local REST server); otherwise a
                             local Upstash REST server runs in front of the Redis above
  SLUICE_PUBLISH_TOKEN       bearer token for publishing (default: generated, kept in .sluice/dev.env)
  SLUICE_ADMIN_TOKEN         bearer token for the ops endpoints and the dashboard at /ops
                             (default: generated, kept in .sluice/dev.env)
  SLUICE_HTTP_HOST           host of the HTTP and Lambda APIs (default localhost)
  SLUICE_HTTP_PORT           publish API port (default 3000)
  SLUICE_LAMBDA_PORT         Lambda invoke API port, used by \`npm run drain\` (default 3002)
  SLUICE_REDIS_PORT          port of the private redis-server (default: a free one)
  SLUICE_REST_PORT           port of the local Upstash REST server (default: a free one)
  SLUICE_TOPIC, SLUICE_GROUP, SLUICE_TOPICS, SLUICE_BUDGET_MS, …   the functions' settings (README)
`;

async function main(): Promise<void> {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(HELP);
    return;
  }
  const unknown = process.argv.slice(2);
  if (unknown.length > 0) fail(`unknown argument ${JSON.stringify(unknown[0])}; see npm start -- --help`);

  const driverSetting = process.env.SLUICE_DRIVER?.trim() || 'ioredis';
  if (driverSetting !== 'ioredis' && driverSetting !== 'upstash') {
    fail(`SLUICE_DRIVER must be "ioredis" or "upstash", got ${JSON.stringify(driverSetting)}`);
  }
  const upstash = driverSetting === 'upstash';
  const restUrlSetting = process.env.UPSTASH_REDIS_REST_URL?.trim() || undefined;
  const restTokenSetting = process.env.UPSTASH_REDIS_REST_TOKEN?.trim() || undefined;
  if (upstash && (restUrlSetting === undefined) !== (restTokenSetting === undefined)) {
    fail(
      `${restUrlSetting === undefined ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN'} is not set: set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to use an Upstash database, or neither to run a local REST server in front of Redis.`,
    );
  }
  /** A real Upstash database: no Redis of ours, no REST server. */
  const externalRest =
    upstash && restUrlSetting !== undefined && restTokenSetting !== undefined
      ? { url: restUrlSetting, token: restTokenSetting }
      : undefined;
  /** A Redis Cluster of the user's: the ioredis build only (the local REST server fronts one server). */
  const clusterSetting = process.env.REDIS_CLUSTER_NODES?.trim() || undefined;
  const externalCluster = upstash ? undefined : clusterSetting;
  if (upstash && clusterSetting !== undefined) {
    console.log(
      'sluice: REDIS_CLUSTER_NODES is set but not used by the upstash build; npm start (the ioredis build) uses it.',
    );
  }
  if (externalCluster !== undefined && process.env.REDIS_URL?.trim()) {
    fail(
      'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_CLUSTER_NODES for a Redis Cluster or REDIS_URL for one server, not both.',
    );
  }
  if (!upstash && restUrlSetting !== undefined) {
    console.log(
      'sluice: UPSTASH_REDIS_REST_URL is set but not used by the ioredis build; SLUICE_DRIVER=upstash npm start uses it.',
    );
  }

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
  let restPort: number | undefined;
  try {
    httpPort = port('SLUICE_HTTP_PORT', 3000);
    lambdaPort = port('SLUICE_LAMBDA_PORT', 3002);
    redisPort = process.env.SLUICE_REDIS_PORT?.trim() ? port('SLUICE_REDIS_PORT', 0) : undefined;
    restPort = process.env.SLUICE_REST_PORT?.trim() ? port('SLUICE_REST_PORT', 0) : undefined;
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
  if (
    upstash &&
    externalRest === undefined &&
    restPort !== undefined &&
    !(await portIsFree(restPort, '127.0.0.1'))
  )
    fail(`port ${restPort} is in use: choose another with SLUICE_REST_PORT=<port>.`);

  // Whether a Redis of ours (or REDIS_URL's) is needed: not in front of a real Upstash database,
  // nor with a Redis Cluster.
  const needsRedis = externalRest === undefined && externalCluster === undefined;
  const externalRedis = needsRedis ? process.env.REDIS_URL?.trim() || undefined : undefined;
  if (needsRedis && externalRedis === undefined && !hasRedisServer()) {
    fail(
      [
        'no Redis to run against: REDIS_URL is not set and redis-server is not on PATH.',
        'Either install Redis (7 or newer):',
        '  Debian/Ubuntu: sudo apt-get install redis-server',
        '  macOS:         brew install redis',
        'or point sluice at a Redis you already have:',
        '  REDIS_URL=redis://127.0.0.1:6379 npm start',
        ...(upstash
          ? [
              'or at an Upstash database:',
              '  SLUICE_DRIVER=upstash UPSTASH_REDIS_REST_URL=https://… UPSTASH_REDIS_REST_TOKEN=… npm start',
            ]
          : []),
      ].join('\n'),
    );
  }

  const token =
    process.env.SLUICE_PUBLISH_TOKEN?.trim() ||
    previous.SLUICE_PUBLISH_TOKEN ||
    randomBytes(24).toString('base64url');
  const adminToken =
    process.env.SLUICE_ADMIN_TOKEN?.trim() ||
    previous.SLUICE_ADMIN_TOKEN ||
    randomBytes(24).toString('base64url');

  /** How the functions reach Redis: exactly one driver's settings (see src/app/config.ts). */
  const driverEnv = (target: { redisUrl?: string; restUrl?: string; restToken?: string }) =>
    upstash
      ? {
          SLUICE_DRIVER: 'upstash',
          UPSTASH_REDIS_REST_URL: target.restUrl,
          UPSTASH_REDIS_REST_TOKEN: target.restToken,
          REDIS_URL: undefined,
          REDIS_CLUSTER_NODES: undefined,
        }
      : externalCluster !== undefined
        ? {
            SLUICE_DRIVER: 'ioredis',
            REDIS_CLUSTER_NODES: externalCluster,
            REDIS_URL: undefined,
            UPSTASH_REDIS_REST_URL: undefined,
            UPSTASH_REDIS_REST_TOKEN: undefined,
          }
        : {
            SLUICE_DRIVER: 'ioredis',
            REDIS_URL: target.redisUrl,
            REDIS_CLUSTER_NODES: undefined,
            UPSTASH_REDIS_REST_URL: undefined,
            UPSTASH_REDIS_REST_TOKEN: undefined,
          };

  // Validate the whole configuration now, with the kind of settings the functions will get.
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      ...process.env,
      ...driverEnv({
        redisUrl: externalRedis ?? 'redis://127.0.0.1:6379',
        restUrl: externalRest?.url ?? 'http://127.0.0.1:8079',
        restToken: externalRest?.token ?? 'local',
      }),
      SLUICE_PUBLISH_TOKEN: token,
      SLUICE_ADMIN_TOKEN: adminToken,
    });
  } catch (error) {
    fail((error as Error).message);
  }

  let redis: RedisServer | undefined;
  let redisUrl: string | undefined;
  if (needsRedis && externalRedis === undefined) {
    redisPort ??= await freePort();
    const dir = join(stateDir, 'redis');
    try {
      redis = await startRedisServer({ port: redisPort, dir, appendOnly: true });
    } catch (error) {
      fail(`could not start redis-server on port ${redisPort}: ${(error as Error).message}`);
    }
    redisUrl = redis.url;
    console.log(`sluice: redis-server ${redisUrl} (pid ${redis.pid}), append-only data in .sluice/redis`);
  } else if (externalRedis !== undefined) {
    redisUrl = externalRedis;
    console.log(`sluice: using REDIS_URL ${redact(redisUrl)}`);
  } else if (externalCluster !== undefined) {
    console.log(`sluice: using the Redis Cluster at ${redact(externalCluster)} (REDIS_CLUSTER_NODES)`);
  }

  let rest: RestServer | undefined;
  let restUrl: string | undefined;
  let restToken: string | undefined;
  if (externalRest !== undefined) {
    ({ url: restUrl, token: restToken } = externalRest);
    console.log(`sluice: using the Upstash database at ${restUrl} (UPSTASH_REDIS_REST_URL)`);
  } else if (upstash && redisUrl !== undefined) {
    try {
      rest = await startRestServer({
        redisUrl,
        token: randomBytes(24).toString('base64url'),
        port: restPort ?? 0,
      });
    } catch (error) {
      await redis?.stop();
      fail(`could not start the local Upstash REST server: ${(error as Error).message}`);
    }
    ({ url: restUrl, token: restToken } = rest);
    console.log(`sluice: local Upstash REST server ${restUrl} in front of ${redact(redisUrl)}`);
  }
  const stopServers = async () => {
    await rest?.stop();
    await redis?.stop();
  };

  // The drain reads new messages only (group start `$`), and its first cycle may run a minute
  // from now: create the group before anyone can publish, so that no early message is skipped.
  // Through the same driver as the functions, so that a wrong REST URL or token shows up now.
  const where = upstash
    ? `the Upstash REST API at ${restUrl}`
    : config.driver.kind === 'ioredis-cluster'
      ? `the Redis Cluster at ${redact(externalCluster ?? '')}`
      : `Redis at ${redact(redisUrl ?? '')}`;
  const driver: Driver = upstash
    ? upstashDriver({ url: restUrl ?? '', token: restToken ?? '', requestTimeoutMs: 10_000 })
    : config.driver.kind === 'ioredis-cluster'
      ? ioredisClusterDriver(config.driver.nodes)
      : ioredisDriver(redisUrl ?? '');
  try {
    // On a partitioned topic (SLUICE_PARTITIONS), the count is recorded first and the group
    // created on every partition.
    const layout = await topicLayout(driver, config.topic, config.drain.partitions);
    const created = await Promise.all(
      Array.from({ length: layout.partitions }, (_, i) =>
        ensureGroup(driver, layout.keys(i).stream, config.group),
      ),
    );
    if (created.some(Boolean)) {
      const where = layout.partitions === 1 ? '' : ` (${layout.partitions} partitions)`;
      console.log(`sluice: created consumer group ${config.group} on topic ${config.topic}${where}`);
    }
  } catch (error) {
    await stopServers();
    fail(`cannot reach ${where}: ${(error as Error).message}`);
  } finally {
    // Bounded, and with a timer keeping the process up: the driver unrefs its idle socket.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([driver.close(), new Promise((done) => (timer = setTimeout(done, 2_000)))]);
    clearTimeout(timer);
  }

  const drainFunction = `sluice-${STAGE}-drain`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...driverEnv({ redisUrl, restUrl, restToken }),
    SLUICE_PUBLISH_TOKEN: token,
    SLUICE_ADMIN_TOKEN: adminToken,
    SLUICE_HTTP_HOST: host,
    SLUICE_HTTP_PORT: String(httpPort),
    SLUICE_LAMBDA_PORT: String(lambdaPort),
    // Own build folder: `npm run package` cleans `.esbuild` when it is done.
    SLUICE_ESBUILD_DIR: process.env.SLUICE_ESBUILD_DIR?.trim() || '.sluice/esbuild',
  };

  // Unset variables are removed, not passed empty (serverless.yml passes '' for those anyway).
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];

  writeEnvFile({
    SLUICE_DRIVER: driverSetting,
    // The Redis behind the stack (none in front of a real Upstash database); the REST token is
    // not written down: `npm run drain` goes through the running functions.
    REDIS_URL: redisUrl,
    REDIS_CLUSTER_NODES: externalCluster,
    UPSTASH_REDIS_REST_URL: restUrl,
    SLUICE_PUBLISH_TOKEN: token,
    SLUICE_ADMIN_TOKEN: adminToken,
    SLUICE_HTTP_HOST: host,
    SLUICE_HTTP_PORT: String(httpPort),
    SLUICE_LAMBDA_PORT: String(lambdaPort),
    SLUICE_TOPIC: config.topic,
    SLUICE_GROUP: config.group,
    SLUICE_DRAIN_FUNCTION: drainFunction,
    SLUICE_STACK_PID: String(process.pid),
    SLUICE_REDIS_PID: redis?.pid === undefined ? undefined : String(redis.pid),
  });

  const publishUrl = `http://${host}:${httpPort}/topics/${config.topics[0] ?? config.topic}/messages`;
  writeShellEnv(root, { SLUICE_PUBLISH_TOKEN: token, SLUICE_ADMIN_TOKEN: adminToken });
  writeStackFile(root, {
    pid: process.pid,
    ...(redisUrl === undefined ? {} : { redisUrl }),
    publishUrl,
    topics: config.topics,
    topic: config.topic,
    group: config.group,
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
          `  dashboard     http://${host}:${httpPort}/ops   (ops endpoints: /ops/stats, /ops/topics/…)`,
          `  admin token   ${adminToken}   (SLUICE_ADMIN_TOKEN: the dashboard asks for it)`,
          `  build         ${upstash ? 'upstash (HTTP REST): functions/aws/*-upstash.ts' : 'ioredis (TCP): functions/aws/publish.ts, drain.ts, ops.ts'}`,
          ...(upstash
            ? [
                `  upstash REST  ${restUrl}${rest ? `   (local, token ${restToken})` : '   (UPSTASH_REDIS_REST_URL)'}`,
                ...(redisUrl ? [`  redis         ${redact(redisUrl)}   (behind the REST server)`] : []),
              ]
            : externalCluster !== undefined
              ? [`  redis cluster ${redact(externalCluster)}`]
              : [`  redis         ${redact(redisUrl ?? '')}`]),
          `  drain         every minute by the schedule; one cycle now: npm run drain`,
          `  lambda API    http://${host}:${lambdaPort}/2015-03-31/functions/${drainFunction}/invocations`,
          '',
          `  Try it (in another terminal, from ${root}):`,
          '  source .sluice/env   # exports SLUICE_PUBLISH_TOKEN and SLUICE_ADMIN_TOKEN',
          `  curl -i -X POST ${publishUrl} \\`,
          `    -H "Authorization: Bearer $SLUICE_PUBLISH_TOKEN" \\`,
          `    -H 'Content-Type: application/json' \\`,
          `    -d '${example}'`,
          '',
          `  Ctrl-C stops everything.${upstash ? '' : '   Over HTTP REST instead: SLUICE_DRIVER=upstash npm start'}`,
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
    if (rest) {
      await rest.stop();
      console.log('sluice: local Upstash REST server stopped');
    }
    if (redis) {
      await redis.stop();
      console.log('sluice: redis-server stopped (data kept in .sluice/redis)');
    }
    removeStackFile(root, process.pid);
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
