/** What the batch-handler tests share: drain options with a batch handler, the group's pending entries, an arranged topic. */
import type { BatchHandler, DrainOptions, DrainSettings } from '../../src/consume/options.js';
import type { Driver } from '../../src/core/driver.js';
import { type StreamKeys, streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import { type RawClient, randomTopic } from './fixtures.js';

/** Drain options for group `g` with a batch handler, short enough for tests. */
export function batchOptions<T>(
  topic: string,
  batchHandler: BatchHandler<T>,
  extra: Partial<DrainSettings> = {},
): DrainOptions<T> {
  return {
    topic,
    group: 'g',
    batchHandler,
    budgetMs: 5_000,
    blockMs: 20,
    idleExitMs: 100,
    logger: silentLogger,
    ...extra,
  };
}

/** Pending entries of group `g`: id → delivery count, in stream order. */
export async function pendingOf(redis: RawClient, stream: string): Promise<Map<string, number>> {
  const rows = (await redis.xpending(stream, 'g', '-', '+', 1_000)) as [string, string, number, number][];
  return new Map(rows.map(([id, , , count]) => [id, Number(count)]));
}

/** A fresh topic with group `g` created at `$`, then `count` messages (data 0, 1, …) published. */
export async function arrangeBatch(
  redis: RawClient,
  driver: Driver,
  count: number,
): Promise<{ topic: string; keys: StreamKeys; ids: string[] }> {
  const topic = randomTopic('batch');
  const keys = streamKeys({ topic });
  await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
  const messages = Array.from({ length: count }, (_, i) => ({ data: i }));
  const ids = (await publishBatch(driver, topic, messages)).map((r) => r.id);
  return { topic, keys, ids };
}
