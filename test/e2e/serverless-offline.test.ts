/**
 * The app as serverless offline runs it (`npm start` without the launcher): the esbuild bundles of
 * the Lambda functions, API Gateway HTTP API routing, the Lambda invoke API, the environment passed
 * through serverless.yml. The same scenario runs over both builds:
 * - ioredis: functions/aws/publish.ts and drain.ts, REDIS_URL = the run's private redis-server;
 * - upstash: SLUICE_DRIVER=upstash selects functions/aws/publish-upstash.ts and drain-upstash.ts,
 *   which reach that same redis-server through the local Upstash REST server (no REDIS_URL at all).
 * Assertions read Redis directly over TCP, whichever build wrote it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../dev/redis-server.js';
import { streamKeys } from '../../src/ops/index.js';
import { cleanEnv, root } from '../support/cli-run.js';
import { randomTopic, rawClient, redisUrl } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

const serverlessBin = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
const HOST = '127.0.0.1';
const STARTUP_TIMEOUT_MS = 120_000;

/** Two different free ports. */
async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}

/** Resolves when `pattern` appears in the child's output; rejects if it exits first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, log: { text: string }): Promise<void> {
  return new Promise((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      log.text += chunk.toString();
      if (pattern.test(log.text)) {
        child.off('exit', onExit);
        resolveReady();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new Error(`serverless offline exited (${code ?? signal}) before it was ready:\n${log.text}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

/** serverless offline on free ports with its own esbuild folder, started and stopped with the suite. */
interface OfflineStack {
  /** Its esbuild work folder, under the repository root. */
  readonly workFolder: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  /** Everything it printed so far. */
  readonly log: { text: string };
}

/**
 * Starts serverless offline with `env(httpPort, lambdaPort)` on top of a clean environment in
 * beforeAll, and stops it (its whole process group) and removes its build folder in afterAll.
 */
function offlineStack(env: (httpPort: number, lambdaPort: number) => NodeJS.ProcessEnv): OfflineStack {
  // Own esbuild work folder (git-ignored), so that a concurrent `npm start` or `npm run package` is not disturbed.
  const workFolder = `.sluice/e2e-${randomUUID().slice(0, 8)}`;
  const stack = { workFolder, httpPort: 0, lambdaPort: 0, log: { text: '' } };
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    [stack.httpPort, stack.lambdaPort] = await twoFreePorts();
    child = spawn(process.execPath, [serverlessBin, 'offline', '--stage', 'dev'], {
      cwd: root,
      env: {
        ...cleanEnv(),
        ...env(stack.httpPort, stack.lambdaPort),
        SLUICE_HTTP_HOST: HOST,
        SLUICE_HTTP_PORT: String(stack.httpPort),
        SLUICE_LAMBDA_PORT: String(stack.lambdaPort),
        SLUICE_ESBUILD_DIR: workFolder,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: afterAll stops serverless and whatever it started.
      detached: true,
    });
    await waitForOutput(
      child,
      new RegExp(`Server ready: http://${HOST.replaceAll('.', '\\.')}:${stack.httpPort}\\b`),
      stack.log,
    );
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    if (child) {
      signalGroup(child, 'SIGTERM');
      const forced = setTimeout(() => signalGroup(child as ChildProcess, 'SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(forced);
      signalGroup(child, 'SIGKILL');
    }
    rmSync(join(root, workFolder), { recursive: true, force: true });
  }, 30_000);
  return stack;
}

interface Build {
  readonly name: 'ioredis' | 'upstash';
  /** The entry file serverless.yml picks for this build (functions/aws/<entry>.ts). */
  readonly drainEntry: string;
  /** How the functions reach Redis. */
  env(): NodeJS.ProcessEnv;
}

const BUILDS: readonly Build[] = [
  { name: 'ioredis', drainEntry: 'drain', env: () => ({ REDIS_URL: redisUrl() }) },
  {
    name: 'upstash',
    drainEntry: 'drain-upstash',
    env: () => ({
      SLUICE_DRIVER: 'upstash',
      UPSTASH_REDIS_REST_URL: inject('restUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('restToken'),
    }),
  },
];

describe.each(BUILDS.map((build) => [build.name, build] as const))(
  'serverless offline, %s build: publish over HTTP, drain through the Lambda invoke API',
  (_name, build) => {
    const topic = randomTopic('e2e');
    const group = randomTopic('g');
    const token = randomBytes(18).toString('base64url');
    const stream = streamKeys({ topic }).stream;
    let redis: Redis;
    const stack = offlineStack(() => ({
      ...build.env(),
      SLUICE_PUBLISH_TOKEN: token,
      SLUICE_TOPIC: topic,
      SLUICE_GROUP: group,
      SLUICE_TOPICS: topic,
      SLUICE_BUDGET_MS: '3000',
      SLUICE_BLOCK_MS: '500',
      // The cycle ends soon after the stream falls idle instead of running out its budget.
      SLUICE_IDLE_EXIT_MS: '500',
      // This test invokes the drain itself; a scheduled cycle racing it would take the message,
      // and so would a drain a publish wakes (event-driven draining is tested below).
      SLUICE_SCHEDULE_ENABLED: 'false',
      SLUICE_WAKE: 'false',
    }));
    const { log } = stack;

    const publishUrl = (name: string) => `http://${HOST}:${stack.httpPort}/topics/${name}/messages`;
    const publish = (name: string, bearer: string, body: unknown) =>
      fetch(publishUrl(name), {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });

    beforeAll(async () => {
      redis = rawClient();
      // The drain consumes new messages only (start `$`): the group must exist before the publish.
      // Creating it here also makes the drain's first cycle meet BUSYGROUP in the minified bundle.
      await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
    });

    it('registers the drain schedule as configured (off here) and exposes the drain function', () => {
      expect(log.text).toContain('Scheduling [drain] cron: disabled');
      expect(log.text).toContain('drain: sluice-dev-drain');
    });

    it(`runs the ${build.name} build of the functions`, () => {
      expect(
        existsSync(join(root, stack.workFolder, '.build/functions/aws', `${build.drainEntry}.cjs`)),
      ).toBe(true);
    });

    it('refuses a wrong bearer token with 401 and writes nothing', async () => {
      const response = await publish(topic, `${token}x`, { data: { orderId: 1 } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: expect.any(String) });
      expect(await redis.xlen(stream)).toBe(0);
    });

    it('answers 404 for a topic the endpoint does not accept', async () => {
      const response = await publish(randomTopic('other'), token, { data: { orderId: 1 } });
      expect(response.status).toBe(404);
    });

    it('publishes over HTTP (202 with the id), then one drain invocation processes and acknowledges it', async () => {
      const response = await publish(topic, token, { data: { orderId: 42, amount: 1999 } });
      expect(response.status).toBe(202);
      const published = (await response.json()) as { topic: string; ids: string[] };
      expect(published.topic).toBe(topic);
      expect(published.ids).toHaveLength(1);
      const id = published.ids[0] as string;
      expect(id).toMatch(/^\d+-\d+$/);
      expect(await redis.xlen(stream)).toBe(1);

      const invoked = await fetch(
        `http://${HOST}:${stack.lambdaPort}/2015-03-31/functions/sluice-dev-drain/invocations`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(60_000),
        },
      );
      const body = await invoked.text();
      expect(invoked.headers.get('x-amz-function-error'), body).toBeNull();
      expect(invoked.status).toBe(200);
      const report = JSON.parse(body) as Record<string, unknown>;
      expect(report).toMatchObject({ stream, group, stoppedBy: expect.any(String) });
      expect(report.read).toBeGreaterThanOrEqual(1);
      expect(report.acked).toBeGreaterThanOrEqual(1);
      expect(report.failed).toBe(0);
      expect(report.deadLettered).toBe(0);

      const [pendingCount] = (await redis.xpending(stream, group)) as [number, ...unknown[]];
      expect(pendingCount).toBe(0);
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      const info = groups
        .map((fields) =>
          Object.fromEntries(
            Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]),
          ),
        )
        .find((g) => g.name === group);
      expect(info?.['last-delivered-id']).toBe(id);
      expect(info?.pending).toBe(0);
    }, 90_000);
  },
);

describe('serverless offline, upstash build, event-driven: a publish wakes the drain function through the Lambda invoke API', () => {
  const topic = randomTopic('e2e-wake');
  const group = randomTopic('g');
  const token = randomBytes(18).toString('base64url');
  const keys = streamKeys({ topic });
  const stack = offlineStack((_http, lambda) => ({
    SLUICE_DRIVER: 'upstash',
    UPSTASH_REDIS_REST_URL: inject('restUrl'),
    UPSTASH_REDIS_REST_TOKEN: inject('restToken'),
    SLUICE_PUBLISH_TOKEN: token,
    SLUICE_TOPIC: topic,
    SLUICE_GROUP: group,
    SLUICE_TOPICS: topic,
    SLUICE_BUDGET_MS: '5000',
    // What npm start sets: wakes go to serverless offline's Invoke API.
    SLUICE_LAMBDA_ENDPOINT: `http://${HOST}:${lambda}`,
    // No schedule at all: only a wake can drain.
    SLUICE_SCHEDULE_ENABLED: 'false',
  }));

  it('publishes over HTTP and the woken drain processes it, with no schedule and no invocation by hand', async () => {
    const started = Date.now();
    const response = await fetch(`http://${HOST}:${stack.httpPort}/topics/${topic}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { orderId: 7 } }),
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(202);
    const { ids } = (await response.json()) as { ids: string[] };
    // The publish declared the group and woke a drain: it acknowledges the message by itself.
    const redis = rawClient();
    await waitFor(
      async () => {
        const groups = (await redis.xinfo('GROUPS', keys.stream)) as unknown[][];
        const info = groups.find((g) => g[1] === group);
        return (
          info?.[info.indexOf('last-delivered-id') + 1] === ids[0] &&
          info?.[info.indexOf('pending') + 1] === 0
        );
      },
      { timeoutMs: 60_000, what: 'the woken drain to acknowledge the message', intervalMs: 100 },
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(stack.log.text).toContain('order processed');
  }, 90_000);
});
