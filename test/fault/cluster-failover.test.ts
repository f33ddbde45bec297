/**
 * Ordering and loss on a Redis Cluster whose master is killed (kill -9) and failed over to its
 * replica, with real redis-server processes: 3 masters, 1 replica each, a short node timeout.
 *
 * 1. Ordered, replicated, master killed mid-drain: 30 keys publish numbered sequences to a
 *    6-partition topic with `replicas: 1` (acks=all) and an idempotency key per message, retrying
 *    what failed until it is answered; three ordered drain loops (each its own cluster driver, like
 *    separate function instances) record every handler call. A handler of a partition on the victim
 *    master kills that master; publishing and draining go on through the failover, and the killed
 *    node is restarted (it rejoins as the promoted master's replica: until then `replicas: 1`
 *    publishes to its partitions are refused and retried). Then: every answered (partition, id) was
 *    handled; for every key, seq k was first handled after seq k − 1; nothing dead-lettered; no drain
 *    threw or overran its budget, and the one that met the kill ended with `error` and a reason.
 * 2. A drain holding a partition's lease when its master dies, with the replica behind (its link cut
 *    just before, so the lease, the group's reads and its acknowledgements since are lost with the
 *    master — what asynchronous replication allows): the drain ends with `error`, the next one takes
 *    the lease on the promoted replica and hands out again what was lost, in order, losing nothing.
 * 3. A cluster driver whose command timed out while its master was paused serves the next commands
 *    once the master answers again (publishers and drains keep one driver per warm container).
 *
 * Persistence is off (`appendonly no`): durability comes from the replica (`replicas: 1`); a
 * restarted node starts empty and syncs from its new master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode, RedisCluster } from '../../dev/redis-cluster.js';
import { ask, startRedisCluster } from '../../dev/redis-cluster.js';
import { type DrainReport, drain } from '../../src/consume/drain.js';
import type { DrainOptions } from '../../src/consume/options.js';
import type { Driver } from '../../src/core/driver.js';
import type { Message } from '../../src/core/envelope.js';
import { describeError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { partitionForKey, partitionKeys } from '../../src/core/partitions.js';
import { ioredisClusterDriver } from '../../src/drivers/ioredis-cluster.js';
import { publish } from '../../src/publish/publish.js';
import { until } from '../support/fault-kit.js';

const GROUP = 'g';
const NODE_TIMEOUT_MS = 1_000;
const VISIBILITY_MS = 1_000;
const LEASE_MS = 1_000;
const BUDGET_MS = 1_500;
/**
 * Shorter than the default 5 s: a command held up by the failover times out within a drain's short
 * budget, and the driver (one per loop, kept across invocations) must drop its connections and
 * reconnect by itself.
 */
const COMMAND_TIMEOUT_MS = 1_000;
/** A drain invocation may overrun its budget by the settle grace (≤ 1 s) plus scheduling on a busy machine. */
const OVERRUN_MS = 2_000;

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

// ---------------------------------------------------------------------------------------------
// Tools

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A cluster driver of its own, as one function instance (a warm container) has. */
function clusterDriver(): Driver {
  return ioredisClusterDriver([...cluster.seeds], { commandTimeoutMs: COMMAND_TIMEOUT_MS });
}

/** One command, sent to the master that serves `key` now. */
async function onMasterOf(key: string, command: string, ...args: (string | number)[]): Promise<unknown> {
  return ask((await cluster.masterFor(key)).port, command, ...args);
}

function infoField(info: unknown, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(String(info))?.[1]?.trim();
}

function flatField(flat: unknown, name: string): unknown {
  if (!Array.isArray(flat)) return undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** Where a partition's group stands on its current master: settled when nothing is pending or unread. */
async function groupSettled(stream: string): Promise<{ settled: boolean; pending: number; unread: boolean }> {
  const info = (await onMasterOf(stream, 'XINFO', 'STREAM', stream)) as unknown[];
  const groups = (await onMasterOf(stream, 'XINFO', 'GROUPS', stream)) as unknown[][];
  const group = groups.find((g) => flatField(g, 'name') === GROUP);
  if (!group) return { settled: false, pending: -1, unread: true };
  const pending = Number(flatField(group, 'pending'));
  const unread = flatField(group, 'last-delivered-id') !== flatField(info, 'last-generated-id');
  return { settled: pending === 0 && !unread, pending, unread };
}

/** Resolves once `master` has a replica online (what a `replicas: 1` publish waits for). */
async function untilReplicated(master: ClusterNode): Promise<void> {
  await until(
    async () => {
      const info = await ask(master.port, 'INFO', 'replication').catch(() => '');
      return Number(infoField(info, 'connected_slaves') ?? 0) > 0 && /state=online/.test(String(info));
    },
    20_000,
    `a replica of :${master.port} to be online`,
    50,
  );
}

/** `count` key names that all land in partitions of `wanted`, spread evenly over them. */
function keysFor(prefix: string, wanted: readonly number[], partitions: number, count: number): string[] {
  const perPartition = new Map(wanted.map((p) => [p, 0]));
  const keys: string[] = [];
  for (let n = 0; keys.length < count; n++) {
    const key = `${prefix}-${n}`;
    const partition = partitionForKey(key, partitions);
    const taken = perPartition.get(partition);
    if (taken === undefined || taken >= Math.ceil(count / wanted.length)) continue;
    perPartition.set(partition, taken + 1);
    keys.push(key);
  }
  return keys;
}

interface Payload {
  readonly key: string;
  readonly seq: number;
}

/** A publish that was answered: the message is `(partition, id)`. */
interface Answered extends Payload {
  readonly partition: number;
  readonly id: string;
  readonly attempts: number;
  /** When it was answered (ms since the epoch). */
  readonly at: number;
}

/** One handler call; its index in the log is its place in time. */
interface Handling extends Payload {
  readonly partition: number;
  readonly id: string;
  readonly drain: string;
  readonly deliveries: number;
}

const messageName = (partition: number, id: string) => `${partition}/${id}`;

/** Publishes `key`'s seqs `from`…`to − 1` one after the other, each retried until it is answered. */
async function publishSequence(
  driver: Driver,
  topic: string,
  partitions: number,
  key: string,
  seqs: { from: number; to: number },
  log: {
    answered: Answered[];
    failures: Map<string, number>;
    deadline: number;
    paceMs: number;
    /** Set when the test ends early: the loop stops. */
    stopped?: boolean;
  },
): Promise<void> {
  for (let seq = seqs.from; seq < seqs.to && !log.stopped; seq++) {
    for (let attempts = 1; ; attempts++) {
      try {
        const result = await publish<Payload>(
          driver,
          topic,
          { data: { key, seq }, key, idempotencyKey: `${key}:${seq}` },
          { partitions, replicas: 1, replicaTimeoutMs: 500 },
        );
        log.answered.push({
          key,
          seq,
          partition: result.partition as number,
          id: result.id,
          attempts,
          at: Date.now(),
        });
        break;
      } catch (error) {
        const kind = describeError(error).replace(/\d+/g, 'N').slice(0, 100);
        log.failures.set(kind, (log.failures.get(kind) ?? 0) + 1);
        if (log.stopped) return;
        if (Date.now() > log.deadline) {
          throw new Error(`the publish of ${key}:${seq} was not answered after ${attempts} attempts`, {
            cause: error,
          });
        }
        // The back-off of a publisher whose Redis is unavailable (a failover takes a second or two).
        await pause(50);
      }
    }
    if (log.paceMs > 0) await pause(log.paceMs);
  }
}

/** For every key, seq k must first be handled after seq k − 1 was: the violations, described. */
function orderViolations(handlings: readonly Handling[]): string[] {
  const first = new Map<string, number[]>();
  handlings.forEach((h, at) => {
    let seqs = first.get(h.key);
    if (!seqs) {
      seqs = [];
      first.set(h.key, seqs);
    }
    if (seqs[h.seq] === undefined) seqs[h.seq] = at;
  });
  const violations: string[] = [];
  const describe = (at: number) => {
    const h = handlings[at] as Handling;
    return `#${at} (${h.drain}, partition ${h.partition}, id ${h.id}, delivery ${h.deliveries})`;
  };
  for (const [key, seqs] of first) {
    for (let seq = 1; seq < seqs.length; seq++) {
      const at = seqs[seq];
      if (at === undefined) continue;
      const before = seqs[seq - 1];
      if (before === undefined)
        violations.push(`${key}: seq ${seq} handled at ${describe(at)}, seq ${seq - 1} never`);
      else if (before > at)
        violations.push(
          `${key}: seq ${seq} first handled at ${describe(at)}, before seq ${seq - 1} at ${describe(before)}`,
        );
    }
  }
  return violations;
}

/** Answered messages never handled, described. */
function missing(answered: readonly Answered[], handlings: readonly Handling[]): string[] {
  const handled = new Set(handlings.map((h) => messageName(h.partition, h.id)));
  return answered
    .filter((a) => !handled.has(messageName(a.partition, a.id)))
    .map((a) => `${a.key}:${a.seq} = partition ${a.partition} id ${a.id}`);
}

/** Dead letters of every partition, as `partition/id` of their source. */
async function deadLetters(topic: string, partitions: number): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < partitions; i++) {
    const key = partitionKeys(topic, i, partitions).deadLetters(GROUP);
    const entries = (await onMasterOf(key, 'XRANGE', key, '-', '+')) as [string, string[]][];
    for (const [id] of entries) found.push(messageName(i, id));
  }
  return found;
}

interface DrainRun {
  readonly drain: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly report: DrainReport;
}

/**
 * Drain invocations one after the other while `running()`, as a schedule would run them on one
 * function instance: its own driver, reused (a warm container). Every report is kept; a throw is
 * recorded (drain must never throw for Redis failures).
 */
async function drainLoop(
  name: string,
  options: DrainOptions<Payload>,
  log: { runs: DrainRun[]; thrown: string[] },
  running: () => boolean,
): Promise<void> {
  const driver = clusterDriver();
  try {
    while (running()) {
      const startedAt = Date.now();
      try {
        const report = await drain(driver, { ...options, consumerPrefix: name });
        log.runs.push({ drain: name, startedAt, endedAt: Date.now(), report });
        // The schedule's next tick: at once after work, a moment later when there was none to take.
        if (report.stoppedBy === 'leased' || report.stoppedBy === 'error') await pause(50);
      } catch (error) {
        log.thrown.push(`${name}: ${describeError(error)}`);
        await pause(50);
      }
    }
  } finally {
    await driver.close();
  }
}

/** Why invocations ended with `error`: each partition's reason (numbers as N), counted. */
function errorReasons(runs: readonly DrainRun[]): string {
  const reasons = new Map<string, number>();
  for (const { report } of runs) {
    if (report.stoppedBy !== 'error') continue;
    const parts = report.partitions?.filter((p) => p.stoppedBy === 'error') ?? [];
    for (const error of parts.length > 0 ? parts.map((p) => p.error) : [report.error]) {
      const reason = String(error).replace(/\d+/g, 'N');
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  }
  return [...reasons].map(([reason, n]) => `${n}× ${reason}`).join(' | ');
}

/** Runs that took longer than the budget allows, described. */
function overran(runs: readonly DrainRun[], budgetMs: number): string[] {
  return runs
    .filter((r) => r.endedAt - r.startedAt > budgetMs + OVERRUN_MS)
    .map((r) => `${r.drain} ${r.endedAt - r.startedAt} ms ${r.report.stoppedBy}`);
}

// ---------------------------------------------------------------------------------------------

describe('Redis Cluster, a master killed (kill -9) and failed over to its replica', () => {
  it('ordered drains over a replicated partitioned topic: nothing answered is lost, every key stays in order, nothing dead-lettered', async () => {
    const started = Date.now();
    const topic = `failover-${Date.now().toString(36)}`;
    const PARTITIONS = 6;
    const KEYS = 30;
    const SEQS = 60;
    const DRAINS = 3;
    const streams = Array.from({ length: PARTITIONS }, (_, i) => partitionKeys(topic, i, PARTITIONS).stream);
    const partitionOfStream = new Map(streams.map((stream, i) => [stream, i]));

    // The victim: the master of partition 0, and every partition it serves.
    const masters = await Promise.all(streams.map((stream) => cluster.masterFor(stream)));
    const victim = masters[0] as ClusterNode;
    const victimPartitions = masters.flatMap((m, i) => (m.port === victim.port ? [i] : []));
    expect(new Set(masters.map((m) => m.port)).size, 'every master serves partitions').toBe(3);

    const keys = keysFor('key', [...Array(PARTITIONS).keys()], PARTITIONS, KEYS);
    const total = KEYS * SEQS;
    const answered: Answered[] = [];
    const failures = new Map<string, number>();
    const handlings: Handling[] = [];
    const runs: DrainRun[] = [];
    const thrown: string[] = [];
    let killedAt: number | undefined;
    let killing: Promise<ClusterNode> | undefined;
    let running = true;

    const handlerOf =
      (name: string) =>
      async (message: Message<Payload>): Promise<void> => {
        const partition = partitionOfStream.get(message.stream) as number;
        handlings.push({
          ...message.data,
          partition,
          id: message.id,
          drain: name,
          deliveries: message.deliveries,
        });
        // Mid-way, a handler of a partition on the victim kills its master: this drain is mid-batch.
        if (killing === undefined && answered.length >= total / 3 && victimPartitions.includes(partition)) {
          killing = cluster.killMaster(victim.port);
          await killing;
          killedAt = Date.now();
        }
      };

    const drainOptions = (name: string): DrainOptions<Payload> => ({
      topic,
      group: GROUP,
      partitions: PARTITIONS,
      ordered: true,
      maxPartitions: 2,
      startId: '0',
      budgetMs: BUDGET_MS,
      idleExitMs: 500,
      blockMs: 100,
      batchSize: 20,
      visibilityTimeoutMs: VISIBILITY_MS,
      maxRedeliveryDelayMs: VISIBILITY_MS,
      leaseMs: LEASE_MS,
      logger: silentLogger,
      handler: handlerOf(name),
    });

    const publisherDrivers = [0, 1, 2].map(() => clusterDriver());
    const publishLog = { answered, failures, deadline: Date.now() + 30_000, paceMs: 25, stopped: false };
    // Each loop is one function instance: its own driver, reused by its invocations.
    const drains = Array.from({ length: DRAINS }, (_, i) =>
      drainLoop(`drain${i}`, drainOptions(`drain${i}`), { runs, thrown }, () => running),
    );
    let publishing: Promise<unknown> | undefined;
    try {
      publishing = Promise.all(
        keys.map((key, i) =>
          publishSequence(
            publisherDrivers[i % publisherDrivers.length] as Driver,
            topic,
            PARTITIONS,
            key,
            { from: 0, to: SEQS },
            publishLog,
          ),
        ),
      );
      let publishFailed: unknown;
      publishing.catch((error: unknown) => {
        publishFailed = error;
      });
      await until(
        () => {
          if (publishFailed !== undefined) throw publishFailed;
          return killedAt !== undefined;
        },
        20_000,
        'a drain to reach the kill point',
      );
      const answeredAtKill = answered.length;
      const handledAtKill = handlings.length;
      const killed = await (killing as Promise<ClusterNode>);
      const promoted = await cluster.waitForFailover(killed, 20_000);
      const failoverMs = Date.now() - (killedAt as number);
      const answeredAtFailover = answered.length;
      // The promoted replica has no replica of its own: `replicas: 1` publishes to its partitions are
      // refused (ReplicationError) and retried until the failed node, restarted, syncs as its replica.
      await killed.server.restart();
      await untilReplicated(promoted);
      const replicaBackMs = Date.now() - (killedAt as number);
      await publishing;
      const publishedMs = Date.now() - started;

      // Drain until every answered message was handled and every partition's group settled.
      const settling = Date.now();
      try {
        await until(
          async () => {
            if (missing(answered, handlings).length > 0) return false;
            for (const stream of streams) if (!(await groupSettled(stream)).settled) return false;
            return true;
          },
          20_000,
          'every answered message to be handled and every group to settle',
          100,
        );
      } catch (error) {
        const lost = missing(answered, handlings);
        const groups = await Promise.all(
          streams.map(
            async (s, i) => `partition ${i}: ${JSON.stringify(await groupSettled(s).catch(String))}`,
          ),
        );
        throw new Error(
          `${(error as Error).message}: ${lost.length} answered message(s) never handled: ${lost.slice(0, 30).join(', ')}; groups: ${groups.join('; ')}`,
        );
      }
      const settleMs = Date.now() - settling;
      running = false;
      await Promise.all(drains);

      // (a) no loss: every answered (partition, id) was handled at least once.
      expect(answered.length).toBe(total);
      expect(missing(answered, handlings)).toEqual([]);
      // (b) per-key order: seq k first handled after seq k − 1.
      expect(orderViolations(handlings)).toEqual([]);
      // (c) nothing dead-lettered.
      expect(await deadLetters(topic, PARTITIONS)).toEqual([]);
      expect(runs.reduce((n, r) => n + r.report.deadLettered, 0)).toBe(0);
      // (d) no drain threw; those that met the failover said so, with a reason; none overran.
      expect(thrown).toEqual([]);
      const errors = runs.filter((r) => r.report.stoppedBy === 'error');
      expect(errors.filter((r) => !r.report.error)).toEqual([]);
      expect(overran(runs, BUDGET_MS), 'drain invocations past budget + grace').toEqual([]);
      // The kill happened inside a drain's batch: that invocation ended with an error.
      const killedRun = runs.find(
        (r) =>
          r.startedAt <= (killedAt as number) &&
          r.endedAt >= (killedAt as number) &&
          r.report.stoppedBy === 'error',
      );
      expect(killedRun, 'the invocation that met the kill ended with stoppedBy "error"').toBeDefined();
      // Publishing and draining went on after the failover: the victim's partitions got messages
      // answered by the promoted replica (and every one of them was handled, as checked above).
      const failedOverAt = (killedAt as number) + failoverMs;
      const answeredOnVictimAfter = answered.filter(
        (a) => a.at > failedOverAt && victimPartitions.includes(a.partition),
      ).length;
      expect(answeredOnVictimAfter, "answered on the victim's partitions after the failover").toBeGreaterThan(
        0,
      );

      const distinct = new Set(handlings.map((h) => messageName(h.partition, h.id))).size;
      const answeredIds = new Set(answered.map((a) => messageName(a.partition, a.id)));
      const unansweredHandled = new Set(
        handlings
          .filter((h) => !answeredIds.has(messageName(h.partition, h.id)))
          .map((h) => `${h.partition}/${h.id}`),
      ).size;
      const retried = answered.filter((a) => a.attempts > 1).length;
      console.info(
        `cluster failover, ordered + replicated: ${total} messages answered (${retried} after retries; publish failures ${JSON.stringify(Object.fromEntries(failures))}), ` +
          `${handlings.length} handler calls over ${distinct} distinct entries (${handlings.length - distinct} duplicates; ${unansweredHandled} handled entries never answered: written before the kill, then lost with the master or superseded by a retry), ` +
          `lost 0, order violations 0, dead letters 0; killed master :${victim.port} (partitions ${victimPartitions.join(', ')}) at ${answeredAtKill} answered / ${handledAtKill} handled, ` +
          `replica :${promoted.port} took over in ${failoverMs} ms (${answeredAtFailover - answeredAtKill} publishes answered meanwhile, ${answeredOnVictimAfter} on its partitions after), the restarted node replicated it ${replicaBackMs} ms after the kill; ` +
          `${runs.length} drain invocations, ${errors.length} ended with error (${errorReasons(runs)}); ` +
          `publishing done at ${publishedMs} ms, settled ${settleMs} ms later; ${Date.now() - started} ms`,
      );
    } finally {
      running = false;
      publishLog.stopped = true;
      await Promise.allSettled([...drains, publishing]);
      await Promise.allSettled(publisherDrivers.map((d) => d.close()));
    }
  }, 60_000);

  it('a drain holding a partition lease when its master dies, the replica behind: it ends with an error, the lease and the group reads since are lost, the next drain hands them out again in order, nothing lost', async () => {
    const started = Date.now();
    const topic = `lease-${Date.now().toString(36)}`;
    const PARTITIONS = 3;
    const KEYS = 6;
    const SEQS = 30;
    const D1_BUDGET_MS = 8_000;
    await cluster.waitUntilStable();
    const streams = Array.from({ length: PARTITIONS }, (_, i) => partitionKeys(topic, i, PARTITIONS).stream);

    // A partition whose master has a replica online.
    let partition = -1;
    let master: ClusterNode | undefined;
    let replicaPort = 0;
    for (let i = 0; i < PARTITIONS && master === undefined; i++) {
      const node = await cluster.masterFor(streams[i] as string);
      const info = String(await ask(node.port, 'INFO', 'replication'));
      const port = /^slave0:.*port=(\d+),state=online/m.exec(info)?.[1];
      if (port !== undefined) {
        partition = i;
        master = node;
        replicaPort = Number(port);
      }
    }
    if (master === undefined) throw new Error('no partition has a master with a replica online');
    const victim = master;
    const stream = streams[partition] as string;
    const leaseKey = partitionKeys(topic, partition, PARTITIONS).lease(GROUP);

    // Everything is published (and replicated) first: this test is about the drain's state.
    const keys = keysFor('lease', [partition], PARTITIONS, KEYS);
    const answered: Answered[] = [];
    const failures = new Map<string, number>();
    const publisher = clusterDriver();
    try {
      await Promise.all(
        keys.map((key) =>
          publishSequence(
            publisher,
            topic,
            PARTITIONS,
            key,
            { from: 0, to: SEQS },
            { answered, failures, deadline: Date.now() + 20_000, paceMs: 0 },
          ),
        ),
      );
    } finally {
      await publisher.close();
    }
    expect(answered.length).toBe(KEYS * SEQS);
    expect(new Set(answered.map((a) => a.partition))).toEqual(new Set([partition]));

    const handlings: Handling[] = [];
    const byDrain = (name: string) => handlings.filter((h) => h.drain === name).length;
    const record = (name: string, message: Message<Payload>) =>
      handlings.push({
        ...message.data,
        partition,
        id: message.id,
        drain: name,
        deliveries: message.deliveries,
      });
    const base = {
      topic,
      group: GROUP,
      partitions: PARTITIONS,
      assignedPartitions: [partition],
      ordered: true,
      startId: '0' as const,
      batchSize: 10,
      blockMs: 100,
      visibilityTimeoutMs: VISIBILITY_MS,
      maxRedeliveryDelayMs: VISIBILITY_MS,
      leaseMs: LEASE_MS,
      logger: silentLogger,
    };

    // d0 handles the first 40 messages; its reads and acknowledgements reach the replica.
    const d0Driver = clusterDriver();
    const stop0 = new AbortController();
    const d0 = await drain<Payload>(d0Driver, {
      ...base,
      budgetMs: 10_000,
      signal: stop0.signal,
      handler: (message) => {
        record('d0', message);
        if (byDrain('d0') === 40) stop0.abort();
      },
    }).finally(() => d0Driver.close());
    expect(d0.stoppedBy, d0.error).toBe('signal');
    const d0LastId = handlings.at(-1)?.id as string;
    const masterOffset = Number(
      infoField(await ask(victim.port, 'INFO', 'replication'), 'master_repl_offset'),
    );
    await until(
      async () =>
        Number(infoField(await ask(replicaPort, 'INFO', 'replication'), 'slave_repl_offset')) >= masterOffset,
      5_000,
      'the replica to catch up with its master',
    );

    // The replica falls behind: its link is cut and cannot come back (it now sends a password the
    // master does not know), so what the master does from now on dies with it.
    await ask(replicaPort, 'CONFIG', 'SET', 'masterauth', `not-the-password-${Date.now()}`);
    await ask(victim.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    await until(
      async () => infoField(await ask(replicaPort, 'INFO', 'replication'), 'master_link_status') === 'down',
      5_000,
      'the replica link to be down',
    );

    // d1 takes the lease, hands out 30 more messages (acknowledging them on the master only), and is
    // in its handler when the master is killed; the handler ends when the cycle's signal fires.
    const d1Driver = clusterDriver();
    let killing: Promise<ClusterNode> | undefined;
    let killedAt: number | undefined;
    let leaseHolderAtKill: unknown;
    let signalledAt: number | undefined;
    const d1Started = Date.now();
    const d1 = drain<Payload>(d1Driver, {
      ...base,
      budgetMs: D1_BUDGET_MS,
      consumerPrefix: 'd1',
      handler: async (message, { signal }) => {
        record('d1', message);
        if (killing !== undefined || byDrain('d1') <= 30) return;
        leaseHolderAtKill = await ask(victim.port, 'GET', leaseKey);
        killing = cluster.killMaster(victim.port);
        await killing;
        killedAt = Date.now();
        await new Promise((_resolve, reject) => {
          const stop = () => {
            signalledAt = Date.now();
            reject(signal.reason);
          };
          if (signal.aborted) stop();
          signal.addEventListener('abort', stop, { once: true });
        });
      },
    }).finally(() => d1Driver.close());

    const runs: DrainRun[] = [];
    const thrown: string[] = [];
    let running = true;
    let d2: Promise<void> | undefined;
    try {
      await until(() => killedAt !== undefined, 10_000, 'd1 to reach the kill');
      const d1Handled = byDrain('d1');
      const promoted = await cluster.waitForFailover(await (killing as Promise<ClusterNode>), 20_000);
      const failoverMs = Date.now() - (killedAt as number);
      expect(promoted.port, 'the replica whose link was cut took over').toBe(replicaPort);
      // What the promoted replica knows: the group as d0 left it; no lease (unless d1 has already
      // come back for it, which its report below tells).
      const leaseOnPromoted = await ask(promoted.port, 'GET', leaseKey);
      const groups = (await ask(promoted.port, 'XINFO', 'GROUPS', stream)) as unknown[][];
      const lastDelivered = flatField(
        groups.find((g) => flatField(g, 'name') === GROUP),
        'last-delivered-id',
      );

      const d1Report = await d1;
      const d1Ms = Date.now() - d1Started;
      // d2: the next invocations, on the promoted replica.
      d2 = drainLoop(
        'd2',
        {
          ...base,
          budgetMs: BUDGET_MS,
          idleExitMs: 500,
          handler: (message) => {
            record('d2', message);
          },
        },
        { runs, thrown },
        () => running,
      );
      try {
        await until(
          async () => missing(answered, handlings).length === 0 && (await groupSettled(stream)).settled,
          15_000,
          'every answered message to be handled and the group to settle',
          100,
        );
      } catch (error) {
        const lost = missing(answered, handlings);
        throw new Error(
          `${(error as Error).message}: ${lost.length} never handled: ${lost.slice(0, 30).join(', ')}; group ${JSON.stringify(await groupSettled(stream).catch(String))}; d2 runs: ${runs.map((r) => `${r.report.stoppedBy}${r.report.error ? ` (${r.report.error})` : ''}`).join(', ')}`,
        );
      }
      running = false;
      await d2;

      // The scenario: d1 held the lease on the master when it died; the promoted replica had
      // neither the lease nor d1's reads (its group stood where d0 left it).
      expect(String(leaseHolderAtKill), 'the lease holder when the master died').toMatch(/^d1/);
      expect(lastDelivered, "the promoted replica's group stands where d0 left it").toBe(d0LastId);
      // d1 ran into the failover: it ended with an error and a reason, well before its budget.
      expect(d1Report.stoppedBy, JSON.stringify(d1Report)).toBe('error');
      expect(d1Report.error).toBeTruthy();
      expect(d1Ms).toBeLessThan(D1_BUDGET_MS);
      // Nothing lost, per-key order kept, nothing dead-lettered, no drain threw or overran.
      expect(missing(answered, handlings)).toEqual([]);
      expect(orderViolations(handlings)).toEqual([]);
      expect(await deadLetters(topic, PARTITIONS)).toEqual([]);
      expect(thrown).toEqual([]);
      expect(overran(runs, BUDGET_MS), 'd2 invocations past budget + grace').toEqual([]);
      // What d1 handed out was lost with the master: handed out again.
      const distinct = new Set(handlings.map((h) => h.id)).size;
      const duplicates = handlings.length - distinct;
      expect(duplicates).toBeGreaterThanOrEqual(d1Handled);

      console.info(
        `cluster failover, lease holder's master killed: ${answered.length} messages on partition ${partition}; d0 handled 40 (replicated), ` +
          `the replica's link cut, d1 (lease holder ${String(leaseHolderAtKill)}) handled ${d1Handled} and was in its handler at the kill; ` +
          `replica :${promoted.port} took over in ${failoverMs} ms with lease ${leaseOnPromoted === null ? 'lost' : `held by ${String(leaseOnPromoted)}`} and the group at d0's last id; ` +
          `d1's handler was signalled ${signalledAt === undefined ? 'never' : `${signalledAt - (killedAt as number)} ms after the kill`}, d1 ended ${d1Report.stoppedBy} (${d1Report.error}) after ${d1Ms} ms; d2: ${runs.length} invocations (${errorReasons(runs) || 'no errors'}); ` +
          `${handlings.length} handler calls, ${duplicates} duplicates, lost 0, order violations 0, dead letters 0; ${Date.now() - started} ms`,
      );
    } finally {
      running = false;
      await Promise.allSettled([d1, d2]);
    }
  }, 60_000);
});

describe('Redis Cluster, a master paused', () => {
  it('a cluster driver whose command timed out (its master paused, as a manual failover pauses it) serves the next commands once the master answers again', async () => {
    const key = `sluice:{stall-${Date.now().toString(36)}}`;
    const driver = ioredisClusterDriver([...cluster.seeds], { commandTimeoutMs: 500 });
    const get = () => driver.eval("return redis.call('GET', KEYS[1])", [key], []);
    try {
      await driver.eval("return redis.call('SET', KEYS[1], ARGV[1])", [key], ['before']);
      const master = await cluster.masterFor(key);
      // The master answers nobody for 1.5 s (CLUSTER FAILOVER pauses the old master's clients the same way).
      await ask(master.port, 'CLIENT', 'PAUSE', 1_500, 'ALL');
      await expect(get(), 'a command to the paused master times out').rejects.toThrow(/did not answer/);
      await until(
        async () => (await ask(master.port, 'PING').catch(() => '')) === 'PONG',
        5_000,
        'the pause to end',
      );
      // The driver dropped its connections after the timeout; the next commands connect again.
      const outcomes: string[] = [];
      await until(
        async () => {
          try {
            return (await get()) === 'before';
          } catch (error) {
            outcomes.push(describeError(error));
            return false;
          }
        },
        5_000,
        'the driver to answer again',
        0,
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}; its commands failed ${outcomes.length} times: ${[...new Set(outcomes)].join(' | ')}`,
        );
      });
    } finally {
      await driver.close();
    }
  }, 20_000);
});
