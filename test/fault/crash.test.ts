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
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import type { DrainChildConfig } from '../support/drain-child.js';
import {
  ackedButUnprocessed,
  type Child,
  cleanupsAfterEach,
  compareIds,
  groupState,
  processedCounts,
  spawnDrainChild,
  until,
  untilSomeIdle,
  watchAcks,
} from '../support/fault-kit.js';
import { dropTopic, newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

const VISIBILITY_MS = 500;
/** High enough that no healthy message is dead-lettered however often it is caught in a kill. */
const MAX_DELIVERIES = 20;

const driver = newDriver();
const redis = rawClient();

/** Starts a draining child; `onLine` sees every line it prints from the start. */
function spawnChild(config: DrainChildConfig, onLine?: (line: string, child: Child) => void): Child {
  const child = spawnDrainChild(config);
  child.onLine = onLine;
  return child;
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
      await untilSomeIdle(redis, stream, group, VISIBILITY_MS, VISIBILITY_MS * 4);
    }
  }
}

/** A child draining one batch of `batchSize` at a time whose slow message never finishes (it is killed then). */
function spawnSlowRun(at: { topic: string; group: string; logKey: string }, batchSize: number): Child {
  return spawnChild({
    url: redisUrl(),
    ...at,
    concurrency: 1,
    batchSize,
    visibilityTimeoutMs: VISIBILITY_MS,
    maxDeliveries: MAX_DELIVERIES,
    budgetMs: 20_000,
    blockMs: 100,
    workMs: 0,
  });
}

async function deadLetterCount(topic: string, group: string): Promise<number> {
  const key = streamKeys({ topic }).deadLetters(group);
  return (await redis.exists(key)) ? redis.xlen(key) : 0;
}

// ---------------------------------------------------------------------------------------------

const cleanups = cleanupsAfterEach();

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
    const random = seededRandom('crash/mid-batch');
    const { topic, group, stream, logKey } = await arrange();
    const watch = await watchAcks(redisUrl(), redis, { stream, group, logKey });
    cleanups.push(() => watch.close());
    const published = await publishMany(topic, MESSAGES, (n) => ({ n }));
    expect(new Set(published).size).toBe(MESSAGES);

    // State samples taken all through the kill phase, not only when it is quiet.
    const sampleViolations: string[] = [];
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { violations } = await ackedButUnprocessed(redis, stream, group, logKey, published);
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
              [...(await groupState(redis, stream, group)).pending.values()].some(
                (p) => p.idleMs >= VISIBILITY_MS,
              ),
            VISIBILITY_MS * 4,
            'a pending entry to pass the visibility timeout',
          );
        }
        // Leave enough undelivered messages that the child is always busy when the kill comes.
        const lag = (await groupState(redis, stream, group)).lag ?? 0;
        const after = random.int(10, Math.max(11, Math.min(250, lag - 100)));
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
            workSeed: random.int(0x1_0000_0000),
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
        const check = await ackedButUnprocessed(redis, stream, group, logKey, published);
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

    const state = await groupState(redis, stream, group);
    expect(state.pending.size).toBe(0);
    expect(state.lag).toBe(0);
    expect(compareIds(state.lastDeliveredId, published[published.length - 1] as string)).toBe(0);

    // Every published message was processed at least once; nothing else was.
    const processed = await processedCounts(redis, logKey);
    const missing = published.filter((id) => !processed.has(id));
    expect(missing).toEqual([]);
    expect(processed.size).toBe(MESSAGES);

    // None acknowledged unprocessed: every XACK Redis ran came after the id was logged; sampled states agree.
    await watch.flush();
    expect(watch.ackedUnaccounted).toEqual([]);
    expect(sampleViolations).toEqual([]);
    expect(watch.acked.size).toBe(MESSAGES); // the MONITOR check saw every acknowledgement: it is not vacuous
    expect(samples).toBeGreaterThan(0);

    // The kills hit mid-batch (delivered, unacknowledged); what was processed and unacknowledged then was redone.
    expect(kills).toHaveLength(KILLS);
    expect(kills.some((k) => k.pending > 0)).toBe(true);
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
    const watch = await watchAcks(redisUrl(), redis, { stream, group, logKey });
    cleanups.push(() => watch.close());
    // Message 2 is slow: the child's handler never finishes it.
    const published = await publishMany(topic, 5, (n) => ({ n, slow: n === 2 }));
    const slowId = published[2] as string;

    const child = spawnSlowRun({ topic, group, logKey }, 10);
    const started = await child.waitForLine((line) => line.startsWith('S '), 15_000);
    expect(started).toBe(`S ${slowId} 1`);
    await child.kill();

    // At the kill: the first was acknowledged as it finished (the second's XACK, sent in the turn the slow
    // one started, may not have left); the rest is pending, the slow one never recorded as processed.
    const atKill = await groupState(redis, stream, group);
    const pendingAtKill = [...atKill.pending.keys()];
    expect([published.slice(1), published.slice(2)]).toContainEqual(pendingAtKill);
    expect(atKill.pending.get(slowId)?.deliveries).toBe(1);
    const processedAtKill = await processedCounts(redis, logKey);
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
    expect(early).toMatchObject({ read: 0, reclaimed: 0, acked: 0, pending: pendingAtKill.length });

    const seen = new Map<string, number[]>();
    const final = await finishInProcess(topic, group, logKey, seen, 10_000);
    expect(seen.get(slowId)).toEqual([2]);
    for (const id of pendingAtKill) expect(seen.get(id)).toEqual([2]);
    expect(final.reclaimed).toBe(pendingAtKill.length);

    const processed = await processedCounts(redis, logKey);
    const twice = pendingAtKill.length === 4 ? 2 : 1; // the second, if its XACK had not left at the kill
    expect(published.map((id) => processed.get(id))).toEqual([1, twice, 1, 1, 1]);
    expect((await groupState(redis, stream, group)).pending.size).toBe(0);
    await watch.flush();
    expect(watch.ackedUnaccounted).toEqual([]);
    expect([...watch.acked].sort(compareIds)).toEqual(published);
    expect(await deadLetterCount(topic, group)).toBe(0);
  }, 30_000);

  it('what was read ahead at SIGKILL costs its messages one delivery each, no processing, and nothing after it is touched', async () => {
    const { topic, group, stream, logKey } = await arrange();
    // Batches of 3: [0, 1 (slow), 2] is handled while [3, 4, 5] is read ahead; 6–8 wait in the stream.
    const published = await publishMany(topic, 9, (n) => ({ n, slow: n === 1 }));
    const child = spawnSlowRun({ topic, group, logKey }, 3);
    await child.waitForLine((line) => line.startsWith('S '), 15_000);
    // The read ahead was sent before the batch's first handler: it is answered by now or soon.
    await until(
      async () => (await groupState(redis, stream, group)).pending.has(published[5] as string),
      5_000,
      'the batch read ahead',
    );
    await child.kill();

    const atKill = await groupState(redis, stream, group);
    const readAhead = published.slice(3, 6);
    for (const id of [...published.slice(1, 3), ...readAhead])
      expect(atKill.pending.get(id)?.deliveries).toBe(1);
    for (const id of published.slice(6)) expect(atKill.pending.has(id)).toBe(false);
    expect(atKill.lastDeliveredId).toBe(published[5]);
    expect([...(await processedCounts(redis, logKey)).keys()]).toEqual(published.slice(0, 1));

    const seen = new Map<string, number[]>();
    await finishInProcess(topic, group, logKey, seen, 10_000);
    // Held at the kill, never started: delivered again once (deliveries 2), processed once.
    for (const id of readAhead) expect(seen.get(id)).toEqual([2]);
    for (const id of published.slice(6)) expect(seen.get(id)).toEqual([1]);
    const processed = await processedCounts(redis, logKey);
    expect(published.slice(1).map((id) => processed.get(id))).toEqual(published.slice(1).map(() => 1));
    expect((await groupState(redis, stream, group)).pending.size).toBe(0);
    expect(await deadLetterCount(topic, group)).toBe(0);
  }, 30_000);
});
