/**
 * Partitions on a Redis Cluster: drain throughput of a topic with P = 1, 2, 4, 8 partitions on a
 * local 3-master cluster, drained by P concurrent drain processes (drain i serves partition i:
 * `assignedPartitions: [i]`), against one stream on the single redis-server drained by one process,
 * in the same run: the same messages (orders published with `publishBatch`, keyed by order id, so
 * grouped by partition), the same batch size, the same no-op handler. The setups take turns, in an
 * order rotated (and reversed every other repetition) each time; each figure is the median of the
 * per-repetition ratios to the single stream.
 *
 * Why `assignedPartitions` and not `maxPartitions: 1`: each drain then serves exactly its share, as
 * Kafka's partition assignment would; with `maxPartitions` every drain starts at a random partition,
 * so (unordered, without leases) several may start on one partition while another waits until some
 * drain has emptied its own and moves on — the figure would measure that luck, not the partitions.
 *
 * The drains are child processes (bench/partitions-worker.ts), like separate function invocations:
 * in one Node process their event loop would be the bottleneck. They are forked once and keep their
 * drivers and consumer groups (warm containers). Each layout is filled once before timing; before
 * each run the setup's group is moved back to the start (XGROUP SETID 0). A run is timed from the
 * moment the parent tells the drains to start until the last one has returned: every message
 * acknowledged (a cycle ends at its first empty read).
 *
 * Also measured: ordered draining at the largest P (a lease per partition, one message at a time),
 * the largest P on the single redis-server (is it the cluster that scales, or the processes?), and
 * the largest P drained by one process (every partition side by side in one cycle, labelled so).
 * Where the CPU went during each run: the machine's busy time (/proc/stat), each redis-server's
 * (/proc/<pid>/stat), the drain processes' own (process.cpuUsage in each), and the rest (this
 * process, other users of the machine).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { startRedisCluster } from '../dev/redis-cluster.js';
import { ioredisClusterDriver } from '../src/drivers/ioredis-cluster.js';
import { type Driver, publishBatch } from '../src/index.js';
import { partitionKeys } from '../src/ops/index.js';
import type { BenchContext } from './lib/context.js';
import { deleteKeys, orderPayload } from './lib/redis-tools.js';
import { median, now } from './lib/stats.js';
import type { WorkerReply, WorkerRun } from './partitions-worker.js';

const WORKER = fileURLToPath(new URL('./partitions-worker.ts', import.meta.url));
const MASTERS = 3;

export interface PartitionsPlan {
  readonly messages: number;
  readonly batchSize: number;
  readonly partitions: readonly number[];
  readonly reps: number;
}

/** One configuration measured. */
interface Setup {
  readonly name: string;
  readonly label: string;
  readonly where: 'server' | 'cluster';
  readonly partitions: number;
  /** Drain processes; each serves partition i (or, when 1 with P > 1, every partition). */
  readonly drains: number;
  readonly ordered: boolean;
}

/** Where the CPU went during a run, in cores (CPU seconds per second of the run). */
export interface CpuShare {
  /** Busy time of the whole machine (/proc/stat), all processes. */
  readonly machine: number;
  readonly drains: number;
  readonly redis: number;
  /** This process (it only waits for the drains' answers while they run). */
  readonly parent: number;
  /** Busy time of nothing measured here: the REST server, the kernel's own threads, other users of the machine. */
  readonly other: number;
  /** CPU of the drain processes per message, µs. */
  readonly drainUsPerMessage: number;
  /** CPU of the redis-servers per message, µs. */
  readonly redisUsPerMessage: number;
}

export interface PartitionsRow {
  readonly name: string;
  readonly label: string;
  readonly where: 'server' | 'cluster';
  readonly partitions: number;
  readonly drains: number;
  readonly ordered: boolean;
  /** Median messages per second (all messages ÷ time until the last drain returned). */
  readonly perSecond: number;
  /** Median of the per-repetition ratios to the single stream on the single redis-server. */
  readonly ratio: number;
  readonly samples: number[];
  /** Medians over the repetitions. */
  readonly cpu: CpuShare;
  /** Median, over the repetitions, of the slowest drain's cycle ÷ the fastest's (1 = even). */
  readonly drainSpread: number;
}

export interface PartitionsResult {
  readonly messages: number;
  readonly batchSize: number;
  readonly reps: number;
  readonly masters: number;
  readonly cores: number;
  readonly rows: PartitionsRow[];
  /** Median of ordered ÷ unordered at the largest P, per repetition. */
  readonly orderedRatio: number;
  /** Partitions per master (largest first) of each partitioned topic on the cluster. */
  readonly placement: Record<string, string>;
  /** publishBatch throughput while pre-filling, median per target. */
  readonly fillPerSecond: { readonly server: number; readonly cluster: number };
}

interface Worker {
  readonly child: ChildProcess;
  /** Resolves with the next reply. */
  next(): Promise<WorkerReply>;
}

function forkWorker(serverUrl: string, seeds: readonly string[]): Promise<Worker> {
  const child = fork(WORKER, [serverUrl, seeds.join(',')], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: { resolve(reply: WorkerReply): void; reject(error: Error): void }[] = [];
  child.on('message', (reply: WorkerReply) => waiting.shift()?.resolve(reply));
  child.once('exit', (code, signal) => {
    const error = new Error(`drain worker ${child.pid} exited (${code ?? signal})`);
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  });
  const worker: Worker = {
    child,
    next: () => new Promise<WorkerReply>((resolve, reject) => waiting.push({ resolve, reject })),
  };
  return worker.next().then(() => worker);
}

function stopWorker(worker: Worker): Promise<void> {
  const { child } = worker;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    if (child.connected) child.send({ type: 'exit' });
    else child.kill('SIGTERM');
  });
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): utime is the 14th field.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((sum, v) => sum + v, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Publishes `messages` orders to `topic` in batches of 5,000, two batches in flight. */
async function fill(driver: Driver, topic: string, partitions: number, messages: number): Promise<number> {
  const started = now();
  const batch = 5_000;
  let next = 0;
  const publisher = async () => {
    while (next < messages) {
      const from = next;
      next = Math.min(messages, next + batch);
      const orders = [];
      for (let k = from; k < next; k++) orders.push({ data: orderPayload(k), key: `order-${k}` });
      await publishBatch(driver, topic, orders, { partitions });
    }
  };
  await Promise.all([publisher(), publisher()]);
  return (messages / (now() - started)) * 1000;
}

function setupsOf(partitions: readonly number[]): Setup[] {
  const largest = Math.max(...partitions);
  return [
    {
      name: 'server-1',
      label: 'one stream, single redis-server',
      where: 'server',
      partitions: 1,
      drains: 1,
      ordered: false,
    },
    ...partitions.map(
      (p): Setup => ({
        name: `cluster-${p}`,
        label: p === 1 ? 'one stream, cluster' : `${p} partitions, cluster`,
        where: 'cluster',
        partitions: p,
        drains: p,
        ordered: false,
      }),
    ),
    {
      name: `cluster-${largest}-ordered`,
      label: `${largest} partitions, cluster, ordered`,
      where: 'cluster',
      partitions: largest,
      drains: largest,
      ordered: true,
    },
    {
      name: `server-${largest}`,
      label: `${largest} partitions, single redis-server`,
      where: 'server',
      partitions: largest,
      drains: largest,
      ordered: false,
    },
    {
      name: `cluster-${largest}-one-process`,
      label: `${largest} partitions, cluster, all in one drain process`,
      where: 'cluster',
      partitions: largest,
      drains: 1,
      ordered: false,
    },
  ];
}

interface Sample {
  readonly perSecond: number;
  readonly cpu: CpuShare;
  readonly spread: number;
}

export async function benchPartitions(
  context: BenchContext,
  plan: PartitionsPlan,
): Promise<PartitionsResult> {
  const { servers } = context;
  context.log(`  starting a ${MASTERS}-master Redis Cluster …`);
  // A long node timeout: on a saturated machine a late cluster-bus ping must not fail a master.
  const cluster = await startRedisCluster({ masters: MASTERS, replicasPerMaster: 0, nodeTimeoutMs: 30_000 });
  const workers: Worker[] = [];
  const fillDriver = ioredisClusterDriver(cluster.seeds);
  /** A plain cluster client for XGROUP SETID (it follows MOVED to the stream's master). */
  const admin = new Cluster([...cluster.seeds], { lazyConnect: true });
  const stopAll = async () => {
    await Promise.allSettled(workers.map(stopWorker));
    await fillDriver.close();
    admin.disconnect();
    await cluster.stop();
  };
  const untrack = servers.adopt(stopAll);
  try {
    const largest = Math.max(...plan.partitions);
    context.log(`  forking ${largest} drain processes …`);
    workers.push(
      ...(await Promise.all(
        Array.from({ length: largest }, () => forkWorker(servers.redis.url, cluster.seeds)),
      )),
    );
    const redisPids = {
      server: () => [servers.redis.pid],
      cluster: () => cluster.nodes.map((node) => node.pid),
    };
    const setups = setupsOf(plan.partitions);
    // Every layout is filled once and drained again by each run (the retention, an hour by default,
    // keeps acknowledged entries: nothing is trimmed meanwhile).
    const layouts = new Map<string, { topic: string; fillPerSecond: number; placement?: string }>();
    for (const setup of setups) {
      const layout = `${setup.where}-${setup.partitions}`;
      if (layouts.has(layout)) continue;
      const topic = `bench-partitions-${layout}-${Date.now().toString(36)}`;
      const driver = setup.where === 'server' ? context.tcp : fillDriver;
      const fillPerSecond = await fill(driver, topic, setup.partitions, plan.messages);
      let placement: string | undefined;
      if (setup.where === 'cluster' && setup.partitions > 1) {
        const perMaster = new Map<number, number>(cluster.nodes.map((node) => [node.port, 0]));
        for (let i = 0; i < setup.partitions; i++) {
          const master = await cluster.masterFor(partitionKeys(topic, i, setup.partitions).stream);
          perMaster.set(master.port, (perMaster.get(master.port) ?? 0) + 1);
        }
        placement = [...perMaster.values()].sort((a, b) => b - a).join('/');
      }
      layouts.set(layout, { topic, fillPerSecond, ...(placement === undefined ? {} : { placement }) });
      context.log(
        `  filled ${layout}: ${(fillPerSecond / 1000).toFixed(0)}k msg/s${placement ? `, partitions per master ${placement}` : ''}`,
      );
    }
    // Each setup keeps its consumer group, as a deployment does: the drains find it existing (created
    // in the warm-up round), and before each run the group is moved back to the start of every
    // partition (XGROUP SETID 0), so that it reads the whole backlog again.
    const drained = new Set<string>();
    const rewind = async (setup: Setup, topic: string, group: string) => {
      if (!drained.has(setup.name)) {
        drained.add(setup.name);
        return;
      }
      for (let i = 0; i < setup.partitions; i++) {
        const stream = partitionKeys(topic, i, setup.partitions).stream;
        if (setup.where === 'server') await servers.admin.xgroup('SETID', stream, group, '0');
        else await admin.xgroup('SETID', stream, group, '0');
      }
    };

    const runOnce = async (setup: Setup): Promise<Sample> => {
      const { topic } = layouts.get(`${setup.where}-${setup.partitions}`) as { topic: string };
      const group = `bench-${setup.name}`;
      await rewind(setup, topic, group);
      const pids = redisPids[setup.where]();
      const redisBefore = pids.map(processCpuSeconds);
      const machineBefore = machineTicks();
      const parentBefore = process.cpuUsage();
      const started = now();
      const replies = workers.slice(0, setup.drains).map((worker, i) => {
        const reply = worker.next();
        const run: WorkerRun = {
          type: 'run',
          target: setup.where,
          topic,
          group,
          batchSize: plan.batchSize,
          partitions: setup.partitions,
          ordered: setup.ordered,
          ...(setup.partitions > 1 && setup.drains > 1 ? { assignedPartitions: [i] } : {}),
        };
        worker.child.send(run);
        return reply;
      });
      const done = await Promise.all(replies);
      const ms = now() - started;
      const parentUsed = process.cpuUsage(parentBefore);
      const machineAfter = machineTicks();
      const redisSeconds = pids
        .map(processCpuSeconds)
        .reduce((sum, s, i) => sum + s - (redisBefore[i] ?? 0), 0);

      let acked = 0;
      let drainUs = 0;
      const cycleMs: number[] = [];
      for (const reply of done) {
        if (reply.type !== 'done') throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
        if (reply.stoppedBy === 'error') throw new Error(`${setup.name}: a drain failed: ${reply.error}`);
        acked += reply.acked;
        drainUs += reply.cpuUs;
        cycleMs.push(reply.ms);
      }
      const messages = plan.messages;
      if (acked !== messages) throw new Error(`${setup.name}: acknowledged ${acked} of ${messages} messages`);

      const seconds = ms / 1000;
      const ticks = machineAfter.total - machineBefore.total;
      const machine = ticks > 0 ? ((machineAfter.busy - machineBefore.busy) / ticks) * cpus().length : 0;
      const drains = drainUs / 1e6 / seconds;
      const redis = redisSeconds / seconds;
      const parent = (parentUsed.user + parentUsed.system) / 1e6 / seconds;
      return {
        perSecond: (messages / ms) * 1000,
        spread: Math.max(...cycleMs) / Math.min(...cycleMs),
        cpu: {
          machine,
          drains,
          redis,
          parent,
          other: Math.max(0, machine - drains - redis - parent),
          drainUsPerMessage: drainUs / messages,
          redisUsPerMessage: (redisSeconds * 1e6) / messages,
        },
      };
    };

    context.log('  warm-up round (JIT, connections, scripts on every master) …');
    for (const setup of setups) await runOnce(setup);

    const samples = new Map<string, Sample[]>(setups.map((s) => [s.name, []]));
    for (let rep = 0; rep < plan.reps; rep++) {
      // Rotate the order each repetition, and reverse it every other one, so that a slow moment of
      // the machine (or what the previous run left behind) hits every setup alike.
      const order = setups.map((_, i) => setups[(rep + i) % setups.length] as Setup);
      if (rep % 2 === 1) order.reverse();
      for (const setup of order) samples.get(setup.name)?.push(await runOnce(setup));
      const line = setups
        .map((s) => `${s.name} ${((samples.get(s.name)?.[rep]?.perSecond ?? 0) / 1000).toFixed(0)}k`)
        .join(', ');
      context.log(`  rep ${rep + 1}/${plan.reps}: ${line} msg/s`);
    }

    const baseline = samples.get('server-1') as Sample[];
    const perRepRatio = (name: string, to: readonly Sample[]) =>
      median((samples.get(name) as Sample[]).map((s, i) => s.perSecond / (to[i] as Sample).perSecond));
    const cpuMedian = (list: readonly Sample[]): CpuShare => {
      const pick = (key: keyof CpuShare) => median(list.map((s) => s.cpu[key]));
      return {
        machine: pick('machine'),
        drains: pick('drains'),
        redis: pick('redis'),
        parent: pick('parent'),
        other: pick('other'),
        drainUsPerMessage: pick('drainUsPerMessage'),
        redisUsPerMessage: pick('redisUsPerMessage'),
      };
    };
    const rows: PartitionsRow[] = setups.map((setup) => {
      const list = samples.get(setup.name) as Sample[];
      return {
        ...setup,
        perSecond: median(list.map((s) => s.perSecond)),
        ratio: perRepRatio(setup.name, baseline),
        samples: list.map((s) => Math.round(s.perSecond)),
        cpu: cpuMedian(list),
        drainSpread: median(list.map((s) => s.spread)),
      };
    });
    const layoutList = [...layouts].map(([name, l]) => ({ name, ...l }));
    const placement = Object.fromEntries(
      layoutList.filter((l) => l.placement !== undefined).map((l) => [l.name, l.placement as string]),
    );
    const fills = (where: Setup['where']) =>
      median(layoutList.filter((l) => l.name.startsWith(where)).map((l) => l.fillPerSecond));
    return {
      messages: plan.messages,
      batchSize: plan.batchSize,
      reps: plan.reps,
      masters: MASTERS,
      cores: cpus().length,
      rows,
      orderedRatio: perRepRatio(`cluster-${largest}-ordered`, samples.get(`cluster-${largest}`) as Sample[]),
      placement,
      fillPerSecond: { server: fills('server'), cluster: fills('cluster') },
    };
  } finally {
    untrack();
    await stopAll();
    await deleteKeys(servers.admin, 'sluice:{bench-partitions-*');
  }
}
