/**
 * `rateLimit.pauseOnRetryLater`: a handler's RetryLaterError (a downstream 429) pauses every drain
 * of the group for the delay it names — the bucket goes into debt in Redis — and the drains then
 * go on at the limit; without the flag a RetryLaterError retries only its own message. Over every driver.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { RetryLaterError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const PAUSE_MS = 1_000;

describe.each(DRIVERS)('rate limit paused by RetryLaterError over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  /**
   * Two drains at 50/s (burst 1) over 20 messages; message 5 answers RetryLaterError once. The
   * longest gap between first deliveries' handler starts.
   */
  async function longestGap(pauseOnRetryLater: boolean): Promise<{ gapMs: number; handled: number }> {
    const topic = randomTopic('pause');
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '$', 'MKSTREAM');
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ data: i })),
    );
    const starts: number[] = [];
    let refused = false;
    const handled = new Set<number>();
    await Promise.all(
      [0, 1].map(() =>
        drain(kind.create(), {
          topic,
          group: 'g',
          rateLimit: { perSecond: 50, burst: 1, pauseOnRetryLater },
          budgetMs: 8_000,
          blockMs: 20,
          idleExitMs: 1_500,
          visibilityTimeoutMs: 5_000,
          logger: silentLogger,
          handler: (message) => {
            // First deliveries only: the retried message comes back after its own delay either way.
            if (message.deliveries === 1) starts.push(performance.now());
            if (message.data === 5 && !refused) {
              refused = true;
              throw new RetryLaterError(PAUSE_MS);
            }
            handled.add(message.data as number);
          },
        }),
      ),
    );
    const sorted = starts.sort((a, b) => a - b);
    const gapMs = Math.max(...sorted.slice(1).map((t, i) => t - (sorted[i] as number)));
    return { gapMs, handled: handled.size };
  }

  it('pauses every drain of the group for the delay asked, then goes on', async () => {
    const paused = await longestGap(true);
    expect(paused.handled).toBe(20);
    // One message at a time (burst 1): at most one already read by the other drain goes ahead.
    expect(paused.gapMs).toBeGreaterThanOrEqual(PAUSE_MS * 0.9);
  }, 20_000);

  it('without pauseOnRetryLater, only the message waits', async () => {
    const plain = await longestGap(false);
    expect(plain.handled).toBe(20);
    expect(plain.gapMs).toBeLessThan(PAUSE_MS * 0.5);
  }, 20_000);
});
