/**
 * What reclaiming costs: a backlog of entries another consumer read and left pending (it died),
 * taken over by one drain cycle with a no-op handler. Per reclaimed message: wall time, Redis
 * CPU time of the Redis process (INFO cpu) and commands Redis ran (INFO commandstats: what the cycle
 * sent, and what its scripts ran).
 */
import { drain, silentLogger } from '../src/index.js';
import type { BenchContext } from './lib/context.js';
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

async function reclaimOnce(context: BenchContext, messages: number, batchSize: number) {
  const { topic, stream } = context.topic('reclaim');
  const { admin } = context.servers;
  await fillStream(admin, stream, messages);
  await admin.xgroup('CREATE', stream, 'bench', '0');
  // A consumer that read everything and died: every entry pending, idle past the visibility timeout.
  await admin.xreadgroup('GROUP', 'bench', 'dead', 'COUNT', messages, 'STREAMS', stream, '>');
  const visibilityTimeoutMs = 1_000;
  // Every entry idle long enough: the same IDLE for all, one XCLAIM per chunk of ids.
  const ids = ((await admin.xpending(stream, 'bench', '-', '+', messages)) as [string][]).map((p) => p[0]);
  for (let i = 0; i < ids.length; i += 1_000) {
    await admin.xclaim(
      stream,
      'bench',
      'dead',
      0,
      ...ids.slice(i, i + 1_000),
      'IDLE',
      visibilityTimeoutMs * 2,
      'JUSTID',
    );
  }
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
  return {
    messages,
    batchSize,
    wallUsPerMessage: round(median(wall)),
    redisUsPerMessage: round(median(redis)),
    redisCommandsPerMessage: round(median(calls)),
    samples: { wallUs: wall.map(round), redisUs: redis.map(round) },
  };
}
