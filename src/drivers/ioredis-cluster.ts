/**
 * The ioredis driver for Redis Cluster. Every command sluice sends names keys of one slot only (a
 * topic's keys share a `{hash tag}`), so each goes to the master of that slot; EVAL and EVALSHA
 * are routed by their first key. Redirections (MOVED, ASK) and the slot map after a failover are
 * ioredis's job; this driver adds what the single-node one gives: errors normalised, commands that
 * break mid-flight failed and never sent again, a command timeout, sockets that let a local process
 * exit when idle.
 *
 * @example
 * ```ts
 * import { ioredisClusterDriver } from 'sluice/ioredis';
 * // At module scope: the connections are created once per warm container and reused.
 * const driver = ioredisClusterDriver(['10.0.0.1:6379', '10.0.0.2:6379', '10.0.0.3:6379']);
 * ```
 */
import { Cluster, type ClusterOptions, Command, type Redis, type RedisOptions } from 'ioredis';
import type { Driver } from '../core/driver.js';
import { InvalidOptionError, RedisUnavailableError } from '../core/errors.js';
import { parseClusterNodes } from './cluster-nodes.js';
import { authFailure, connectionError, type Where } from './connection-errors.js';
import {
  afterEvent,
  type Call,
  type CallTogether,
  commandRunner,
  commandTimeoutOf,
  type Holdable,
  isReplyError,
  streamOperations,
} from './ioredis-commands.js';

/** Options of each node connection. */
const NODE_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  connectTimeout: 5_000,
  maxRetriesPerRequest: 1,
  enableAutoPipelining: false,
  // A command whose connection broke failed: never sent again (a repeated XADD would publish twice).
  autoResendUnfulfilledCommands: false,
});

/**
 * Defaults that suit short-lived functions and a failover of a few seconds: during a failover
 * commands fail fast as unavailable (the cycle ends with `error`, nothing is lost, the next cycle
 * goes on) instead of waiting for the cluster to heal.
 */
export const IOREDIS_CLUSTER_DEFAULTS: Readonly<ClusterOptions> = Object.freeze({
  /** Connect on the first command, not when the module loads. */
  lazyConnect: true,
  /** Every command to the slot's master: a replica may not have the latest writes (nor take them). */
  scaleReads: 'master',
  /** Redirections (MOVED, ASK, retries after CLUSTERDOWN / TRYAGAIN) one command may follow. */
  maxRedirections: 16,
  retryDelayOnMoved: 0,
  /**
   * Never: a command whose node connection closed may have run, and sending it again could publish
   * twice. It fails as unavailable; the slot map is refreshed by the next MOVED.
   */
  retryDelayOnFailover: 0,
  /**
   * CLUSTERDOWN and TRYAGAIN mean the command did not run: retried after this, up to
   * `maxRedirections` times (1.6 s in all), well inside the command timeout.
   */
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  /** Longest wait for CLUSTER SLOTS from one node. */
  slotsRefreshTimeout: 1_000,
  /**
   * No reconnection in the background (no timer keeps a local process alive): when no node could
   * be reached, the queued commands fail and the next command connects again.
   */
  clusterRetryStrategy: () => null,
  enableOfflineQueue: true,
  enableAutoPipelining: false,
  redisOptions: NODE_DEFAULTS,
});

export interface IoredisClusterDriverOptions {
  /**
   * Longest wait for a command's answer, beyond its BLOCK (or WAIT) time, redirections included.
   * Past it the command fails and the driver drops its node connections (a stalled or
   * black-holed socket is not reused): the next command opens new ones.
   * @default 5000
   */
  readonly commandTimeoutMs?: number;
  /**
   * Extra ioredis `Cluster` options, merged over {@link IOREDIS_CLUSTER_DEFAULTS} (`redisOptions`
   * merged over its `redisOptions`).
   */
  readonly clusterOptions?: ClusterOptions;
}

function clusterFrom(nodes: readonly string[], options: IoredisClusterDriverOptions): Cluster {
  if (!Array.isArray(nodes)) {
    throw new InvalidOptionError(
      'nodes',
      'ioredisClusterDriver needs a list of host:port (or redis:// URLs) or an ioredis Cluster',
    );
  }
  const seeds = parseClusterNodes(nodes);
  if (typeof seeds === 'string') throw new InvalidOptionError('nodes', `ioredisClusterDriver: ${seeds}`);
  const { redisOptions, ...clusterOptions } = options.clusterOptions ?? {};
  return new Cluster(
    seeds.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      ...IOREDIS_CLUSTER_DEFAULTS,
      // With TLS, connect to nodes by the names they have (certificates name hosts, not addresses).
      ...(seeds.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      ...clusterOptions,
      redisOptions: {
        ...NODE_DEFAULTS,
        ...(seeds.username === undefined ? {} : { username: seeds.username }),
        ...(seeds.password === undefined ? {} : { password: seeds.password }),
        ...(seeds.tls ? { tls: {} } : {}),
        ...redisOptions,
      },
    },
  );
}

/** Whether `node`'s connection opens (or is open): false when it fails, or is closing or closed. */
function opened(node: Redis): Promise<boolean> {
  if (node.status === 'ready') return Promise.resolve(true);
  if (node.status === 'wait') {
    return node.connect().then(
      () => true,
      () => false,
    );
  }
  if (node.status !== 'connecting' && node.status !== 'connect') return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (outcome: boolean) => () => {
      node.off('ready', ready);
      node.off('close', closed);
      resolve(outcome);
    };
    const ready = settle(true);
    const closed = settle(false);
    node.once('ready', ready);
    node.once('close', closed);
  });
}

/**
 * A driver over an ioredis `Cluster`. Give it seed nodes — `host:port` or `redis://` / `rediss://`
 * URLs; the driver owns and closes the connections — or an existing `Cluster` (you own it and its
 * options; `close()` leaves it open).
 */
export function ioredisClusterDriver(
  target: readonly string[] | Cluster,
  options: IoredisClusterDriverOptions = {},
): Driver {
  const commandTimeoutMs = commandTimeoutOf(options.commandTimeoutMs);
  const owned = !(target instanceof Cluster);
  const cluster = target instanceof Cluster ? target : clusterFrom(target, options);
  let closed = false;
  if (owned) {
    // Failures surface on the commands that fail; without a listener ioredis prints them as unhandled.
    cluster.on('error', () => {});
    cluster.on('node error', () => {});
  }

  // Why a node connection last failed (closed port, unknown host, refused password), named by its
  // address: what the commands that fail meanwhile report.
  const seeds = (cluster as unknown as { startupNodes?: { host?: string; port?: number }[] }).startupNodes;
  const where: Where = {
    address: (seeds ?? []).map((n) => `${n.host}:${n.port}`).join(', ') || 'the cluster',
  };
  let lastNodeFailure: Error | undefined;
  cluster.on('node error', (error: unknown, address: unknown) => {
    lastNodeFailure = connectionError({ address: String(address) }, error) ?? lastNodeFailure;
  });
  cluster.on('ready', () => {
    lastNodeFailure = undefined;
  });

  const socketOf = (node: Redis) => (node as unknown as { stream?: Holdable }).stream;
  const runner = commandRunner(
    {
      owned,
      sockets: () => cluster.nodes('all').map(socketOf),
      // Every node connection is dropped at once (destroyed: a graceful close would wait for a node
      // that answers nobody); the next command to a slot opens a new one, following a MOVED if the
      // slot moved meanwhile. The cluster client itself stays up, with its slot map.
      reset: () =>
        Promise.all(
          cluster.nodes('all').map((node) => {
            const socket = socketOf(node) as (Holdable & { destroy?(): void }) | undefined;
            if (node.status === 'end' || socket?.destroy === undefined) return Promise.resolve();
            return afterEvent(node, 'end', () => socket.destroy?.());
          }),
        ).then(() => {}),
      explain: (error) => {
        if (isReplyError(error)) return authFailure(where, error);
        if (error === undefined) return cluster.status === 'ready' ? undefined : lastNodeFailure;
        const lastNodeError = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError;
        return connectionError(where, lastNodeError ?? error) ?? lastNodeFailure;
      },
      beforeCommand: () => {
        // The cluster ends when no node could be reached (it does not retry in the background).
        if (owned && !closed && cluster.status === 'end') cluster.connect().catch(() => {});
      },
    },
    commandTimeoutMs,
  );
  // A node connection opened while nothing is under way (late after a timeout) must not hold the process.
  if (owned) {
    cluster.on('+node', (node: Redis) => node.on('connect', () => runner.idle && socketOf(node)?.unref?.()));
  }

  /** The connection to the master that serves `key`'s slot, as the cluster routes that key's commands. */
  const masterConnection = (key: string): Redis | undefined => {
    const slot = new Command('exists', [key], { keyPrefix: cluster.options.keyPrefix }).getSlot();
    const nodeKey = cluster.slots[slot]?.[0];
    if (nodeKey === undefined) return undefined;
    return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
  };

  /**
   * Opens the connection that `key`'s command will take before the command is sent. When it cannot
   * be opened (the master died and the slot map still names it, as after a failover) the driver
   * reloads the slot map first, so that the command goes where the slot is served now instead of
   * into a dead connection. Nothing is sent twice: once sent, a command whose connection breaks fails.
   */
  const connectRoute = async (key: string): Promise<void> => {
    if (cluster.status !== 'ready') return; // ioredis holds commands until the slot map is loaded
    const node = masterConnection(key);
    if (node === undefined || node.status === 'ready' || (await opened(node))) return;
    await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  };

  const call: Call = (command, args, key, waitMs) =>
    runner.run(
      command,
      async () => {
        await connectRoute(key);
        return cluster.call(command, ...args);
      },
      waitMs,
    );

  // Commands sent together share their key's slot: one node, one after the other on its connection.
  const together: CallTogether = (commands, key, waitMs) =>
    runner.run(
      commands.map(([command]) => command).join('+'),
      async () => {
        await connectRoute(key);
        return Promise.all(commands.map(([command, args]) => cluster.call(command, ...args)));
      },
      waitMs,
    );

  return {
    name: 'ioredis-cluster',
    capabilities: { blocking: true, ackWithRead: true },
    ...streamOperations(call, together),
    // ioredis finds no key in XGROUP, so it would send it to any master (and follow a MOVED, and
    // reload the slot map): as a script its key is explicit and it goes straight to its slot.
    // An error reply inside a script keeps its code (BUSYGROUP).
    waitForReplicas: (key, replicas, timeoutMs) =>
      runner.run(
        'WAIT',
        async () => {
          // WAIT counts the writes of its own connection: send it on the connection that carried
          // the key's write, which the caller has just made. No such connection any more (its
          // master dropped, maybe failed over): WAIT on a fresh one would count nothing and answer
          // at once, so replication cannot be confirmed.
          const node = masterConnection(key);
          if (node === undefined || node.status !== 'ready') {
            throw new RedisUnavailableError(
              `the connection that wrote ${JSON.stringify(key)} is gone: its replication cannot be confirmed`,
            );
          }
          return node.call('WAIT', replicas, timeoutMs);
        },
        timeoutMs,
      ),
    async close() {
      if (!owned || closed) return;
      closed = true;
      if (cluster.status === 'end' || cluster.status === 'wait') {
        cluster.disconnect();
        return;
      }
      // Hold the process open until every node answered QUIT.
      await runner.holding(async () => {
        try {
          await cluster.quit();
        } catch {
          cluster.disconnect();
        }
      });
    },
  };
}
