/**
 * A rate limit across every drain of a group (`rateLimit`): 4 drains running at once, a limit of
 * 200/s, 2,000 messages — together they hand out messages at the limit (within 10%), each message
 * once, none held past the visibility timeout (a message read and not started would be reclaimed
 * and delivered again), and stats show the limit and the current rate. Over every driver.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { topicStats } from '../../src/ops/stats.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

const PER_SECOND = 200;
const MESSAGES = 2_000;
const DRAINS = 4;

describe.each(DRIVERS)('rate limit over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  it(`${DRAINS} drains at ${PER_SECOND}/s hand out ${MESSAGES} messages at the limit, each once`, async () => {
    const topic = randomTopic('rate');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
    const published: string[] = [];
    for (let i = 0; i < MESSAGES; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ data: i + j }));
      published.push(...(await publishBatch(driver, topic, batch)).map((r) => r.id));
    }
    const started: number[] = [];
    const seen = new Map<string, number>();
    const drains = Array.from({ length: DRAINS }, () =>
      drain(kind.create(), {
        topic,
        group: 'g',
        rateLimit: { perSecond: PER_SECOND },
        visibilityTimeoutMs: 1_000,
        budgetMs: 25_000,
        blockMs: 50,
        idleExitMs: 1_000,
        concurrency: 4,
        logger: silentLogger,
        handler: async (message) => {
          started.push(performance.now());
          seen.set(message.id, (seen.get(message.id) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
        },
      }),
    );
    await waitFor(() => started.length >= MESSAGES / 2, { timeoutMs: 20_000, what: 'half the messages' });
    const [group] = (await topicStats(driver, topic)).groups;
    expect(group?.rateLimit).toMatchObject({ perSecond: PER_SECOND, burst: PER_SECOND / 10 });
    expect(group?.rateLimit?.currentPerSecond).toBeGreaterThan(PER_SECOND * 0.7);
    expect(group?.rateLimit?.currentPerSecond).toBeLessThanOrEqual(PER_SECOND * 1.2);

    const reports = await Promise.all(drains);
    expect(started).toHaveLength(MESSAGES);
    expect([...seen.keys()].sort()).toEqual([...published].sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(reports.reduce((sum, r) => sum + r.reclaimed, 0)).toBe(0);
    expect(reports.reduce((sum, r) => sum + r.acked, 0)).toBe(MESSAGES);
    // Every drain took part: the limit is the group's, not each drain's.
    expect(reports.every((r) => r.read > 0)).toBe(true);
    const sorted = [...started].sort((a, b) => a - b);
    const seconds = ((sorted.at(-1) as number) - (sorted[0] as number)) / 1000;
    const rate = (MESSAGES - 1) / seconds;
    expect(rate).toBeGreaterThan(PER_SECOND * 0.9);
    expect(rate).toBeLessThan(PER_SECOND * 1.1);
    expect(((await redis.xpending(keys.stream, 'g')) as unknown[])[0]).toBe(0);
  }, 40_000);
});
