/**
 * The `sluice` CLI as a user runs it: a child process (`node --import tsx src/cli/main.ts …`)
 * against the run's redis-server, its output and exit code checked, and Redis state read directly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { partitionCountKey, partitionKeys } from '../../src/core/partitions.js';
import type { DeadLetterPage, ReplayReport, TopicStats } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { finished, type Run, root, sluice, start } from '../support/cli-run.js';
import { clusterNodes, newDriver, randomTopic, rawClient, rawClusterClient } from '../support/fixtures.js';

// Each test starts a few processes (tsx compiles on the fly): slow on a loaded 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const redis = rawClient();
const driver = newDriver();
const scratch = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs many, three at a time: a dozen tsx processes at once would thrash a small machine. */
async function sluiceAll(argsList: readonly (readonly string[])[]): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < argsList.length; i += 3) {
    runs.push(...(await Promise.all(argsList.slice(i, i + 3).map((args) => sluice(args)))));
  }
  return runs;
}

function json<T>(run: Run): T {
  expect(run.stderr).not.toMatch(/^sluice:/m);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function entries(stream: string): Promise<Record<string, string>[]> {
  return (await redis.xrange(stream, '-', '+')).map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
    return record;
  });
}

/**
 * A topic whose group `g` dead-lettered messages 1 and 2 and acknowledged 0 and 3, and whose group
 * `other` read nothing yet.
 */
async function arrange() {
  const topic = randomTopic('cli');
  const keys = streamKeys({ topic });
  for (const g of ['g', 'other']) await redis.xgroup('CREATE', keys.stream, g, '0', 'MKSTREAM');
  const ids = (
    await publishBatch(
      driver,
      topic,
      [0, 1, 2, 3].map((data) => ({ data })),
    )
  ).map((r) => r.id);
  await drain(driver, {
    topic,
    group: 'g',
    budgetMs: 3_000,
    blockMs: 20,
    idleExitMs: 50,
    logger: silentLogger,
    handler: (m: Message<number>) => {
      if (m.data === 1 || m.data === 2) throw new PermanentError(`bad ${m.data}`);
    },
  });
  return { topic, keys, ids };
}

describe('publish', () => {
  it('from an argument, a file (with a key) and stdin; one id per line', async () => {
    const topic = randomTopic('cli');
    const { stream } = streamKeys({ topic });
    const fromArg = await sluice(['publish', '-t', topic, '{"orderId":1}']);
    expect(fromArg.code).toBe(0);
    expect(fromArg.stdout).toMatch(/^\d+-\d+\n$/);

    const file = join(scratch, 'order.json');
    writeFileSync(file, '{"orderId": 2}\n');
    expect((await sluice(['publish', '-t', topic, '--file', file, '--key', 'customer-7'])).code).toBe(0);
    expect((await sluice(['publish', '-t', topic], { input: '"three"' })).code).toBe(0);

    expect(await entries(stream)).toEqual([
      { sluice: '1', data: '{"orderId":1}' },
      { sluice: '1', data: '{"orderId":2}', key: 'customer-7' },
      { sluice: '1', data: '"three"' },
    ]);
  });

  it('to a Redis Cluster, selected by REDIS_CLUSTER_NODES', async () => {
    const topic = randomTopic('cli');
    const env = { REDIS_URL: undefined, REDIS_CLUSTER_NODES: clusterNodes().join(',') };
    const run = await sluice(['publish', '-t', topic, '{"orderId":1}'], { env });
    expect(run.code).toBe(0);
    const [[id, fields]] = (await rawClusterClient().xrange(streamKeys({ topic }).stream, '-', '+')) as [
      [string, string[]],
    ];
    expect(`${id}\n`).toBe(run.stdout);
    expect(fields).toEqual(['sluice', '1', 'data', '{"orderId":1}']);
  });

  it('a batch of JSON lines from stdin; --json prints the results; an idempotency key publishes once', async () => {
    const topic = randomTopic('cli');
    const { stream } = streamKeys({ topic });
    const lines = ['{"data":{"n":1},"key":"a"}', '', '{"data":2,"idempotencyKey":"once"}'];
    const run = await sluice(['publish', '-t', topic, '--batch', '--json'], {
      input: `${lines.join('\n')}\n`,
    });
    const results = json<{ id: string; duplicate: boolean }[]>(run);
    expect(results.map((r) => r.duplicate)).toEqual([false, false]);
    const again = await sluice(['publish', '-t', topic, '--batch', '--json'], {
      input: '{"data":2,"idempotencyKey":"once"}\n',
    });
    expect(json<{ id: string; duplicate: boolean }[]>(again)).toEqual([
      { id: results[1]?.id, duplicate: true },
    ]);
    expect(await entries(stream)).toEqual([
      { sluice: '1', data: '{"n":1}', key: 'a' },
      { sluice: '1', data: '2' },
    ]);
  });

  it('a bad line publishes nothing and names the line (exit 2)', async () => {
    const topic = randomTopic('cli');
    const run = await sluice(['publish', '-t', topic, '--batch'], {
      input: '{"data":1}\n{"data":2}\nnot json\n',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 3');
    expect(await redis.exists(streamKeys({ topic }).stream)).toBe(0);

    const noData = await sluice(['publish', '-t', topic, '--batch'], { input: '{"value":1}\n' });
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/line 1: unknown field "value"; allowed: data, key, idempotencyKey/);
  });
});

describe('drain', () => {
  it('runs one cycle with a handler module and prints the report', async () => {
    const topic = randomTopic('cli');
    const { stream, deadLetters } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await publishBatch(
      driver,
      topic,
      ['ok', 'poison', 'ok'].map((data) => ({ data })),
    );
    const handler = join(scratch, 'handler.mjs');
    writeFileSync(
      handler,
      `export default async (message) => {
        if (message.data === 'poison') throw Object.assign(new Error('poison'), { permanent: true });
      };\n`,
    );
    const run = await sluice([
      'drain',
      '-t',
      topic,
      '-g',
      'g',
      '--handler',
      handler,
      '--idle-exit-ms',
      '100',
    ]);
    const report = json<Record<string, unknown>>(run);
    expect(report).toMatchObject({
      group: 'g',
      read: 3,
      acked: 2,
      deadLettered: 1,
      stoppedBy: 'idle',
      lag: 0,
    });
    expect(await redis.xlen(deadLetters('g'))).toBe(1);
  });

  it('a handler module that cannot be loaded, or exports no handler, is a usage error', async () => {
    const missing = await sluice(['drain', '-t', 'x', '-g', 'g', '--handler', './nowhere.mjs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot load --handler ./nowhere.mjs');
    const empty = join(scratch, 'empty.mjs');
    writeFileSync(empty, 'export const x = 1;\n');
    const none = await sluice(['drain', '-t', 'x', '-g', 'g', '--handler', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exports no function');
  });
});

describe('stats', () => {
  it('--json per topic and group; the table names every group', async () => {
    const { topic } = await arrange();
    const [stats] = json<TopicStats[]>(await sluice(['stats', '-t', topic, '--json']));
    expect(stats).toMatchObject({ topic, exists: true, length: 4 });
    expect(stats?.groups.find((g) => g.name === 'g')).toMatchObject({ lag: 0, pending: 0, deadLetters: 2 });
    expect(stats?.groups.find((g) => g.name === 'other')).toMatchObject({
      lag: 4,
      pending: 0,
      deadLetters: 0,
    });

    const table = await sluice(['stats', '-t', topic]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^TOPIC\s+GROUP\s+LENGTH\s+LAG\s+PENDING\s+OLDEST\s+CONSUMERS\s+DEAD/);
    expect(table.stdout).toMatch(new RegExp(`${topic}\\s+g\\s+4\\s+0\\s+0\\s+-\\s+\\d+\\s+2`));
    expect(table.stdout).toMatch(new RegExp(`${topic}\\s+other\\s+4\\s+4\\s+0`));
  });

  it('--watch refreshes until interrupted', async () => {
    const { topic } = await arrange();
    const child = start(['stats', '-t', topic, '--json', '--watch', '0.2']);
    const done = finished(child);
    let printed = '';
    await new Promise<void>((twice) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        if (printed.split('\n').length > 2) twice();
      });
    });
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect((JSON.parse(line) as TopicStats[])[0]?.length).toBe(4);
  });

  it('over the Upstash REST driver, selected by the environment', async () => {
    const { topic } = await arrange();
    const env = {
      REDIS_URL: undefined,
      UPSTASH_REDIS_REST_URL: inject('restUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('restToken'),
    };
    const [stats] = json<TopicStats[]>(await sluice(['stats', '-t', topic, '--json'], { env }));
    expect(stats?.length).toBe(4);
  });
});

describe('dlq', () => {
  it('list and show', async () => {
    const { topic, ids } = await arrange();
    const page = json<DeadLetterPage>(await sluice(['dlq', 'list', '-t', topic, '-g', 'g', '--json']));
    expect(page.total).toBe(2);
    expect(page.deadLetters.map((d) => [d.data, d.reason, d.sourceId])).toEqual([
      [1, 'permanent', ids[1]],
      [2, 'permanent', ids[2]],
    ]);
    const table = await sluice(['dlq', 'list', '-t', topic, '-g', 'g', '-n', '1']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(page.deadLetters[0]?.id);
    expect(table.stdout).not.toContain(page.deadLetters[1]?.id);
    expect(table.stderr).toContain(`--start '(${page.deadLetters[0]?.id}'`);

    const id = page.deadLetters[1]?.id as string;
    const shown = await sluice(['dlq', 'show', '-t', topic, '-g', 'g', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/reason\s+permanent/);
    expect(shown.stdout).toContain('Error: bad 2');
    const unknown = await sluice(['dlq', 'show', '-t', topic, '-g', 'g', '1-1']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no dead letter 1-1 for group g');
  });

  it('redrive: a dry run changes nothing; the real one re-pends for that group only', async () => {
    const { topic, keys, ids } = await arrange();
    const dry = await sluice(['dlq', 'redrive', '-t', topic, '-g', 'g', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would redrive 2 dead letter/);
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
    expect(await redis.xpending(keys.stream, 'g')).toEqual([0, null, null, null]);

    const real = json<{ redriven: number }>(
      await sluice(['dlq', 'redrive', '-t', topic, '-g', 'g', '--json', '--rate', '100']),
    );
    expect(real.redriven).toBe(2);
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
    const pending = (await redis.xpending(keys.stream, 'g', '-', '+', 10)) as [string][];
    expect(pending.map((p) => p[0])).toEqual([ids[1], ids[2]]);
    expect(await redis.xlen(keys.stream)).toBe(4);
    expect(await redis.xpending(keys.stream, 'other')).toEqual([0, null, null, null]);
  });

  it('redrive exits 1 naming what it could not redrive; an unknown group is refused', async () => {
    const { topic } = await arrange();
    const run = await sluice(['dlq', 'redrive', '-t', topic, '-g', 'g', '--id', '1-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1-1: no such dead letter');
    const nobody = await sluice(['dlq', 'redrive', '-t', topic, '-g', 'nobody']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('has no consumer group "nobody"');
  });

  it('purge by id, and all (which needs --yes without a terminal)', async () => {
    const { topic, keys } = await arrange();
    const [first] = await redis.xrange(keys.deadLetters('g'), '-', '+', 'COUNT', 1);
    const one = await sluice(['dlq', 'purge', '-t', topic, '-g', 'g', '--id', first?.[0] as string]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('deleted 1 dead letter');
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(1);

    const dry = await sluice(['dlq', 'purge', '-t', topic, '-g', 'g', '--all', '--dry-run']);
    expect(dry.stdout).toContain('would delete 1');
    const unconfirmed = await sluice(['dlq', 'purge', '-t', topic, '-g', 'g', '--all']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');
    expect(await redis.xlen(keys.deadLetters('g'))).toBe(1);

    expect((await sluice(['dlq', 'purge', '-t', topic, '-g', 'g', '--all', '--yes'])).code).toBe(0);
    expect(await redis.exists(keys.deadLetters('g'))).toBe(0);
    expect((await sluice(['dlq', 'purge', '-t', topic, '-g', 'g'])).code).toBe(2);
  });
});

describe('replay', () => {
  it('--from an ISO time with --yes moves the group; a dry run and a refusal do not', async () => {
    const stream = `foreign-${randomTopic('cli')}`;
    for (const id of ['1000-0', '2000-0', '2000-1', '3000-0']) await redis.xadd(stream, id, 'at', id);
    await redis.xgroup('CREATE', stream, 'g', '$');
    const lastDelivered = async () => {
      const [g] = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      return g?.[(g?.indexOf('last-delivered-id') ?? 0) + 1];
    };
    const from = new Date(2000).toISOString();
    const args = ['replay', '--stream', stream, '-g', 'g', '--from', from];
    const dry = json<ReplayReport>(await sluice([...args, '--dry-run', '--json']));
    expect(dry).toMatchObject({ dryRun: true, previousLastDeliveredId: '3000-0', entries: 3, exact: true });
    expect(await lastDelivered()).toBe('3000-0');

    const refused = await sluice(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('replay needs confirmation: pass --yes');
    expect(await lastDelivered()).toBe('3000-0');

    const done = await sluice([...args, '--yes']);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(
      'moved from just after 3000-0 (1970-01-01T00:00:03.000Z) to just before 2000-0 (1970-01-01T00:00:02.000Z)',
    );
    expect(done.stdout).toContain('3 of 4 entries from 2000-0 on will be delivered again');
    expect(await lastDelivered()).toBe('1999-18446744073709551615');
    const read = (await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    expect(read[0]?.[1].map(([id]) => id)).toEqual(['2000-0', '2000-1', '3000-0']);
  });

  it('refuses a group that does not exist (exit 1) and a start it cannot read (exit 2)', async () => {
    const { topic } = await arrange();
    const nobody = await sluice(['replay', '-t', topic, '-g', 'nobody', '--from', '0', '--yes']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('has no consumer group "nobody"');
    const bad = await sluice(['replay', '-t', topic, '-g', 'g', '--from', 'yesterday', '--yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from');
  });
});

describe('tail', () => {
  it('prints a message published after it started, without joining a group', async () => {
    const topic = randomTopic('cli');
    const { stream } = streamKeys({ topic });
    await redis.xadd(stream, '*', 'sluice', '1', 'data', '"old"');
    const child = start(['tail', '-t', topic]);
    const done = finished(child);
    let stderr = '';
    await new Promise<void>((ready) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('tailing after')) ready();
      });
    });
    const stdout: string[] = [];
    const printed = new Promise<void>((seen) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout.push(chunk.toString());
        if (stdout.join('').includes('"new"')) seen();
      });
    });
    const id = await redis.xadd(stream, '*', 'sluice', '1', 'data', '{"n":"new"}', 'key', 'k1');
    await printed;
    child.kill('SIGTERM');
    const run = await done;
    expect(run.stdout).toMatch(new RegExp(`^${id} \\S+Z key=k1 \\{"n":"new"\\}\\n$`));
    expect(run.stdout).not.toContain('old');
    expect(run.code).toBe(0);
    expect(await redis.xinfo('GROUPS', stream)).toEqual([]);
  });

  it('--from 0 --limit --json prints the history and stops', async () => {
    const topic = randomTopic('cli');
    await publishBatch(
      driver,
      topic,
      ['a', 'b', 'c'].map((data) => ({ data })),
    );
    const run = await sluice(['tail', '-t', topic, '--from', '0', '--limit', '2', '--json']);
    expect(run.code).toBe(0);
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as Message).data),
    ).toEqual(['a', 'b']);
  });
});

describe('topic', () => {
  it('create records the partition count, show lists the partition streams, another count exits 1', async () => {
    const topic = randomTopic('cli');
    const created = json<{ partitions: number; streams: string[] }>(
      await sluice(['topic', 'create', topic, '--partitions', '4', '--json']),
    );
    expect(created.partitions).toBe(4);
    expect(created.streams).toEqual([0, 1, 2, 3].map((i) => partitionKeys(topic, i, 4).stream));
    const [shown, again, other, bad] = await sluiceAll([
      ['topic', 'show', topic],
      ['topic', 'create', topic, '-p', '4'],
      ['topic', 'create', topic, '-p', '8'],
      ['topic', 'create', topic, '-p', '0'],
    ]);
    expect(shown?.stdout).toContain(`${topic}: 4 partitions`);
    expect(shown?.stdout).toContain(partitionKeys(topic, 3, 4).stream);
    expect(again?.code).toBe(0);
    expect(other).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('has 4 partition(s) recorded in Redis, not 8'),
    });
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--partitions') });
    expect(await redis.get(partitionCountKey(topic))).toBe('4');
  });
});

describe('exit codes and errors', () => {
  it('bad usage or input: 2, with the problem named on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['publish', '-t', 'x', 'hello'], /not JSON/],
      [['stats', '-t', 'bad topic'], /--topic must match/],
      [['dlq', 'list', '-t', 'x', '-g', 'g', '--count', 'many'], /--count/],
      [['dlq', 'list', '-t', 'x'], /missing --group/],
      [['replay', '-t', 'x', '-g', 'g'], /--from/],
      [['stats', '-t', 'x', '--bogus'], /unknown option '--bogus'/],
      [['bogus'], /unknown command 'bogus'/],
      [['dlq'], /Usage: sluice dlq/],
      [['stats', '-t', 'x', '--redis-url', 'http://nope'], /--redis-url must be a redis:\/\//],
    ];
    const runs = await sluiceAll(cases.map(([args]) => args));
    runs.forEach((run, i) => {
      expect({ args: cases[i]?.[0], code: run.code }).toEqual({ args: cases[i]?.[0], code: 2 });
      expect(run.stderr).toMatch(cases[i]?.[1] as RegExp);
    });
  });

  it('no Redis configured: 2, naming the variables', async () => {
    // Away from the checkout, whose `npm start` may be running (the CLI would use it).
    const run = await sluice(['stats', '-t', 'x'], { env: { REDIS_URL: undefined }, cwd: scratch });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('REDIS_URL');
    expect(run.stderr).toContain('--redis-url');
  });

  it('Redis unreachable: 3, saying where, over every driver', async () => {
    const tcp = await sluice(['--redis-url', 'redis://127.0.0.1:1', 'stats', '-t', 'x']);
    expect(tcp.code).toBe(3);
    expect(tcp.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
    const rest = await sluice(['publish', '-t', 'x', '1'], {
      env: {
        REDIS_URL: undefined,
        UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1',
        UPSTASH_REDIS_REST_TOKEN: 't',
      },
    });
    expect(rest.code).toBe(3);
    expect(rest.stderr).toContain('cannot reach the Upstash REST API at http://127.0.0.1:1');
    const cluster = await sluice(['stats', '-t', 'x'], {
      env: { REDIS_URL: undefined, REDIS_CLUSTER_NODES: '127.0.0.1:1' },
    });
    expect(cluster.code).toBe(3);
    expect(cluster.stderr).toContain('cannot reach the Redis Cluster at 127.0.0.1:1');
  });

  it('--help of every command exits 0', async () => {
    const commands = [
      [],
      ['publish'],
      ['drain'],
      ['stats'],
      ['dlq'],
      ['dlq', 'list'],
      ['dlq', 'show'],
      ['dlq', 'redrive'],
      ['dlq', 'purge'],
      ['replay'],
      ['tail'],
      ['topic'],
      ['topic', 'create'],
      ['topic', 'show'],
    ];
    const runs = await sluiceAll(commands.map((c) => [...c, '--help']));
    runs.forEach((run, i) => {
      expect({ command: commands[i], code: run.code }).toEqual({ command: commands[i], code: 0 });
      expect(run.stdout).toMatch(/^Usage: sluice/);
    });
    // The package's bin: the built CLI, or in an unbuilt checkout, the source through tsx.
    const version = await finished(start(['--version'], {}, [join(root, 'bin/sluice.js')]));
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});
