/**
 * Event-driven draining on the local stack, as `npm start` runs it: serverless offline (the
 * esbuild bundles of the Lambda functions, its Lambda Invoke API), the upstash build of the
 * functions, the bench's local Upstash REST server. No schedule: a publish over HTTP wakes the
 * drain function through the Invoke API. Measured: publish → handler latency with sparse traffic
 * (the example handler's `order processed` line, read as serverless offline prints it), and the
 * Redis commands a scheduled tick on the idle topic costs (INFO commandstats, top-level commands).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dev/redis-server.js';
import type { BenchContext } from './lib/context.js';
import { percentile } from './lib/stats.js';

export interface WakeStackResult {
  readonly messages: number;
  readonly latency: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Top-level Redis commands of one scheduled tick on the idle topic (the drain function invoked as the schedule would). */
  readonly idleTickCommands: number;
  readonly idleTickMs: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const serverless = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
const HOST = '127.0.0.1';

/** Top-level commands a client sent (scripts count once, not their inner calls). */
const TOP_LEVEL = ['evalsha', 'eval', 'xreadgroup', 'xack', 'xadd', 'xgroup'];

async function commands(context: BenchContext): Promise<number> {
  const text = await context.servers.admin.info('commandstats');
  let calls = 0;
  for (const match of text.matchAll(/^cmdstat_([^:|]+)[^:]*:calls=(\d+)/gm)) {
    if (TOP_LEVEL.includes(match[1] as string)) calls += Number(match[2]);
  }
  return calls;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
  const forced = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {}
  }, 10_000);
  return exited.finally(() => clearTimeout(forced));
}

export async function benchWakeStack(context: BenchContext, messages: number): Promise<WakeStackResult> {
  const { topic } = context.topic('stack');
  const token = randomBytes(18).toString('base64url');
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const workFolder = `.sluice/bench-${randomBytes(4).toString('hex')}`;
  const seenAt = new Map<string, number>();
  let output = '';
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('SLUICE_') && !name.startsWith('UPSTASH_'),
    ),
  );
  const child = spawn(process.execPath, [serverless, 'offline', '--stage', 'dev'], {
    cwd: ROOT,
    env: {
      ...env,
      SLUICE_DRIVER: 'upstash',
      UPSTASH_REDIS_REST_URL: context.servers.rest.url,
      UPSTASH_REDIS_REST_TOKEN: context.servers.rest.token,
      SLUICE_PUBLISH_TOKEN: token,
      SLUICE_TOPIC: topic,
      SLUICE_TOPICS: topic,
      SLUICE_GROUP: 'bench',
      SLUICE_HTTP_HOST: HOST,
      SLUICE_HTTP_PORT: String(httpPort),
      SLUICE_LAMBDA_PORT: String(lambdaPort),
      SLUICE_LAMBDA_ENDPOINT: `http://${HOST}:${lambdaPort}`,
      SLUICE_SCHEDULE_ENABLED: 'false',
      SLUICE_ESBUILD_DIR: workFolder,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const match of chunk.toString().matchAll(/"message":"order processed","id":"([^"]+)"/g)) {
      seenAt.set(match[1] as string, Date.now());
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  try {
    const ready = Date.now() + 120_000;
    while (!output.includes(`Server ready: http://${HOST}:${httpPort}`)) {
      if (Date.now() > ready || child.exitCode !== null)
        throw new Error(`serverless offline did not start:\n${output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const publish = (orderId: number) =>
      fetch(`http://${HOST}:${httpPort}/topics/${topic}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { orderId } }),
      }).then(async (response) => ((await response.json()) as { ids: string[] }).ids[0] as string);
    // The first publish declares the group and warms the bundles (cold start not counted).
    await publish(-1);
    const samples: number[] = [];
    for (let n = 0; n < messages; n++) {
      await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.random() * 1_000));
      const sentAt = Date.now();
      const id = await publish(n);
      const end = Date.now() + 30_000;
      while (!seenAt.has(id) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
      samples.push((seenAt.get(id) ?? Number.NaN) - sentAt);
    }
    // A scheduled tick on the idle topic, once the woken drains have ended (3 s after running dry).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const before = await commands(context);
    const tickStarted = Date.now();
    const tick = await fetch(
      `http://${HOST}:${lambdaPort}/2015-03-31/functions/sluice-dev-drain/invocations`,
      {
        method: 'POST',
        body: JSON.stringify({ 'detail-type': 'Scheduled Event', source: 'aws.events' }),
      },
    );
    await tick.text();
    const idleTickMs = Date.now() - tickStarted;
    const idleTickCommands = (await commands(context)) - before;
    const round = (p: number) => Math.round(percentile(samples, p));
    return {
      messages,
      latency: { p50: round(50), p90: round(90), p99: round(99), max: Math.round(Math.max(...samples)) },
      idleTickCommands,
      idleTickMs,
    };
  } finally {
    await stop(child);
    rmSync(`${ROOT}${workFolder}`, { recursive: true, force: true });
  }
}
