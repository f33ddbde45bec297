/**
 * What a new user of the `sluice` CLI meets in the first hour (issue 11): the local stack found
 * without configuration, `stats` without a topic, a mistyped topic, the words of `drain`'s progress,
 * and the small ones (help, replay positions, batch output, batch line errors, two Redis settings).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { freePort, startRedisServer } from '../../dev/redis-server.js';
import { streamKeys } from '../../src/core/keys.js';
import { publishBatch } from '../../src/publish/batch.js';
import { cleanEnv, finished, root, sluice } from '../support/cli-run.js';
import { newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';

// Each test starts a few processes (tsx compiles on the fly): slow on a loaded 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const driver = newDriver();
const scratch = mkdtempSync(join(tmpdir(), 'sluice-cli-first-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** No Redis setting at all: what a user has before configuring anything. */
const UNCONFIGURED = { REDIS_URL: undefined };

/** A project directory whose `.sluice/stack.json` says what is given. */
function projectWithStack(stack: Record<string, unknown>): string {
  const dir = mkdtempSync(join(scratch, 'project-'));
  mkdirSync(join(dir, '.sluice'));
  writeFileSync(join(dir, '.sluice', 'stack.json'), JSON.stringify(stack));
  return dir;
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** The CLI with a terminal for stdout and stderr (util-linux `script`); both come back mixed. */
async function onTerminal(args: readonly string[]): Promise<string> {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args]
    .map(quote)
    .join(' ');
  const child = spawn('script', ['-qec', `${command} < /dev/null`, '/dev/null'], {
    cwd: root,
    env: { ...cleanEnv(), REDIS_URL: redisUrl(), TERM: 'dumb' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = await finished(child);
  expect(run.code).toBe(0);
  return run.stdout;
}

describe('the local stack of npm start', () => {
  it('is used when no Redis is configured, and said so on stderr', async () => {
    const topic = randomTopic('stack');
    await publishBatch(driver, topic, [{ data: 1 }]);
    const cwd = projectWithStack({ pid: process.pid, redisUrl: redisUrl(), topics: [topic] });
    const run = await sluice(['stats', '-t', topic, '--json'], {
      env: UNCONFIGURED,
      cwd: join(cwd, '.sluice'),
    });
    expect(run.stderr).toMatch(/no Redis configured: using the local stack's Redis at redis:\/\/.*pid \d+/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject([{ topic, length: 1 }]);
  });

  it('is not used when its process ended or its Redis does not answer; the error says which', async () => {
    const ended = projectWithStack({ pid: await deadPid(), redisUrl: redisUrl() });
    const silent = projectWithStack({ pid: process.pid, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    const [gone, mute] = await Promise.all([
      sluice(['stats', '-t', 'orders'], { env: UNCONFIGURED, cwd: ended }),
      sluice(['stats', '-t', 'orders'], { env: UNCONFIGURED, cwd: silent }),
    ]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/No Redis configured.*which is not running/);
    expect(mute.code).toBe(2);
    expect(mute.stderr).toMatch(/No Redis configured.*does not answer/);
  });

  it('is not used when the environment names a Redis', async () => {
    const cwd = projectWithStack({ pid: process.pid, redisUrl: 'redis://127.0.0.1:1' });
    const run = await sluice(['stats', '-t', randomTopic('env')], { cwd });
    expect(run.stderr).not.toMatch(/local stack/);
  });
});

describe('stats', () => {
  it('without a topic lists every topic found (a partitioned one once) with its groups', async () => {
    // Its own server: every topic of the run-wide one (other files write odd keys there) would be listed.
    const server = await startRedisServer();
    const own = newDriver(server.url);
    const ownRedis = rawClient(server.url);
    onTestFinished(async () => {
      await own.close();
      await server.stop();
    });
    const plain = randomTopic('found');
    const partitioned = randomTopic('found-p');
    await publishBatch(own, plain, [{ data: 1 }]);
    await ownRedis.xgroup('CREATE', streamKeys({ topic: plain }).stream, 'billing', '0');
    await publishBatch(
      own,
      partitioned,
      ['a', 'b', 'c', 'd'].map((key) => ({ data: key, key })),
      { partitions: 3 },
    );
    const run = await sluice(['stats', '--json'], { env: { REDIS_URL: server.url } });
    expect(run.code).toBe(0);
    const listed = /no --topic given: topics: (.*?)(;|\n)/.exec(run.stderr)?.[1]?.split(', ') ?? [];
    expect(listed).toContain(plain);
    expect(listed.filter((name) => name === partitioned)).toHaveLength(1);
    expect(listed.some((name) => name.includes('#') || name.includes(':'))).toBe(false);
    const stats = JSON.parse(run.stdout) as {
      topic: string;
      partition?: number;
      groups: { name: string }[];
    }[];
    expect(stats.find((s) => s.topic === plain)?.groups.map((g) => g.name)).toEqual(['billing']);
    expect(stats.filter((s) => s.topic === partitioned).map((s) => s.partition)).toEqual([0, 1, 2]);
  });

  it('a mistyped topic exits 2 and names the topics there are', async () => {
    const topic = randomTopic('typo');
    await publishBatch(driver, topic, [{ data: 1 }]);
    const run = await sluice(['stats', '-t', `${topic}x`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no topic "${topic}x"`);
    expect(run.stderr).toMatch(new RegExp(`topics: .*\\b${topic}\\b`));
  });
});

describe('drain', () => {
  it("counts in the report's words: dead letters are not called failures", async () => {
    const topic = randomTopic('words');
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '0', 'MKSTREAM');
    await publishBatch(driver, topic, [{ data: 'poison' }, { data: 'poison' }, { data: 'ok' }]);
    const handler = join(scratch, 'poison.mjs');
    writeFileSync(
      handler,
      `export default async (message) => {
        if (message.data === 'poison') throw Object.assign(new Error('poison'), { permanent: true });
        await new Promise((resolve) => setTimeout(resolve, 150));
      };\n`,
    );
    const output = await onTerminal([
      'drain',
      '-t',
      topic,
      '-g',
      'g',
      '--handler',
      handler,
      '--idle-exit-ms',
      '500',
    ]);
    expect(output).toContain('acked 1, failed 0, deadLettered 2'); // the progress bar
    expect(output).toMatch(/sluice drain: read 3, reclaimed 0, acked 1, failed 0, deadLettered 2/); // the summary
    expect(output).not.toMatch(/failed [1-9]/);
  });
});

describe('small ones', () => {
  it('dlq list --help states the default of --count once', async () => {
    const run = await sluice(['dlq', 'list', '--help']);
    const line = run.stdout.split('\n').find((l) => l.includes('--count')) ?? '';
    expect(line.match(/default/g)).toHaveLength(1);
  });

  it('replay prints positions as ids with their times, never the largest sequence number', async () => {
    const topic = randomTopic('replay');
    const { stream } = streamKeys({ topic });
    const results = await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }]);
    await redis.xgroup('CREATE', stream, 'g', '$');
    const from = new Date(Number(results[0]?.id.split('-')[0])).toISOString();
    const run = await sluice(['replay', '-t', topic, '-g', 'g', '--from', from, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('18446744073709551615');
    expect(run.stdout).toMatch(/from just after \d+-\d+ \(\d{4}-.*Z\) to just before \d+-0 \(\d{4}-.*Z\)/);
  });

  it('publish --batch: ids one per line when piped, a summary on stderr; on a terminal only the summary', async () => {
    const lines = [1, 2, 3].map((n) => JSON.stringify({ data: { orderId: n } })).join('\n');
    const piped = await sluice(['publish', '-t', randomTopic('batch'), '--batch'], { input: lines });
    expect(piped.code).toBe(0);
    expect(piped.stdout.trim().split('\n')).toHaveLength(3);
    expect(piped.stderr).toMatch(/^sluice publish: published 3 of 3 messages to topic \S+ in \d+m?s$/m);

    const file = join(scratch, 'batch.jsonl');
    writeFileSync(file, lines);
    const shown = await onTerminal(['publish', '-t', randomTopic('batch'), '--batch', '--file', file]);
    expect(shown).not.toMatch(/\d{13}-\d+/);
    expect(shown).toMatch(/published 3 of 3 messages to topic \S+ in \d+m?s; ids with --json/);
  });

  it('publish --batch refuses a line without `data` in the words of the publish endpoint', async () => {
    const run = await sluice(['publish', '-t', randomTopic('batch'), '--batch'], {
      input: `${JSON.stringify({ data: 1 })}\n{"orderId":1}\n`,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 2: unknown field "orderId"; allowed: data, key, idempotencyKey');
  });

  it('with REDIS_URL and the Upstash variables both set, says which one it uses', async () => {
    const topic = randomTopic('both');
    await publishBatch(driver, topic, [{ data: 1 }]);
    const run = await sluice(['stats', '-t', topic], {
      env: { UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1', UPSTASH_REDIS_REST_TOKEN: 'x' },
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/both REDIS_URL and UPSTASH_REDIS_REST_URL are set: using REDIS_URL/);
  });
});
