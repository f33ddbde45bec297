/**
 * What reclaiming costs: a backlog of entries another consumer read and left pending (it died),
 * taken over by one drain cycle with a no-op handler. Per reclaimed message: wall time, Redis
 * CPU time of the Redis process (INFO cpu) and commands Redis ran (INFO commandstats: what the cycle
 * sent, and what its scripts ran).
 */
import { runScript } from '../src/core/driver.js';
import { streamKeys } from '../src/core/keys.js';
import { RECLAIM } from '../src/core/schedule-scripts.js';
import { drain, silentLogger } from '../src/index.js';
import type { BenchContext } from './lib/context.js';
import { RECLAIM_BEFORE_SCHEDULE } from './lib/reclaim-before.js';
import { fillStream } from './lib/redis-tools.js';
import { median } from './lib/stats.js';

export interface ReclaimResult {
  readonly messages: number;
  readonly batchSize: number;
  /** Medians over the repetitions. */
  readonly wallUsPerMessage: number;
  readonly redisUsPerMessage: number;
  /** Commands Redis ran per message, those run inside scripts included. */
  readonly redisCommandsPerMessage: number;
  readonly samples: { readonly wallUs: number[]; readonly redisUs: number[] };
  /**
   * The reclaim scripts alone, side by side in one run (alternating which goes first): today's
   * (XAUTOCLAIM … JUSTID, the retry schedule, XCLAIM) and the one before the schedule (XPENDING …
   * IDLE, XCLAIM). Redis CPU µs and commands per reclaimed entry, medians.
   */
  readonly scripts: {
    readonly xautoclaim: { readonly redisUs: number; readonly commands: number };
    readonly beforeSchedule: { readonly redisUs: number; readonly commands: number };
    readonly ratio: number;
  };
}

/**
 * Commands Redis ran (INFO commandstats, those inside scripts included; INFO itself left out) and
 * the CPU time the server process used (INFO cpu, µs).
 */
async function serverWork(context: BenchContext): Promise<{ calls: number; usec: number }> {
  const text = `${await context.servers.admin.info('commandstats')}\n${await context.servers.admin.info('cpu')}`;
  let calls = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  const cpu = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
  return { calls, usec: Math.round((cpu('used_cpu_user') + cpu('used_cpu_sys')) * 1e6) };
}

/** A fresh topic whose `messages` entries a dead consumer read: all pending, idle past `visibilityMs`. */
async function abandoned(context: BenchContext, messages: number, visibilityMs: number) {
  const { topic, stream } = context.topic('reclaim');
  const { admin } = context.servers;
  await fillStream(admin, stream, messages);
  await admin.xgroup('CREATE', stream, 'bench', '0');
  await admin.xreadgroup('GROUP', 'bench', 'dead', 'COUNT', messages, 'STREAMS', stream, '>');
  const ids = ((await admin.xpending(stream, 'bench', '-', '+', messages)) as [string][]).map((p) => p[0]);
  for (let i = 0; i < ids.length; i += 1_000) {
    await admin.xclaim(
      stream,
      'bench',
      'dead',
      0,
      ...ids.slice(i, i + 1_000),
      'IDLE',
      visibilityMs * 2,
      'JUSTID',
    );
  }
  return { topic, stream };
}

/** One reclaim script over an abandoned backlog, page after page (no handler): Redis CPU and commands per entry. */
async function scriptOnce(context: BenchContext, messages: number, batchSize: number, before: boolean) {
  const visibilityMs = 1_000;
  const { stream } = await abandoned(context, messages, visibilityMs);
  const keys = streamKeys({ stream });
  const start = await serverWork(context);
  let claimed = 0;
  if (before) {
    for (let cursor = '-'; ; ) {
      const args = ['bench', 'live', visibilityMs, 600_000, cursor, batchSize, batchSize];
      const reply = (await runScript(context.tcp, RECLAIM_BEFORE_SCHEDULE, [stream], args)) as [
        string,
        unknown[],
      ];
      claimed += reply[1].length;
      cursor = reply[0];
      if (cursor === '0') break;
    }
  } else {
    const scripted = [stream, keys.retrySchedule('bench'), keys.scheduled, keys.scheduledMessages];
    for (let cursor = '0-0', first = true; ; first = false) {
      const args = ['bench', 'live', visibilityMs, cursor, batchSize, batchSize, first ? 1_000 : 0];
      const reply = (await runScript(context.tcp, RECLAIM, scripted, args)) as [string, unknown[]];
      claimed += reply[1].length;
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
  }
  const end = await serverWork(context);
  await context.servers.admin.unlink(stream);
  if (claimed !== messages) throw new Error(`a reclaim script claimed ${claimed} of ${messages}`);
  return { redisUs: (end.usec - start.usec) / messages, commands: (end.calls - start.calls) / messages };
}

async function reclaimOnce(context: BenchContext, messages: number, batchSize: number) {
  const visibilityTimeoutMs = 1_000;
  const { topic, stream } = await abandoned(context, messages, visibilityTimeoutMs);
  const { admin } = context.servers;
  const before = await serverWork(context);
  const started = performance.now();
  const report = await drain(context.tcp, {
    topic,
    group: 'bench',
    handler: () => {},
    batchSize,
    visibilityTimeoutMs,
    budgetMs: 60_000,
    idleExitMs: 0,
    logger: silentLogger,
  });
  const wallUs = (performance.now() - started) * 1000;
  const after = await serverWork(context);
  await admin.unlink(stream);
  if (report.reclaimed !== messages || report.acked !== messages)
    throw new Error(`reclaimed ${report.reclaimed} and acked ${report.acked} of ${messages}`);
  return { wallUs, usec: after.usec - before.usec, calls: after.calls - before.calls };
}

export async function benchReclaim(
  context: BenchContext,
  options: { readonly messages: number; readonly batchSize: number; readonly reps: number },
): Promise<ReclaimResult> {
  const { messages, batchSize, reps } = options;
  const wall: number[] = [];
  const redis: number[] = [];
  const calls: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const run = await reclaimOnce(context, messages, batchSize);
    wall.push(run.wallUs / messages);
    redis.push(run.usec / messages);
    calls.push(run.calls / messages);
  }
  const round = (n: number) => Number(n.toFixed(3));
  const now: { redisUs: number; commands: number }[] = [];
  const then: { redisUs: number; commands: number }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const before of rep % 2 === 0 ? [false, true] : [true, false]) {
      (before ? then : now).push(await scriptOnce(context, messages, batchSize, before));
    }
  }
  const figure = (list: { redisUs: number; commands: number }[]) => ({
    redisUs: round(median(list.map((r) => r.redisUs))),
    commands: round(median(list.map((r) => r.commands))),
  });
  const ratios = now.map((r, i) => r.redisUs / (then[i]?.redisUs ?? Number.NaN));
  return {
    messages,
    batchSize,
    wallUsPerMessage: round(median(wall)),
    redisUsPerMessage: round(median(redis)),
    redisCommandsPerMessage: round(median(calls)),
    samples: { wallUs: wall.map(round), redisUs: redis.map(round) },
    scripts: { xautoclaim: figure(now), beforeSchedule: figure(then), ratio: round(median(ratios)) },
  };
}
