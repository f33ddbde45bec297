/**
 * Starts a private Redis Cluster on loopback ports from the `redis-server` binary, for tests: N
 * masters and R replicas per master, joined with `redis-cli --cluster create`, and waited on by
 * polling every node (no fixed sleeps) until the cluster is usable. Masters can be killed (kill -9)
 * and their failover awaited; a slot can be moved to another master (MOVED for clients with an old
 * slot map). Never touches a shared Redis.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { freePort, type RedisServer, startRedisServer } from './redis-server.js';

export const CLUSTER_SLOTS = 16_384;

/** The hash slot of a key (`{hash tags}` honoured), as Redis Cluster computes it. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

export interface RedisClusterOptions {
  /** @default 3 */
  readonly masters?: number;
  /** Replicas of each master. @default 0 */
  readonly replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before it is failed over. Short in
   * tests that kill masters; keep it long where a busy machine must not fail a master by mistake.
   * @default 1000
   */
  readonly nodeTimeoutMs?: number;
  /** Append-only persistence (`appendfsync always`) on every node. @default false */
  readonly appendOnly?: boolean;
  /** Longest wait for the cluster to form. @default 30000 */
  readonly readyTimeoutMs?: number;
}

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  /** The cluster bus port (`cluster-port`). */
  readonly busPort: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** The node's process: `kill()` (SIGKILL), `restart()` (same port, data and nodes.conf). */
  readonly server: RedisServer;
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node as `host:port`, for a cluster client's startup nodes. */
  readonly seeds: readonly string[];
  /** The node that serves `keyOrSlot` as master now (asked of a live node). */
  masterFor(keyOrSlot: string | number): Promise<ClusterNode>;
  /** The nodes that serve slots now, in slot order. */
  masters(): Promise<ClusterNode[]>;
  /** kill -9 the master of a key, a slot, or the node on a port; resolves with it once it is gone. */
  killMaster(target: string | number): Promise<ClusterNode>;
  /**
   * Resolves with the replica promoted in place of `killed` (a killed master) once every live node
   * reports `cluster_state:ok` and agrees that the promoted node serves the killed master's slots.
   */
  waitForFailover(killed: ClusterNode, timeoutMs?: number): Promise<ClusterNode>;
  /** Resolves once every live node reports `cluster_state:ok` and all agree on the slots. */
  waitUntilStable(timeoutMs?: number): Promise<void>;
  /** Moves `slot` with its keys to the master on `toPort` (MIGRATE), announcing it to every master. */
  moveSlot(slot: number, toPort: number): Promise<void>;
  /** Stops every node and removes their data. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const POLL_MS = 50;

/** One command on a fresh connection to `port`, closed after the answer (an unreachable node rejects). */
export async function ask(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    connectTimeout: 1_000,
  });
  client.on('error', () => {});
  try {
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** `CLUSTER SLOTS` as sorted `start-end:masterPort[:replicaPort…]` lines, to compare what nodes believe. */
async function slotMap(port: number): Promise<string[]> {
  const reply = (await ask(port, 'CLUSTER', 'SLOTS')) as [
    number,
    number,
    [string, number],
    ...[string, number][],
  ][];
  return reply
    .map(([start, end, master, ...replicas]) =>
      [`${start}-${end}`, master[1], ...replicas.map((r) => r[1]).sort((a, b) => a - b)].join(':'),
    )
    .sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
}

/** Master port of `slot` in a slot map from {@link slotMap}. */
function masterPortIn(map: readonly string[], slot: number): number | undefined {
  for (const line of map) {
    const [range, master] = line.split(':');
    const [start, end] = (range ?? '').split('-').map(Number);
    if (start !== undefined && end !== undefined && slot >= start && slot <= end) return Number(master);
  }
  return undefined;
}

function coversAllSlots(map: readonly string[]): boolean {
  let next = 0;
  for (const line of map) {
    const [start, end] = (line.split(':')[0] ?? '').split('-').map(Number);
    if (start !== next || end === undefined) return false;
    next = end + 1;
  }
  return next === CLUSTER_SLOTS;
}

/** Polls `check` every {@link POLL_MS} until it answers something other than undefined. */
async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined) return result;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function runRedisCli(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error('redis-cli is not on PATH: install it (Debian/Ubuntu: apt-get install redis-tools)')
          : error,
      ),
    );
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  const root = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
  const nodes: ClusterNode[] = [];
  const dead = new Set<number>();
  /** Killed master's port → a slot it served, to recognise its successor. */
  const servedBefore = new Map<number, number>();

  const stop = async () => {
    await Promise.allSettled(nodes.map((node) => node.server.stop()));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    const total = masters * (1 + replicasPerMaster);
    const ports = new Set<number>();
    while (ports.size < total * 2) ports.add(await freePort());
    const [...free] = ports;
    const started = await Promise.all(
      Array.from({ length: total }, async (_, i) => {
        const port = free[2 * i] as number;
        const busPort = free[2 * i + 1] as number;
        const dir = join(root, String(port));
        mkdirSync(dir, { recursive: true });
        const server = await startRedisServer({
          port,
          dir,
          appendOnly: options.appendOnly ?? false,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            // A replica's first sync starts at once, not after the default 5 s wait for more replicas.
            '--repl-diskless-sync-delay',
            '0',
          ],
        });
        const node: ClusterNode = {
          host: HOST,
          port,
          busPort,
          url: `redis://${HOST}:${port}`,
          get pid() {
            return server.pid;
          },
          server,
        };
        return node;
      }),
    );
    nodes.push(...started);
    await runRedisCli([
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
  } catch (error) {
    await stop();
    throw error;
  }

  const live = () => nodes.filter((n) => !dead.has(n.port));
  const byPort = (port: number | undefined) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node of this cluster listens on ${port}`);
    return node;
  };

  /** The slot map every live node agrees on (all slots covered, state ok, replicas linked), or undefined. */
  const agreedMap = async (expectReplicas: boolean): Promise<string[] | undefined> => {
    const views = await Promise.all(
      live().map(async (node) => {
        const info = String(await ask(node.port, 'CLUSTER', 'INFO'));
        if (infoField(info, 'cluster_state') !== 'ok') return undefined;
        if (expectReplicas) {
          const replication = String(await ask(node.port, 'INFO', 'replication'));
          if (
            infoField(replication, 'role') === 'slave' &&
            infoField(replication, 'master_link_status') !== 'up'
          )
            return undefined;
        }
        return (await slotMap(node.port)).join('\n');
      }),
    );
    const [first] = views;
    if (first === undefined || views.some((view) => view !== first)) return undefined;
    const map = first.split('\n');
    return coversAllSlots(map) ? map : undefined;
  };

  const waitUntilStable = async (timeoutMs = readyTimeoutMs) => {
    await pollUntil('the cluster did not become stable', timeoutMs, () => agreedMap(replicasPerMaster > 0));
  };

  const currentMap = async (): Promise<string[]> => {
    let last: unknown;
    for (const node of live()) {
      try {
        return await slotMap(node.port);
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`no live node answered CLUSTER SLOTS: ${String(last)}`);
  };

  const masterFor = async (keyOrSlot: string | number) => {
    const slot = typeof keyOrSlot === 'number' ? keyOrSlot : slotOf(keyOrSlot);
    return byPort(masterPortIn(await currentMap(), slot));
  };

  const nodeId = async (port: number) => String(await ask(port, 'CLUSTER', 'MYID'));

  try {
    await waitUntilStable();
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    seeds: nodes.map((n) => `${n.host}:${n.port}`),
    masterFor,
    async masters() {
      const ports = (await currentMap()).map((line) => Number(line.split(':')[1]));
      return [...new Set(ports)].map(byPort);
    },
    waitUntilStable,
    async killMaster(target) {
      const node =
        typeof target === 'number' && nodes.some((n) => n.port === target)
          ? byPort(target)
          : await masterFor(target);
      const served = (await currentMap()).find((line) => Number(line.split(':')[1]) === node.port);
      if (served === undefined) throw new Error(`${node.port} serves no slot: it is not a master`);
      servedBefore.set(node.port, Number(served.split('-')[0]));
      dead.add(node.port);
      await node.server.kill();
      return node;
    },
    async waitForFailover(killed, timeoutMs = readyTimeoutMs) {
      const slot = servedBefore.get(killed.port);
      if (slot === undefined) throw new Error(`${killed.port} was not killed as a master by killMaster`);
      const port = await pollUntil(`no replica of ${killed.port} took over`, timeoutMs, async () => {
        const map = await agreedMap(false);
        const master = map && masterPortIn(map, slot);
        return master === undefined || master === killed.port ? undefined : master;
      });
      return byPort(port);
    },
    async moveSlot(slot, toPort) {
      const from = await masterFor(slot);
      if (from.port === toPort) return;
      const [fromId, toId] = await Promise.all([nodeId(from.port), nodeId(toPort)]);
      await ask(toPort, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
      await ask(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      for (;;) {
        const keys = (await ask(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await ask(from.port, 'MIGRATE', HOST, toPort, '', 0, 5_000, 'KEYS', ...keys);
      }
      // The new owner first, then the old one, then everybody else (as redis-cli does).
      const others = live().filter((n) => n.port !== toPort && n.port !== from.port);
      for (const port of [toPort, from.port, ...others.map((n) => n.port)]) {
        await ask(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId).catch(() => {});
      }
      await pollUntil(`slot ${slot} did not move to ${toPort}`, readyTimeoutMs, async () => {
        const maps = await Promise.all(live().map((n) => slotMap(n.port)));
        return maps.every((map) => masterPortIn(map, slot) === toPort) ? true : undefined;
      });
    },
    stop,
  };
}
