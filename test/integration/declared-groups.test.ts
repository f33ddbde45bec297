/**
 * Declared consumer groups: a group a topic is consumed by never misses a message published before
 * its first drain; a group created at `$` after messages were written says how many it skipped.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { declareTopic } from '../../src/core/declare.js';
import type { Driver } from '../../src/core/driver.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { declaredGroupsKey, partitionKeys } from '../../src/core/partitions.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import {
  DRIVERS,
  groupInfo,
  lambdaContext,
  randomTopic,
  recordingLogger,
  testDrainOptions,
} from '../support/fixtures.js';

/** Counts the commands a driver sends (every method call). */
function counting(driver: Driver) {
  let calls = 0;
  const view = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { driver: view, calls: () => calls };
}

async function drainAll(driver: Driver, topic: string, group: string) {
  const seen: unknown[] = [];
  const report = await drain(
    driver,
    testDrainOptions(topic, group, async (message) => {
      seen.push(message.data);
    }),
  );
  return { report, seen };
}

describe.each(DRIVERS)('declared groups over $name', (kind) => {
  const redis = kind.redis();

  it('a group declared by the publisher gets what was published before its first drain', async () => {
    const topic = randomTopic();
    const publisher = kind.create();
    await publish(publisher, topic, { data: 1 }, { groups: ['billing'] });
    await publishBatch(publisher, topic, [{ data: 2 }, { data: 3 }], { groups: ['billing'] });
    const { report, seen } = await drainAll(kind.create(), topic, 'billing');
    expect(seen).toEqual([1, 2, 3]);
    expect(report).toMatchObject({ read: 3, acked: 3, skipped: 0 });
  });

  it('without a declaration the first drain skips what was published, and says how many', async () => {
    const topic = randomTopic();
    await publishBatch(kind.create(), topic, [{ data: 1 }, { data: 2 }]);
    const { logger, lines } = recordingLogger();
    const report = await drain(
      kind.create(),
      testDrainOptions(topic, 'late', async () => {}, { logger }),
    );
    expect(report).toMatchObject({ read: 0, skipped: 2 });
    const warning = lines.find((line) => line.level === 'warn' && line.message.includes('never see'));
    expect(warning?.fields).toMatchObject({
      group: 'late',
      skipped: 2,
      stream: streamKeys({ topic }).stream,
    });
    // Created once: the next cycle skips nothing more.
    const again = await drain(
      kind.create(),
      testDrainOptions(topic, 'late', async () => {}),
    );
    expect(again.skipped).toBe(0);
  });

  it('declareTopic creates the groups now, records them, and publishers honour earlier declarations', async () => {
    const topic = randomTopic();
    const declared = await declareTopic(kind.create(), topic, { groups: ['a', 'b'] });
    expect(declared).toMatchObject({
      topic,
      partitions: 1,
      declaredGroups: ['a', 'b'],
      groups: [
        { group: 'a', created: true, skipped: 0 },
        { group: 'b', created: true, skipped: 0 },
      ],
    });
    expect((await redis.smembers(declaredGroupsKey(topic))).sort()).toEqual(['a', 'b']);
    // The stream is deleted (groups with it); a publisher in a new container recreates the declared groups first.
    await redis.del(streamKeys({ topic }).stream);
    await publish(kind.create(), topic, { data: 'x' });
    for (const group of ['a', 'b']) {
      const { seen } = await drainAll(kind.create(), topic, group);
      expect(seen).toEqual(['x']);
    }
  });

  it('declaring a group over a stream with entries says how many it skips, or starts at 0 when asked', async () => {
    const topic = randomTopic();
    await publishBatch(kind.create(), topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
    const late = await declareTopic(kind.create(), topic, { groups: ['late'] });
    expect(late.groups).toEqual([{ group: 'late', created: true, skipped: 3 }]);
    const replay = await declareTopic(kind.create(), topic, { groups: ['replay'], startId: '0' });
    expect(replay.groups).toEqual([{ group: 'replay', created: true, skipped: 0 }]);
    expect(replay.declaredGroups).toEqual(['late', 'replay']);
    expect((await drainAll(kind.create(), topic, 'replay')).seen).toEqual([1, 2, 3]);
    const again = await declareTopic(kind.create(), topic, { groups: ['late'] });
    expect(again.groups).toEqual([{ group: 'late', created: false, skipped: 0 }]);
  });

  it('a partitioned topic: declared groups exist on every partition before any message', async () => {
    const topic = randomTopic();
    await declareTopic(kind.create(), topic, { partitions: 3, groups: ['billing'] });
    for (let i = 0; i < 3; i++) {
      const info = await groupInfo(redis, partitionKeys(topic, i, 3).stream, 'billing');
      expect(info).toBeDefined();
    }
    const publisher = kind.create();
    await publishBatch(
      publisher,
      topic,
      Array.from({ length: 12 }, (_, i) => ({ data: i, key: `k${i}` })),
    );
    const { seen } = await drainAll(kind.create(), topic, 'billing');
    expect(seen.sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it('a warm publisher sends nothing more than its XADD once its groups are known', async () => {
    const topic = randomTopic();
    const { driver, calls } = counting(kind.create());
    await publish(driver, topic, { data: 0 }, { groups: ['g1', 'g2'] });
    const before = calls();
    for (let i = 1; i <= 5; i++) await publish(driver, topic, { data: i }, { groups: ['g1', 'g2'] });
    expect(calls() - before).toBe(5);
  });

  it('the publish endpoint declares the groups it is given for its topic', async () => {
    const topic = randomTopic();
    const endpoint = createPublishEndpoint({
      driver: kind.create(),
      topics: [topic],
      token: 'publish-token',
      groups: { [topic]: ['payment-processors'] },
    });
    const answer = await endpoint({
      method: 'POST',
      topic,
      headers: { authorization: 'Bearer publish-token', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ data: 1 }, { data: 2 }, { data: 3 }] }),
    });
    expect(answer.status).toBe(202);
    const { report, seen } = await drainAll(kind.create(), topic, 'payment-processors');
    expect(report.read).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('bad declarations are refused with the option named, before anything is written', async () => {
    const topic = randomTopic();
    const driver = kind.create();
    await expect(declareTopic(driver, topic, { groups: ['ok', 'bad group'] })).rejects.toThrow(
      /`groups`.*"bad group"/,
    );
    await expect(publish(driver, topic, { data: 1 }, { groups: 'billing' as never })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(declareTopic(driver, topic, { startId: '1' as never })).rejects.toThrow(/startId/);
    expect(() =>
      createPublishEndpoint({ driver, topics: [topic], token: 't', groups: { other: ['g'] } }),
    ).toThrow(/not in `topics`/);
    expect(await redis.exists(streamKeys({ topic }).stream, declaredGroupsKey(topic))).toBe(0);
  });
});

describe("the app's Lambda functions on a fresh deployment", () => {
  it('the first scheduled drain gets the messages published before it (none skipped)', async () => {
    const { drainFunction, publishFunction } = await import('../../functions/aws/wiring.js');
    const { loadConfig } = await import('../../src/app/config.js');
    const topic = randomTopic();
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:1', // not used: the functions get the test's driver
      SLUICE_TOPIC: topic,
      SLUICE_GROUP: 'payment-processors',
      SLUICE_PUBLISH_TOKEN: 'publish-token-0123',
      SLUICE_BUDGET_MS: '3000',
    });
    const kind = DRIVERS[0] as (typeof DRIVERS)[number];
    const publishHandler = publishFunction(kind.create(), config);
    for (let orderId = 1; orderId <= 3; orderId++) {
      const answer = await publishHandler({
        version: '2.0',
        routeKey: 'POST /topics/{topic}/messages',
        rawPath: `/topics/${topic}/messages`,
        rawQueryString: '',
        headers: { authorization: 'Bearer publish-token-0123', 'content-type': 'application/json' },
        pathParameters: { topic },
        requestContext: { http: { method: 'POST' } },
        body: JSON.stringify({ data: { orderId } }),
        isBase64Encoded: false,
      } as never);
      expect(answer.statusCode).toBe(202);
    }
    const drainHandler = drainFunction(kind.create(), {
      ...config,
      drain: { ...config.drain, idleExitMs: 100 },
    });
    const report = await drainHandler(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      lambdaContext(5_000),
    );
    expect(report).toMatchObject({ read: 3, acked: 3, skipped: 0, stoppedBy: 'idle' });
  });
});
