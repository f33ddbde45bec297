/**
 * `npm run drain`: one drain cycle now, and its DrainReport.
 *
 * - With the local stack running (`npm start`, found through `.sluice/dev.env`): invokes the drain
 *   function through serverless offline's Lambda API, so the cycle runs in the same bundle and
 *   environment as the scheduled one, whichever build the stack runs (ioredis, or upstash with
 *   `SLUICE_DRIVER=upstash npm start`).
 * - With REDIS_URL or REDIS_CLUSTER_NODES set in the environment (another Redis or Redis Cluster,
 *   or no running stack): runs the handler of functions/aws/drain.ts in this process.
 * - With UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN set (and SLUICE_DRIVER=upstash, or no
 *   REDIS_URL) for another database, or no running stack: runs the handler of
 *   functions/aws/drain-upstash.ts in this process.
 *
 * The cycle ends as soon as it is caught up (nothing new to read; SLUICE_IDLE_EXIT_MS waits that
 * long for more first), or at SLUICE_BUDGET_MS (default 5000 here). SLUICE_TOPIC and SLUICE_GROUP
 * choose what to drain (default: what the stack drains).
 * Exit code 0 when the cycle ran, 1 when it failed (the function failed, or its report says
 * `stoppedBy: "error"`).
 *
 * SIGTERM or SIGINT (Ctrl-C): in this process, the cycle shuts down gracefully (the Lambda adapter
 * listens while it runs: no more reads, running handlers may finish within the drain's
 * `shutdownGraceMs`, 5 s by default; see docs/operations.md), its report is printed (`stoppedBy: "signal"`) and the exit code is 128 +
 * the signal's number (130 for SIGINT, 143 for SIGTERM); a second signal exits at once. Through the
 * running stack, the signal ends this command only: the invocation it started in serverless offline
 * runs on to its own end (caught up, or its budget), then acknowledges and reports as usual.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../src/cli/local-stack.js';
import { signalExitCode } from '../src/consume/shutdown.js';
import { SluiceError } from '../src/core/errors.js';
import { readEnvFile } from './stack-files.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const envFile = join(root, '.sluice', 'dev.env');
const DEFAULT_BUDGET_MS = 5_000;
/** The drain function's timeout in serverless.yml. */
const FUNCTION_TIMEOUT_MS = 60_000;

function fail(message: string): never {
  console.error(`sluice: ${message}`);
  process.exit(1);
}

function setting(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function budget(): number {
  const value = setting('SLUICE_BUDGET_MS');
  if (value === undefined) return DEFAULT_BUDGET_MS;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > FUNCTION_TIMEOUT_MS - 2_000) {
    fail(
      `SLUICE_BUDGET_MS must be a whole number of milliseconds from 1 to ${FUNCTION_TIMEOUT_MS - 2_000}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** How long the cycle waits for more once it has read everything: 0 unless SLUICE_IDLE_EXIT_MS says. */
function idleExit(): number {
  const value = setting('SLUICE_IDLE_EXIT_MS');
  if (value === undefined) return 0;
  if (!/^\d{1,6}$/.test(value) || Number(value) > FUNCTION_TIMEOUT_MS) {
    fail(
      `SLUICE_IDLE_EXIT_MS must be a whole number of milliseconds from 0 to ${FUNCTION_TIMEOUT_MS}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

function print(report: unknown): void {
  console.log(JSON.stringify(report, null, 2));
}

/**
 * Ends the process: 1 when the cycle stopped on an error (its report says why), 128 + the signal's
 * number when a signal shut it down (`received`), else 0.
 */
function exitWith(report: unknown, received?: NodeJS.Signals): never {
  print(report);
  const stoppedBy = (report as { stoppedBy?: unknown } | null)?.stoppedBy;
  if (stoppedBy === 'signal' && received !== undefined) process.exit(signalExitCode(received));
  if (stoppedBy === 'error') {
    console.error(
      `sluice: the drain cycle stopped on an error: ${(report as { error?: string }).error ?? '?'}`,
    );
    process.exit(1);
  }
  // The function keeps its Redis connection for the next invocation, as on Lambda: end here.
  process.exit(0);
}

/** Through serverless offline's Lambda API (`POST /2015-03-31/functions/{name}/invocations`). */
async function invokeRunningStack(stack: Record<string, string>, budgetMs: number): Promise<never> {
  const name = stack.SLUICE_DRAIN_FUNCTION ?? 'sluice-dev-drain';
  const build = stack.SLUICE_DRIVER ?? 'ioredis';
  const url = `http://${stack.SLUICE_HTTP_HOST ?? 'localhost'}:${stack.SLUICE_LAMBDA_PORT ?? '3002'}/2015-03-31/functions/${name}/invocations`;
  const event: Record<string, unknown> = { budgetMs, idleExitMs: idleExit() };
  const topic = setting('SLUICE_TOPIC');
  const group = setting('SLUICE_GROUP');
  if (topic !== undefined) event.topic = topic;
  if (group !== undefined) event.group = group;
  console.error(`sluice: one drain cycle (budget ${budgetMs} ms, ${build} build) through ${url}`);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(FUNCTION_TIMEOUT_MS + 30_000),
    });
  } catch (error) {
    fail(
      `the local stack does not answer at ${url} (${(error as Error).message}). Is \`npm start\` running?`,
    );
  }
  const text = await response.text();
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // not JSON: print as is
  }
  if (!response.ok || response.headers.get('x-amz-function-error') !== null) {
    console.error(`sluice: the drain function failed (HTTP ${response.status}):`);
    print(payload);
    process.exit(1);
  }
  exitWith(payload);
}

/** A Redis the environment names explicitly, for a drain in this process. */
type Target =
  | { readonly driver: 'ioredis'; readonly redisUrl: string }
  | { readonly driver: 'ioredis-cluster'; readonly clusterNodes: string }
  | { readonly driver: 'upstash'; readonly restUrl: string; readonly restToken: string };

/** What the environment of this command selects, as src/app/config.ts would read it. */
function explicitTarget(): Target | undefined {
  const forced = setting('SLUICE_DRIVER');
  if (forced !== undefined && forced !== 'ioredis' && forced !== 'upstash') {
    fail(`SLUICE_DRIVER must be "ioredis" or "upstash", got ${JSON.stringify(forced)}`);
  }
  const redisUrl = setting('REDIS_URL');
  const clusterNodes = setting('REDIS_CLUSTER_NODES');
  const restUrl = setting('UPSTASH_REDIS_REST_URL');
  const restToken = setting('UPSTASH_REDIS_REST_TOKEN');
  if (forced !== 'upstash' && clusterNodes !== undefined) {
    if (redisUrl !== undefined) fail('REDIS_CLUSTER_NODES and REDIS_URL are both set: set one, not both');
    return { driver: 'ioredis-cluster', clusterNodes };
  }
  if (forced !== 'upstash' && redisUrl !== undefined) return { driver: 'ioredis', redisUrl };
  if (forced !== 'ioredis' && restUrl !== undefined) {
    if (restToken === undefined) fail('UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not');
    return { driver: 'upstash', restUrl, restToken };
  }
  return undefined;
}

/** Whether the running stack already drains `target` (then it is invoked instead). */
function isStackTarget(target: Target, stack: Record<string, string>): boolean {
  if (target.driver === 'ioredis') return target.redisUrl === stack.REDIS_URL;
  if (target.driver === 'ioredis-cluster') return target.clusterNodes === stack.REDIS_CLUSTER_NODES;
  return target.restUrl === stack.UPSTASH_REDIS_REST_URL;
}

/** The drain function's handler of the target's build, in this process, with a fake Lambda context. */
async function runInProcess(target: Target, stack: Record<string, string>, budgetMs: number): Promise<never> {
  if (target.driver === 'ioredis') {
    process.env.SLUICE_DRIVER = 'ioredis';
    process.env.REDIS_URL = target.redisUrl;
  } else if (target.driver === 'ioredis-cluster') {
    process.env.SLUICE_DRIVER = 'ioredis';
    process.env.REDIS_CLUSTER_NODES = target.clusterNodes;
  } else {
    process.env.SLUICE_DRIVER = 'upstash';
    process.env.UPSTASH_REDIS_REST_URL = target.restUrl;
    process.env.UPSTASH_REDIS_REST_TOKEN = target.restToken;
  }
  process.env.SLUICE_BUDGET_MS = String(budgetMs);
  process.env.SLUICE_IDLE_EXIT_MS = String(idleExit());
  for (const name of ['SLUICE_TOPIC', 'SLUICE_GROUP'] as const) {
    const value = stack[name];
    if (setting(name) === undefined && value !== undefined) process.env[name] = value;
  }
  const where =
    target.driver === 'ioredis'
      ? target.redisUrl.replace(/\/\/[^@/]*@/, '//***@')
      : target.driver === 'ioredis-cluster'
        ? `the Redis Cluster at ${target.clusterNodes.replace(/\/\/[^@/]*@/g, '//***@')}`
        : `the Upstash REST API at ${target.restUrl}`;
  console.error(`sluice: one drain cycle (budget ${budgetMs} ms) in this process against ${where}`);
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, recordSignal);
  let report: unknown;
  try {
    // Imported only now: the module reads its configuration from the environment when it loads.
    const { handler } =
      target.driver === 'upstash'
        ? await import('../functions/aws/drain-upstash.js')
        : await import('../functions/aws/drain.js');
    const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
    report = await handler({}, { getRemainingTimeInMillis: () => deadline - Date.now() });
  } catch (error) {
    console.error('sluice: the drain cycle failed:');
    console.error(error instanceof SluiceError ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  } finally {
    stopRecording();
  }
  exitWith(report, received);
}

let received: NodeJS.Signals | undefined;
const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Notes the first SIGTERM or SIGINT (the exit code tells it). The drain's own listener (the Lambda
 * adapter's, while the cycle runs) shuts the cycle down; a signal arriving when no cycle listens
 * has its default effect.
 */
function recordSignal(signal: NodeJS.Signals): void {
  received ??= signal;
  if (process.listenerCount(signal) > 1) return;
  stopRecording();
  process.kill(process.pid, signal);
}

function stopRecording(): void {
  for (const signal of SHUTDOWN_SIGNALS) process.off(signal, recordSignal);
}

async function main(): Promise<void> {
  const budgetMs = budget();
  const stack = readEnvFile(envFile);
  const target = explicitTarget();
  const stackPid = Number(stack.SLUICE_STACK_PID);
  const stackRunning = Number.isInteger(stackPid) && stackPid > 0 && isAlive(stackPid);

  if (target !== undefined && !isStackTarget(target, stack)) await runInProcess(target, stack, budgetMs);
  if (stackRunning) await invokeRunningStack(stack, budgetMs);
  if (target !== undefined) await runInProcess(target, stack, budgetMs);
  fail(
    existsSync(envFile)
      ? 'the local stack is not running: start it with `npm start` (or set REDIS_URL, REDIS_CLUSTER_NODES, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, to drain another Redis).'
      : 'no local stack found (.sluice/dev.env is missing): start it with `npm start`, or set REDIS_URL (or REDIS_CLUSTER_NODES, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN).',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
