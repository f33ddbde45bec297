/**
 * One-off drains as a user starts them: `npm run drain` (scripts/drain-once.ts) in this process
 * against the run's redis-server, and the Lambda drain module with a configuration it cannot load.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { lambdaDrainHandler } from '../../src/adapters/aws-lambda.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import { cleanEnv, finished, type Run, root } from '../support/cli-run.js';
import { lambdaContext, newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const driver = newDriver();
const tsx = ['--import', 'tsx'];

function node(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  const child = spawn(process.execPath, [...tsx, ...args], {
    cwd: root,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child);
}

/** `npm run drain` against the test's Redis (in this process: the running stack, if any, is not it). */
function drainOnce(topic: string, env: Record<string, string> = {}): Promise<Run> {
  return node([join(root, 'scripts/drain-once.ts')], {
    REDIS_URL: redisUrl(),
    SLUICE_TOPIC: topic,
    SLUICE_GROUP: 'g',
    ...env,
  });
}

/** The report printed at the end (indented JSON), after the function's own log lines. */
function reportOf(run: Run): Record<string, unknown> {
  const lines = run.stdout.split('\n');
  return JSON.parse(lines.slice(lines.lastIndexOf('{')).join('\n')) as Record<string, unknown>;
}

describe('npm run drain', () => {
  it('ends when it is caught up, not at its budget', async () => {
    const topic = randomTopic('once');
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '0', 'MKSTREAM');
    await publishBatch(
      driver,
      topic,
      [1, 2, 3].map((n) => ({ data: { orderId: n } })),
    );
    const run = await drainOnce(topic, { SLUICE_BUDGET_MS: '30000' });
    expect(run.code).toBe(0);
    const report = reportOf(run);
    expect(report).toMatchObject({ read: 3, stoppedBy: 'idle' });
    expect(report.durationMs).toBeLessThan(10_000);
  });

  it('exits 1 when the cycle stopped on an error', async () => {
    const topic = randomTopic('once-bad');
    await redis.set(streamKeys({ topic }).stream, 'not a stream');
    const run = await drainOnce(topic);
    expect(reportOf(run)).toMatchObject({ stoppedBy: 'error' });
    expect(run.stderr).toMatch(/the drain cycle stopped on an error: .*WRONGTYPE/);
    expect(run.code).toBe(1);
  });
});

describe('the Lambda drain function', () => {
  it('takes `idleExitMs` from its event: 0 ends the cycle once it is caught up', async () => {
    const topic = randomTopic('event-idle');
    const handler = lambdaDrainHandler({
      driver,
      topic,
      group: 'g',
      handler: async () => {},
      logger: silentLogger,
      metrics: false,
    });
    const report = await handler({ budgetMs: 20_000, idleExitMs: 0 }, lambdaContext(30_000));
    expect(report.stoppedBy).toBe('idle');
    expect(report.durationMs).toBeLessThan(10_000);
  });

  it('loads with a bad configuration and fails its invocation with the message', async () => {
    const script = `
      const { handler } = await import(${JSON.stringify(join(root, 'functions/aws/drain.ts'))});
      console.log('loaded');
      await handler({}, { getRemainingTimeInMillis: () => 5000 }).then(
        () => console.log('ran'),
        (error) => console.log('failed:', error.name, error.message),
      );`;
    const run = await node(['--input-type=module', '-e', script], {
      REDIS_URL: redisUrl(),
      SLUICE_MAX_DELIVERIES: 'many',
    });
    expect(run.stdout).toMatch(/^loaded\nfailed: ConfigurationError .*SLUICE_MAX_DELIVERIES/);
    expect(run.code).toBe(0);
  });
});
