/**
 * One drain process of the `partitions` section (bench/partitions.ts forks several, like separate
 * function invocations): it holds a driver for the single redis-server and one for the cluster,
 * built once like a warm container's, and runs the drain cycles the parent asks for over IPC,
 * answering with what was acknowledged, how long the cycle took and the CPU time this process spent.
 *
 *   argv[2] = the redis-server URL, argv[3] = the cluster's seed nodes (comma-separated).
 */
import { ioredisDriver } from '../src/drivers/ioredis.js';
import { ioredisClusterDriver } from '../src/drivers/ioredis-cluster.js';
import { drain, silentLogger } from '../src/index.js';

/** What the parent asks: one drain cycle. */
export interface WorkerRun {
  readonly type: 'run';
  readonly target: 'server' | 'cluster';
  readonly topic: string;
  /** The setup's group (the parent moves it back to the start of the backlog before each run). */
  readonly group: string;
  readonly batchSize: number;
  /** The topic's partition count (1: a plain topic). */
  readonly partitions: number;
  /** This drain's share; unset: every partition of the topic (side by side in this one process). */
  readonly assignedPartitions?: readonly number[];
  readonly ordered: boolean;
}

/** What a worker answers. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly acked: number;
      readonly ms: number;
      /** CPU time (user + system) this process spent in the cycle, µs. */
      readonly cpuUs: number;
      readonly stoppedBy: string;
      readonly error?: string;
    };

const noop = async () => {};

async function main(): Promise<void> {
  const [serverUrl, seeds] = process.argv.slice(2);
  if (!serverUrl || !seeds || !process.send) throw new Error('usage: forked with <redis-url> <seed,seed,…>');
  const drivers = {
    server: ioredisDriver(serverUrl),
    cluster: ioredisClusterDriver(seeds.split(',')),
  };
  const reply = (message: WorkerReply) => process.send?.(message);
  // Told to exit, or the parent gone: close the connections and end.
  process.on('disconnect', () => {
    void Promise.allSettled([drivers.server.close(), drivers.cluster.close()]).then(() => process.exit(0));
  });
  process.on('message', (message: WorkerRun | { readonly type: 'exit' }) => {
    if (message.type === 'exit') {
      process.disconnect?.();
      return;
    }
    void (async () => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const report = await drain(drivers[message.target], {
        topic: message.topic,
        group: message.group,
        startId: '0',
        idleExitMs: 0,
        budgetMs: 600_000,
        batchSize: message.batchSize,
        handler: noop,
        logger: silentLogger,
        ordered: message.ordered,
        ...(message.partitions > 1 ? { partitions: message.partitions } : {}),
        ...(message.assignedPartitions ? { assignedPartitions: message.assignedPartitions } : {}),
      });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      reply({
        type: 'done',
        acked: report.acked,
        ms,
        cpuUs: used.user + used.system,
        stoppedBy: report.stoppedBy,
        ...(report.error === undefined ? {} : { error: report.error }),
      });
    })();
  });
  reply({ type: 'ready' });
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
