/**
 * Crash safety with a batch handler: children draining with a batch handler are killed with SIGKILL
 * in the middle of a batch call (some of its messages processed and recorded, none acknowledged
 * yet), again and again; an in-process cycle after the visibility timeout finishes the work. Every
 * message is processed at least once, none is acknowledged unprocessed (MONITOR: each XACK of the
 * group comes after the id was logged as processed), and what a killed batch had processed is done
 * again, delivered once more.
 *
 * The children: test/support/batch-drain-child.ts (each processed id RPUSHed before the call
 * returns; messages marked `failFirst` reported failed on their first delivery).
 */

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import type { BatchDrainChildConfig } from '../support/batch-drain-child.js';
import {
  cleanupsAfterEach,
  groupState,
  processedCounts,
  spawnTsx,
  untilSomeIdle,
  watchAcks,
} from '../support/fault-kit.js';
import { dropTopic, newDriver, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

const CHILD = fileURLToPath(new URL('../support/batch-drain-child.ts', import.meta.url));
const VISIBILITY_MS = 500;
const MAX_DELIVERIES = 20;
const MESSAGES = 600;

const driver = newDriver();
const redis = rawClient();
const cleanups = cleanupsAfterEach();

/** Batch cycles in-process (same recording) until the group has no lag and nothing pending. */
async function finishInProcess(topic: string, group: string, logKey: string) {
  const end = Date.now() + 20_000;
  for (;;) {
    const report = await drain(driver, {
      topic,
      group,
      startId: '0',
      batchSize: 100,
      blockMs: 50,
      idleExitMs: 150,
      budgetMs: 5_000,
      visibilityTimeoutMs: VISIBILITY_MS,
      maxRedeliveryDelayMs: VISIBILITY_MS,
      maxDeliveries: MAX_DELIVERIES,
      logger: silentLogger,
      batchHandler: async (messages) => {
        for (const message of messages) await redis.rpush(logKey, message.id);
      },
    });
    if (report.stoppedBy === 'error') throw new Error(`final drain cycle failed: ${report.error}`);
    if (report.lag === 0 && report.pending === 0) return;
    if (Date.now() > end) throw new Error(`the group still has work: ${JSON.stringify(report)}`);
    if (report.lag === 0)
      await untilSomeIdle(redis, streamKeys({ topic }).stream, group, VISIBILITY_MS, 2_000);
  }
}

describe('crash: SIGKILL during a batch handler', () => {
  it('kills children mid-batch-call again and again; a later cycle finishes: every message processed, none acknowledged unprocessed', async () => {
    const random = seededRandom('batch-crash/mid-call');
    const topic = randomTopic('batch-crash');
    const group = `g-${randomUUID().slice(0, 8)}`;
    const { stream } = streamKeys({ topic });
    const logKey = `${stream}:test-processed:${randomUUID().slice(0, 8)}`;
    cleanups.push(() => dropTopic(redis, topic));
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    const watch = await watchAcks(redisUrl(), redis, { stream, group, logKey });
    cleanups.push(() => watch.close());
    const published: string[] = (
      await publishBatch(
        driver,
        topic,
        Array.from({ length: MESSAGES }, (_, n) => ({ data: { n, failFirst: n % 17 === 0 } })),
      )
    ).map((r) => r.id);

    const kills: { batchSize: number; after: number; pending: number; processedUnacked: string[] }[] = [];
    for (const batchSize of [50, 100, 20, 64]) {
      const child = spawnTsx(CHILD, [
        JSON.stringify({
          url: redisUrl(),
          topic,
          group,
          logKey,
          batchSize,
          visibilityTimeoutMs: VISIBILITY_MS,
          maxDeliveries: MAX_DELIVERIES,
          budgetMs: 20_000,
          workMs: 1,
        } satisfies BatchDrainChildConfig),
      ]);
      // Killed inside a batch call: past its first batch, partway through the current one.
      const after = batchSize + random.int(2, batchSize - 2);
      child.onLine = (_line, self) => {
        if (self.processed === after) self.proc.kill('SIGKILL');
      };
      const { signal, code } = await child.exit;
      if (signal !== 'SIGKILL')
        throw new Error(`the child exited by itself (${code}); stderr:\n${child.stderr}`);
      const state = await groupState(redis, stream, group);
      const processed = await processedCounts(redis, logKey);
      kills.push({
        batchSize,
        after,
        pending: state.pending.size,
        processedUnacked: [...state.pending.keys()].filter((id) => processed.has(id)),
      });
    }

    await finishInProcess(topic, group, logKey);

    const state = await groupState(redis, stream, group);
    expect(state.pending.size).toBe(0);
    expect(state.lag).toBe(0);
    const processed = await processedCounts(redis, logKey);
    expect(published.filter((id) => !processed.has(id))).toEqual([]);
    // None acknowledged unprocessed: every XACK Redis ran came after the id was logged.
    await watch.flush();
    expect(watch.ackedUnaccounted).toEqual([]);
    expect(watch.acked.size).toBe(MESSAGES);
    // Each kill left part of a batch processed and unacknowledged; it was done again.
    for (const kill of kills) expect(kill.processedUnacked.length, JSON.stringify(kill)).toBeGreaterThan(0);
    for (const id of kills.flatMap((k) => k.processedUnacked))
      expect(processed.get(id)).toBeGreaterThanOrEqual(2);
    expect(await redis.exists(streamKeys({ topic }).deadLetters(group))).toBe(0);
    const processings = [...processed.values()].reduce((a, b) => a + b, 0);
    console.log(
      `batch crash test: ${MESSAGES} messages, ${kills.length} SIGKILLs mid-call ` +
        `(${kills.map((k) => `b=${k.batchSize} after ${k.after}: ${k.processedUnacked.length} processed-unacked of ${k.pending} pending`).join('; ')}); ` +
        `${processings} processings, ${watch.xackCommands} XACKs checked by MONITOR`,
    );
  }, 60_000);
});
