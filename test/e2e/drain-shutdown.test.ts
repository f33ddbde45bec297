/**
 * Graceful shutdown with real signals to real processes: `sluice drain`, a library user's process
 * (`shutdownSignal()`), the Lambda adapter and `npm run drain` in process. A handler running when
 * the signal comes finishes and is acknowledged; what never started is given back with its
 * delivery count restored; a handler outliving the grace is aborted and stays pending; the report
 * says `stoppedBy: "signal"`, and the exit code is 128 + the signal's number.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { DrainReport } from '../../src/consume/report.js';
import { streamKeys } from '../../src/core/keys.js';
import { publishBatch } from '../../src/publish/batch.js';
import { cleanEnv, finished, root, start } from '../support/cli-run.js';
import { newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';
import type { SlowData } from '../support/slow-handler.js';

// Each test starts a tsx process: slow on a loaded 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const driver = newDriver();
const slowHandler = join(root, 'test/support/slow-handler.ts');

/** A topic whose group `g` exists from the start of the stream, holding `messages`; their ids. */
async function arrange(
  messages: readonly (SlowData | { orderId: number })[],
): Promise<{ topic: string; stream: string; ids: string[] }> {
  const topic = randomTopic('shutdown');
  const stream = streamKeys({ topic }).stream;
  await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const published = await publishBatch(
    driver,
    topic,
    messages.map((data) => ({ data })),
  );
  return { topic, stream, ids: published.map((p) => p.id) };
}

/** Resolves once `child` wrote a line matching `pattern` on stderr. */
function stderrLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line === undefined) return;
      child.stderr?.off('data', onData);
      resolve(line);
    };
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before ${pattern}: ${seen}`)));
  });
}

/** The group's pending entries: id → delivery count. */
async function pending(stream: string): Promise<Record<string, number>> {
  const rows = (await redis.xpending(stream, 'g', '-', '+', 100)) as [string, string, number, number][];
  return Object.fromEntries(rows.map(([id, , , deliveries]) => [id, deliveries]));
}

function tsxNode(args: readonly string[], env: Record<string, string | undefined> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function childReport(stdout: string): DrainReport {
  const line = stdout.split('\n').find((l) => l.startsWith('R '));
  if (line === undefined) throw new Error(`no report in ${stdout}`);
  return JSON.parse(line.slice(2)) as DrainReport;
}

describe('sluice drain shuts down on a signal', () => {
  const drainArgs = (topic: string, extra: string[] = []) => [
    'drain',
    '-t',
    topic,
    '-g',
    'g',
    '--handler',
    slowHandler,
    '--no-idle-exit',
    '--budget-ms',
    '40000',
    ...extra,
  ];

  it('SIGTERM: the running handler finishes and is acknowledged, the rest is given back; exit 143', async () => {
    const { topic, stream, ids } = await arrange([{ ms: 1_500 }, { ms: 1 }, { ms: 1 }, { ms: 1 }]);
    const child = start(drainArgs(topic));
    const run = finished(child);
    await stderrLine(child, /^START /);
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(143);
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    const report = JSON.parse(stdout) as DrainReport;
    expect(report).toMatchObject({ stoppedBy: 'signal', read: 4, acked: 1, released: 3, unfinished: 0 });
    expect(stderr.match(/^START /gm)).toHaveLength(1);
    expect(stderr).toContain(`DONE ${ids[0]}`);
    // Back in the group's pending list, their delivery count restored (0: never handled).
    expect(await pending(stream)).toEqual({
      [ids[1] as string]: 0,
      [ids[2] as string]: 0,
      [ids[3] as string]: 0,
    });
  });

  it('a handler that outlives the grace is aborted through its signal and stays pending', async () => {
    const { topic, stream, ids } = await arrange([{ hang: true }, { ms: 1 }]);
    const child = start(drainArgs(topic, ['--shutdown-grace-ms', '300']));
    const run = finished(child);
    await stderrLine(child, /^START /);
    child.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(143);
    expect(stderr).toContain(`ABORTED ${ids[0]}`);
    expect(JSON.parse(stdout)).toMatchObject({ stoppedBy: 'signal', acked: 0, unfinished: 1, released: 1 });
    expect(await pending(stream)).toEqual({ [ids[0] as string]: 1, [ids[1] as string]: 0 });
  });
});

describe('a process of its own with shutdownSignal()', () => {
  const child = (mode: 'library' | 'lambda', topic: string, shutdownGraceMs: number) =>
    tsxNode([
      join(root, 'test/support/shutdown-child.ts'),
      JSON.stringify({ mode, redisUrl: redisUrl(), topic, group: 'g', shutdownGraceMs }),
    ]);

  it('SIGINT: the report says signal, the exit code is 130', async () => {
    const { topic, stream, ids } = await arrange([{ ms: 800 }, { ms: 1 }]);
    const drainer = child('library', topic, 5_000);
    const run = finished(drainer);
    await stderrLine(drainer, /^START /);
    drainer.kill('SIGINT');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(130);
    expect(childReport(stdout)).toMatchObject({ stoppedBy: 'signal', acked: 1, released: 1 });
    expect(await pending(stream)).toEqual({ [ids[1] as string]: 0 });
  });

  it('a second signal ends the process at once, without a report', async () => {
    const { topic } = await arrange([{ hang: true }]);
    const drainer = child('library', topic, 60_000);
    const run = finished(drainer);
    await stderrLine(drainer, /^START /);
    const stopping = stderrLine(drainer, /^STOPPING/);
    drainer.kill('SIGTERM');
    await stopping;
    drainer.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(143);
    expect(stdout).not.toContain('R ');
  });

  it('the Lambda adapter shuts its cycle down on SIGTERM and resolves the report', async () => {
    const { topic, stream, ids } = await arrange([{ ms: 800 }, { ms: 1 }]);
    const drainer = child('lambda', topic, 5_000);
    const run = finished(drainer);
    await stderrLine(drainer, /^START /);
    drainer.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(0);
    expect(childReport(stdout)).toMatchObject({ stoppedBy: 'signal', acked: 1, released: 1 });
    expect(await pending(stream)).toEqual({ [ids[1] as string]: 0 });
  });
});

describe('npm run drain (in this process) shuts down on a signal', () => {
  it('SIGTERM while the cycle waits for messages: the report, then exit 143', async () => {
    const { topic } = await arrange([{ orderId: 1 }]);
    const drainer = tsxNode([join(root, 'scripts/drain-once.ts')], {
      REDIS_URL: redisUrl(),
      SLUICE_TOPIC: topic,
      SLUICE_GROUP: 'g',
      SLUICE_BUDGET_MS: '40000',
      SLUICE_IDLE_EXIT_MS: '40000',
    });
    const run = finished(drainer);
    // The example handler logs each order it processed (on stdout): the cycle is reading by then.
    await new Promise<void>((resolve) =>
      drainer.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('order processed')) resolve();
      }),
    );
    drainer.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(143);
    const lines = stdout.split('\n');
    const report = JSON.parse(lines.slice(lines.lastIndexOf('{')).join('\n')) as DrainReport;
    expect(report).toMatchObject({ stoppedBy: 'signal', acked: 1 });
  });
});
