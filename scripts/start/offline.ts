/**
 * The last step of `npm start`, run offline: `serverless offline` with the stack's settings, a
 * banner once it is up, and one shutdown for Ctrl-C (SIGINT), SIGTERM, SIGHUP or its own exit that
 * stops everything this run started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { driverEnv } from './build.js';
import { redact, root, STAGE } from './common.js';
import { drainFunction, forgetStack, publishUrlOf, type Stack } from './env-file.js';
import type { Servers } from './servers.js';

/** The functions' environment: the process's, the driver's settings, the tokens and ports. */
function childEnv(stack: Stack, servers: Servers): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...driverEnv(stack.build, servers),
    SLUICE_PUBLISH_TOKEN: stack.tokens.token,
    SLUICE_ADMIN_TOKEN: stack.tokens.adminToken,
    SLUICE_HTTP_HOST: stack.host,
    SLUICE_HTTP_PORT: String(stack.httpPort),
    SLUICE_LAMBDA_PORT: String(stack.lambdaPort),
    // Event-driven draining: a publish invokes the drain function through serverless offline's Invoke API.
    SLUICE_LAMBDA_ENDPOINT: `http://${stack.host}:${stack.lambdaPort}`,
    // Own build folder: `npm run package` cleans `.esbuild` when it is done.
    SLUICE_ESBUILD_DIR: process.env.SLUICE_ESBUILD_DIR?.trim() || '.sluice/esbuild',
  };
  // Unset variables are removed, not passed empty (serverless.yml passes '' for those anyway).
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

/** What `npm start` prints once serverless offline is ready. */
function banner(stack: Stack, servers: Servers): string {
  const { build, config, tokens, host, httpPort, lambdaPort } = stack;
  const { redisUrl, rest, restUrl, restToken } = servers;
  const publishUrl = publishUrlOf(stack);
  const example = JSON.stringify({ data: { orderId: 42, amount: 1999 } });
  return [
    '',
    'sluice: local stack is up',
    `  publish URL   POST ${publishUrl}`,
    `  topics        ${config.topics.join(', ')}   (drain: topic ${config.topic}, group ${config.group})`,
    `  token         ${tokens.token}`,
    `  dashboard     http://${host}:${httpPort}/ops   (ops endpoints: /ops/stats, /ops/topics/…)`,
    `  admin token   ${tokens.adminToken}   (SLUICE_ADMIN_TOKEN: the dashboard asks for it)`,
    `  build         ${build.upstash ? 'upstash (HTTP REST): functions/aws/*-upstash.ts' : 'ioredis (TCP): functions/aws/publish.ts, drain.ts, ops.ts'}`,
    ...(build.upstash
      ? [
          `  upstash REST  ${restUrl}${rest ? `   (local, token ${restToken})` : '   (UPSTASH_REDIS_REST_URL)'}`,
          ...(redisUrl ? [`  redis         ${redact(redisUrl)}   (behind the REST server)`] : []),
        ]
      : build.externalCluster !== undefined
        ? [`  redis cluster ${redact(build.externalCluster)}`]
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
    `  Ctrl-C stops everything.${build.upstash ? '' : '   Over HTTP REST instead: SLUICE_DRIVER=upstash npm start'}`,
    '',
  ].join('\n');
}

/** Runs serverless offline until a signal or its exit, then stops everything and exits. */
export function runOffline(stack: Stack, servers: Servers): void {
  const serverlessBin = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
  // Own process group, so that stopping it also stops whatever it started (esbuild's service).
  const offline: ChildProcess = spawn(process.execPath, [serverlessBin, 'offline', '--stage', STAGE], {
    cwd: root,
    env: childEnv(stack, servers),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let ready = false;
  const onOutput = (chunk: Buffer, to: NodeJS.WriteStream) => {
    to.write(chunk);
    if (!ready && /Server ready: http/.test(chunk.toString())) {
      ready = true;
      console.log(banner(stack, servers));
    }
  };
  offline.stdout?.on('data', (chunk: Buffer) => onOutput(chunk, process.stdout));
  offline.stderr?.on('data', (chunk: Buffer) => onOutput(chunk, process.stderr));
  const exited = new Promise<number>((resolveExit) => {
    offline.once('exit', (code, signal) => resolveExit(code ?? (signal ? 1 : 0)));
    offline.once('error', (error) => {
      console.error(`sluice: could not run serverless offline: ${error.message}`);
      resolveExit(1);
    });
  });
  const shutdown = stopper(offline, exited, servers);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(`got ${signal}`, 0));
  }
  void exited.then((code) => shutdown(`serverless offline exited with code ${code}`, code === 0 ? 0 : 1));
}

/** The one shutdown: serverless offline and its process group, the servers, the stack's files; then exit. */
function stopper(
  offline: ChildProcess,
  exited: Promise<number>,
  servers: Servers,
): (reason: string, exitCode: number) => Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    if (offline.pid === undefined) return;
    try {
      process.kill(-offline.pid, signal);
    } catch {
      // already gone
    }
  };
  let stopping = false;
  return async (reason, exitCode) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nsluice: ${reason}, stopping…`);
    if (offline.exitCode === null && offline.signalCode === null) {
      signalGroup('SIGINT');
      const forced = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await exited;
      clearTimeout(forced);
    }
    // Whatever serverless offline left in its group (esbuild's service process).
    signalGroup('SIGKILL');
    if (servers.rest) {
      await servers.rest.stop();
      console.log('sluice: local Upstash REST server stopped');
    }
    if (servers.redis) {
      await servers.redis.stop();
      console.log('sluice: redis-server stopped (data kept in .sluice/redis)');
    }
    forgetStack();
    process.exit(exitCode);
  };
}
