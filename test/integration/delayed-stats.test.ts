/**
 * Statistics of delayed messages over every driver: how many wait outside the stream and when the
 * earliest is due, from the one stats script (also for a topic whose stream does not exist yet).
 */
import { describe, expect, it } from 'vitest';
import { declareTopic } from '../../src/core/declare.js';
import { silentLogger } from '../../src/core/logger.js';
import { createOpsEndpoint } from '../../src/http/ops-endpoint.js';
import { partitionedTopicStats, topicStats } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const HOUR = 3_600_000;

describe.each(DRIVERS)('delayed messages in stats over $name', (kind) => {
  const driver = kind.create();

  it('counts the scheduled messages and says when the next is due, stream or not', async () => {
    const topic = randomTopic();
    expect(await topicStats(driver, topic)).toMatchObject({ exists: false, scheduled: 0, nextDueAt: null });
    const at = Date.now() + 2 * HOUR;
    await publishBatch(driver, topic, [
      { data: 1, deliverAt: at + HOUR },
      { data: 2, deliverAt: at },
    ]);
    expect(await topicStats(driver, topic)).toMatchObject({ exists: false, scheduled: 2, nextDueAt: at });
    await publishBatch(driver, topic, [{ data: 3 }, { data: 4, deliverAt: at - HOUR }]);
    expect(await topicStats(driver, topic)).toMatchObject({
      exists: true,
      length: 1,
      scheduled: 3,
      nextDueAt: at - HOUR,
    });
  });

  it('per partition of a partitioned topic', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { partitions: 2 });
    const results = await publishBatch(driver, topic, [{ data: 1, key: 'k', delayMs: HOUR }]);
    const stats = await partitionedTopicStats(driver, topic);
    expect(stats.map((s) => s.scheduled)).toEqual([0, 1].map((p) => (p === results[0]?.partition ? 1 : 0)));
  });

  it('GET /ops/stats answers them', async () => {
    const topic = randomTopic();
    const at = Date.now() + HOUR;
    await publishBatch(driver, topic, [{ data: 1, deliverAt: at }]);
    const ops = createOpsEndpoint({
      driver,
      topics: [topic],
      token: 'admin-token-0123',
      logger: silentLogger,
    });
    const answer = await ops({
      method: 'GET',
      path: '/ops/stats',
      headers: { authorization: 'Bearer admin-token-0123' },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body as string).topics[0]).toMatchObject({ topic, scheduled: 1, nextDueAt: at });
  });
});
