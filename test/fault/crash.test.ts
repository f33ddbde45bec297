/**
 * Crash safety: a process draining is killed with SIGKILL mid-batch, a later cycle after the
 * visibility timeout finishes the work; every published message was processed at least once and
 * none was acknowledged unprocessed.
 *
 * The drain runs in child processes (test/support/drain-child.ts) whose handler records each
 * processed id with an awaited `RPUSH` on the test's log key before returning. "None acknowledged
 * unprocessed" is checked two ways:
 * - exhaustively, with a MONITOR connection: Redis reports every command in execution order, so
 *   each XACK of the group (scripts included) must come after an RPUSH of that id to the log;
 * - by state, sampled during the run and at every kill: an id the group has delivered (≤ its
 *   last-delivered-id) and no longer holds pending was acknowledged, so it must be in the log
 *   read *after* the pending list (processing is recorded before acknowledging, so the order of
 *   the two reads makes the check sound).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { drain } from '../../src/core/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/core/publish.js';
import type { DrainChildConfig } from '../support/drain-child.js';
import { monitorCommands } from '../support/fault-kit.js';
import { dropTopic, newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../support/drain-child.ts', import.meta.url));
const VISIBILITY_MS = 500;
/** High enough that no healthy message is dead-lettered however often it is caught in a kill. */
const MAX_DELIVERIES = 20;

const driver = newDriver();
const redis = rawClient();

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  readonly proc: ChildProcess;
  /** `P` lines seen so far (messages whose processing the child recorded). */
  processed: number;
  readonly lines: string[];
  stderr: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Resolves with the first line (already seen or to come) matching; rejects if the child exits first or on timeout. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

const live = new Set<Child>();

function spawnChild(config: DrainChildConfig, onLine?: (line: string, child: Child) => void): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const waiters = new Set<(line: string) => void>();
  const child: Child = {
    proc,
    processed: 0,
    lines: [],
    stderr: '',
    exit,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exit;
    },
    waitForLine(match, timeoutMs) {
      const seen = child.lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const done = (error: Error | undefined, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(line as string);
        };
        const check = (line: string) => {
          if (match(line)) done(undefined, line);
        };
        const timer = setTimeout(
          () =>
            done(
              new Error(`no matching line from the child after ${timeoutMs} ms; stderr:\n${child.stderr}`),
            ),
          timeoutMs,
        );
        waiters.add(check);
        void exit.then(({ code, signal }) =>
          done(
            new Error(`the child exited (${code ?? signal}) before the line came; stderr:\n${child.stderr}`),
          ),
        );
      });
    },
  };
  live.add(child);
  void exit.then(() => live.delete(child));
  let buffered = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      child.lines.push(line);
      if (line.startsWith('P ')) child.processed++;
      onLine?.(line, child);
      for (const waiter of [...waiters]) waiter(line);
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    child.stderr += chunk;
  });
  return child;
}

// ---------------------------------------------------------------------------------------------
// Redis state

/** Compares stream ids `<ms>-<seq>` numerically. */
function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

function field(flat: unknown[], name: string): unknown {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

interface GroupState {
  lastDeliveredId: string;
  /** Entries the group has read (Redis 7 `entries-read`). */
  entriesRead: number | null;
  lag: number | null;
  pending: Map<string, { consumer: string; idleMs: number; deliveries: number }>;
}

/** The group's last-delivered id and its whole pending list, read in one atomic step. */
async function groupState(stream: string, group: string): Promise<GroupState> {
  const replies = await redis
    .multi()
    .xinfo('GROUPS', stream)
    .xpending(stream, group, '-', '+', 100_000)
    .exec();
  if (!replies) throw new Error('MULTI aborted');
  for (const [error] of replies) if (error) throw error;
  const groups = replies[0]?.[1] as unknown[][];
  const info = groups.find((g) => field(g, 'name') === group);
  if (!info) throw new Error(`no group ${group} on ${stream}`);
  const pendingList = replies[1]?.[1] as [string, string, number, number][];
  const entriesRead = field(info, 'entries-read');
  const lag = field(info, 'lag');
  return {
    lastDeliveredId: String(field(info, 'last-delivered-id')),
    entriesRead: typeof entriesRead === 'number' ? entriesRead : null,
    lag: typeof lag === 'number' ? lag : null,
    pending: new Map(
      pendingList.map(([id, consumer, idleMs, deliveries]) => [id, { consumer, idleMs, deliveries }]),
    ),
  };
}

/** How many times each id was recorded as processed. */
async function processedCounts(logKey: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const id of await redis.lrange(logKey, 0, -1)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * State check of "none acknowledged unprocessed": every published id at or below the group's
 * last-delivered id that is not pending was acknowledged, and must already be in the log. The log is
 * read after the group state, and processing is recorded before acknowledging: sound. Returns the ids
 * that break it and how many acknowledged ids were checked.
 */
async function ackedButUnprocessed(
  stream: string,
  group: string,
  logKey: string,
  published: readonly string[],
): Promise<{ violations: string[]; acked: number; state: GroupState; processed: Map<string, number> }> {
  const state = await groupState(stream, group);
  const processed = await processedCounts(logKey);
  const violations: string[] = [];
  let acked = 0;
  for (const id of published) {
    if (compareIds(id, state.lastDeliveredId) > 0) break; // published ids are in stream order
    if (state.pending.has(id)) continue;
    acked++;
    if (!processed.has(id)) violations.push(id);
  }
  return { violations, acked, state, processed };
}

/**
 * Watches every command Redis runs (MONITOR), in execution order: the ids RPUSHed to the log, and
 * every XACK of the group, with the acknowledged ids that had not been logged before.
 */
async function watchAcks(stream: string, group: string, logKey: string) {
  const logged = new Set<string>();
  const acked = new Set<string>();
  const ackedUnlogged: string[] = [];
  let xackCommands = 0;
  const sentinels = new Map<string, () => void>();
  // A plain-socket MONITOR (see monitorCommands): ioredis's monitor() can break on a busy server.
  const monitor = await monitorCommands(redisUrl(), (args) => {
    const command = args[0]?.toLowerCase();
    if (command === 'rpush' && args[1] === logKey) {
      for (const id of args.slice(2)) logged.add(id);
    } else if (command === 'xack' && args[1] === stream && args[2] === group) {
      xackCommands++;
      for (const id of args.slice(3)) {
        acked.add(id);
        if (!logged.has(id)) ackedUnlogged.push(id);
      }
    } else if (command === 'echo' && args[1] !== undefined) {
      sentinels.get(args[1])?.();
    }
  });
  return {
    logged,
    acked,
    ackedUnlogged,
    get xackCommands() {
      return xackCommands;
    },
    /** Resolves once MONITOR has reported everything Redis ran before this call. */
    async flush(): Promise<void> {
      const token = `sluice-crash-sentinel-${randomUUID()}`;
      const seen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('MONITOR did not report the sentinel')), 5_000);
        sentinels.set(token, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await redis.echo(token);
      await seen;
    },
    close() {
      monitor.close();
    },
  };
}

/** Polls `condition` every `intervalMs` until it holds; throws after `timeoutMs`. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs in-process drain cycles (same recording handler) until the group has no lag and nothing pending. */
async function finishInProcess(
  topic: string,
  group: string,
  logKey: string,
  seen: Map<string, number[]>,
  timeoutMs: number,
) {
  const end = Date.now() + timeoutMs;
  let cycles = 0;
  const totals = { read: 0, reclaimed: 0, acked: 0, deadLettered: 0, lostToTrim: 0 };
  for (;;) {
    const report = await drain(driver, {
      topic,
      group,
      startId: '0',
      concurrency: 4,
      batchSize: 100,
      blockMs: 50,
      idleExitMs: 150,
      budgetMs: 5_000,
      visibilityTimeoutMs: VISIBILITY_MS,
      maxDeliveries: MAX_DELIVERIES,
      logger: silentLogger,
      handler: async (message) => {
        await redis.rpush(logKey, message.id);
        const deliveries = seen.get(message.id) ?? [];
        deliveries.push(message.deliveries);
        seen.set(message.id, deliveries);
      },
    });
    cycles++;
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += report[k];
    if (report.stoppedBy === 'error') throw new Error(`final drain cycle failed: ${report.error}`);
    if (report.lag === 0 && report.pending === 0) return { cycles, ...totals };
    if (Date.now() > end)
      throw new Error(`the group still has work after ${timeoutMs} ms: ${JSON.stringify(report)}`);
    // What is left is pending on a killed consumer and not yet past its visibility timeout: wait for that, not longer.
    if (report.lag === 0) {
      const stream = streamKeys({ topic }).stream;
      await until(
        async () =>
          [...(await groupState(stream, group)).pending.values()].some((p) => p.idleMs >= VISIBILITY_MS),
        VISIBILITY_MS * 4,
        'a pending entry to pass the visibility timeout',
      );
    }
  }
}

async function deadLetterCount(topic: string, group: string): Promise<number> {
  const key = streamKeys({ topic }).deadLetters(group);
  return (await redis.exists(key)) ? redis.xlen(key) : 0;
}

// ---------------------------------------------------------------------------------------------

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  await Promise.allSettled([...live].map((child) => child.kill()));
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => {});
});

/** A random topic with its group created at `0` before anything is published; its keys are dropped after the test. */
async function arrange() {
  const topic = randomTopic('crash');
  const group = `g-${randomUUID().slice(0, 8)}`;
  const keys = streamKeys({ topic });
  // Under the topic's hash tag, so that dropTopic removes it too.
  const logKey = `${keys.stream}:test-processed:${randomUUID().slice(0, 8)}`;
  cleanups.push(() => dropTopic(redis, topic));
  await redis.xgroup('CREATE', keys.stream, group, '0', 'MKSTREAM');
  return { topic, group, stream: keys.stream, logKey };
}

async function publishMany(topic: string, count: number, data: (n: number) => unknown): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const chunk = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({ data: data(start + i) }));
    ids.push(...(await publishBatch(driver, topic, chunk)).map((r) => r.id));
  }
  return ids;
}

describe('crash: SIGKILL while draining', () => {
  it('kills draining children mid-batch again and again; later cycles finish: every message processed, none acknowledged unprocessed', async () => {
    const started = Date.now();
    const MESSAGES = 2_000;
    const KILLS = 5;
    const { topic, group, stream, logKey } = await arrange();
    const watch = await watchAcks(stream, group, logKey);
    cleanups.push(() => watch.close());
    const published = await publishMany(topic, MESSAGES, (n) => ({ n }));
    expect(new Set(published).size).toBe(MESSAGES);

    // State samples taken all through the kill phase, not only when it is quiet.
    const sampleViolations: string[] = [];
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { violations } = await ackedButUnprocessed(stream, group, logKey, published);
        sampleViolations.push(...violations);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const kills: {
      concurrency: number;
      batchSize: number;
      reclaimFirst: boolean;
      after: number;
      pending: number;
      processedUnacked: number;
    }[] = [];
    const lostAtKills = new Set<string>();
    const settings = [
      { concurrency: 1, batchSize: 50, reclaimFirst: false },
      { concurrency: 8, batchSize: 100, reclaimFirst: false },
      { concurrency: 1, batchSize: 20, reclaimFirst: true },
      { concurrency: 4, batchSize: 64, reclaimFirst: false },
      { concurrency: 16, batchSize: 100, reclaimFirst: true },
    ];
    try {
      for (let k = 0; k < KILLS; k++) {
        const { concurrency, batchSize, reclaimFirst } = settings[
          k % settings.length
        ] as (typeof settings)[number];
        if (reclaimFirst) {
          // Let what earlier kills left pending pass the visibility timeout: this child starts by
          // reclaiming it, and may well be killed while handling reclaimed messages.
          await until(
            async () =>
              [...(await groupState(stream, group)).pending.values()].some((p) => p.idleMs >= VISIBILITY_MS),
            VISIBILITY_MS * 4,
            'a pending entry to pass the visibility timeout',
          );
        }
        // Leave enough undelivered messages that the child is always busy when the kill comes.
        const lag = (await groupState(stream, group)).lag ?? 0;
        const after = randomInt(10, Math.max(11, Math.min(250, lag - 100)));
        const child = spawnChild(
          {
            url: redisUrl(),
            topic,
            group,
            logKey,
            concurrency,
            batchSize,
            visibilityTimeoutMs: VISIBILITY_MS,
            maxDeliveries: MAX_DELIVERIES,
            budgetMs: 20_000,
            blockMs: 100,
            idleExitMs: 5_000,
            workMs: 2,
          },
          (_line, self) => {
            // Killed the moment its `after`-th recorded message is reported: somewhere inside a batch.
            if (self.processed === after) self.proc.kill('SIGKILL');
          },
        );
        const { signal, code } = await child.exit;
        if (signal !== 'SIGKILL') {
          throw new Error(`child ${k} exited by itself (${code}) before the kill; stderr:\n${child.stderr}`);
        }
        const check = await ackedButUnprocessed(stream, group, logKey, published);
        sampleViolations.push(...check.violations);
        const processedUnacked = [...check.state.pending.keys()].filter((id) => check.processed.has(id));
        for (const id of processedUnacked) lostAtKills.add(id);
        kills.push({
          concurrency,
          batchSize,
          reclaimFirst,
          after,
          pending: check.state.pending.size,
          processedUnacked: processedUnacked.length,
        });
      }
    } finally {
      sampling = false;
      await sampler;
    }

    // A later cycle, after the visibility timeout, finishes the work.
    const seen = new Map<string, number[]>();
    const final = await finishInProcess(topic, group, logKey, seen, 20_000);

    const state = await groupState(stream, group);
    expect(state.pending.size).toBe(0);
    expect(state.lag).toBe(0);
    expect(compareIds(state.lastDeliveredId, published[published.length - 1] as string)).toBe(0);

    // Every published message was processed at least once; nothing else was.
    const processed = await processedCounts(logKey);
    const missing = published.filter((id) => !processed.has(id));
    expect(missing).toEqual([]);
    expect(processed.size).toBe(MESSAGES);

    // None acknowledged unprocessed: every XACK Redis ran came after the id was logged; sampled states agree.
    await watch.flush();
    expect(watch.ackedUnlogged).toEqual([]);
    expect(sampleViolations).toEqual([]);
    expect(watch.acked.size).toBe(MESSAGES); // the MONITOR check saw every acknowledgement: it is not vacuous
    expect(samples).toBeGreaterThan(0);

    // The kills did hit mid-batch (processed, not yet acknowledged), and that work was done again.
    expect(kills).toHaveLength(KILLS);
    expect(lostAtKills.size).toBeGreaterThan(0);
    for (const id of lostAtKills) expect(processed.get(id)).toBeGreaterThanOrEqual(2);
    // Reclaimed messages come back with their delivery count raised.
    for (const [id, deliveries] of seen)
      if (lostAtKills.has(id)) expect(Math.max(...deliveries)).toBeGreaterThanOrEqual(2);

    // No healthy message was dead-lettered.
    expect(await deadLetterCount(topic, group)).toBe(0);
    expect(final.deadLettered).toBe(0);
    expect(final.lostToTrim).toBe(0);

    const processings = [...processed.values()].reduce((a, b) => a + b, 0);
    const consumersLeft = ((await redis.xinfo('CONSUMERS', stream, group)) as unknown[]).length;
    console.log(
      `crash test: ${MESSAGES} messages, ${KILLS} SIGKILLs survived ` +
        `(${kills.map((k) => `after ${k.after} at c=${k.concurrency}/b=${k.batchSize}${k.reclaimFirst ? '/reclaiming' : ''}: ${k.processedUnacked} processed-unacked of ${k.pending} pending`).join('; ')}), ` +
        `final: ${final.cycles} cycle(s) read ${final.read} reclaimed ${final.reclaimed}; ` +
        `${processings} processings, ${processings - MESSAGES} duplicates, ${lostAtKills.size} ids redone after a kill; ` +
        `${watch.xackCommands} XACKs checked by MONITOR, ${samples} state samples; ` +
        `${consumersLeft} consumer(s) left in the group; ${Date.now() - started} ms`,
    );
  }, 50_000);

  it('a message whose handler is still running at SIGKILL is redelivered after the visibility timeout, with deliveries 2', async () => {
    const { topic, group, stream, logKey } = await arrange();
    const watch = await watchAcks(stream, group, logKey);
    cleanups.push(() => watch.close());
    // Message 2 is slow: the child's handler never finishes it.
    const published = await publishMany(topic, 5, (n) => ({ n, slow: n === 2 }));
    const slowId = published[2] as string;

    const child = spawnChild({
      url: redisUrl(),
      topic,
      group,
      logKey,
      concurrency: 1,
      batchSize: 10,
      visibilityTimeoutMs: VISIBILITY_MS,
      maxDeliveries: MAX_DELIVERIES,
      budgetMs: 20_000,
      blockMs: 100,
      workMs: 0,
    });
    const started = await child.waitForLine((line) => line.startsWith('S '), 15_000);
    expect(started).toBe(`S ${slowId} 1`);
    await child.kill();

    // At the kill: the whole batch is pending, nothing acknowledged; the slow one was never recorded as processed.
    const atKill = await groupState(stream, group);
    expect([...atKill.pending.keys()]).toEqual(published);
    expect(atKill.pending.get(slowId)?.deliveries).toBe(1);
    const processedAtKill = await processedCounts(logKey);
    expect([...processedAtKill.keys()]).toEqual(published.slice(0, 2));

    // Not before the visibility timeout: a cycle now must not take it.
    const early = await drain(driver, {
      topic,
      group,
      visibilityTimeoutMs: 60_000,
      blockMs: 20,
      idleExitMs: 20,
      budgetMs: 2_000,
      logger: silentLogger,
      handler: () => {
        throw new Error('nothing should be delivered inside the visibility timeout');
      },
    });
    expect(early).toMatchObject({ read: 0, reclaimed: 0, acked: 0, failed: 0, pending: 5 });

    const seen = new Map<string, number[]>();
    const final = await finishInProcess(topic, group, logKey, seen, 10_000);
    expect(seen.get(slowId)).toEqual([2]);
    for (const id of published) expect(seen.get(id)).toEqual([2]);
    expect(final.reclaimed).toBe(5);

    const processed = await processedCounts(logKey);
    expect(published.map((id) => processed.get(id))).toEqual([2, 2, 1, 1, 1]);
    expect((await groupState(stream, group)).pending.size).toBe(0);
    await watch.flush();
    expect(watch.ackedUnlogged).toEqual([]);
    expect([...watch.acked].sort(compareIds)).toEqual(published);
    expect(await deadLetterCount(topic, group)).toBe(0);
  }, 30_000);
});
