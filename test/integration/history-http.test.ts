/**
 * The ops endpoint's drain history and replay, over every driver: `GET /ops/history` and
 * `GET /ops/rates` (admin token, topic and group filters), `POST …/replay` (a dry run counts and
 * moves nothing; the replay moves the group, and the next drain delivers those messages again).
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { declareTopic } from '../../src/core/declare.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { createOpsEndpoint } from '../../src/http/ops-endpoint.js';
import type { OpsRequest } from '../../src/http/ops-routes/context.js';
import type { TopicHistory } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, groupInfo, randomTopic, testDrainOptions } from '../support/fixtures.js';

const token = 'admin-token-0123456789';

describe.each(DRIVERS)('history and replay over the ops endpoint over $name', (kind) => {
  const driver = kind.create();
  const redis = kind.redis();
  const topic = randomTopic('hist');
  const ops = createOpsEndpoint({ driver, topics: [topic], token, logger: silentLogger });
  const call = async (request: Partial<OpsRequest> & { path: string }) => {
    const answer = await ops({ method: 'GET', headers: { authorization: `Bearer ${token}` }, ...request });
    return { status: answer.status, body: JSON.parse(answer.body as string) };
  };
  const post = (path: string, body: unknown) =>
    call({
      method: 'POST',
      path,
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });

  /** Publishes 3 messages and drains them (group g); the second group `other` is never drained. */
  const drained = (async () => {
    await declareTopic(driver, topic, { groups: ['g', 'other'] });
    const ids = await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', async () => {}),
    );
    return { ids: ids.map((r) => r.id), report };
  })();

  it('GET /ops/history: per group, rates, the minutes and the drains; the token is required', async () => {
    const { report } = await drained;
    expect((await call({ path: '/ops/history', headers: {} })).status).toBe(401);
    const { status, body } = await call({ path: '/ops/history' });
    expect(status).toBe(200);
    const [history] = body.topics as TopicHistory[];
    expect(history?.topic).toBe(topic);
    const g = history?.groups.find((x) => x.group === 'g');
    expect(g?.history.reduce((sum, b) => sum + b.acked, 0)).toBe(3);
    expect(g?.drains).toMatchObject({ running: 0, last: { consumer: report.consumer, acked: 3 } });
    expect(history?.groups.find((x) => x.group === 'other')).toMatchObject({
      history: [],
      drains: { last: null },
    });

    const only = await call({ path: '/ops/history', query: `topic=${topic}&group=other` });
    expect((only.body.topics as TopicHistory[])[0]?.groups.map((x) => x.group)).toEqual(['other']);
    expect((await call({ path: '/ops/history', query: 'topic=nope' })).status).toBe(404);
    expect((await call({ path: '/ops/history', query: 'group=bad%20name' })).status).toBe(400);
  });

  it('GET /ops/rates: rates and drains without the series', async () => {
    await drained;
    const { status, body } = await call({ path: '/ops/rates', query: `topic=${topic}&group=g` });
    expect(status).toBe(200);
    const g = body.topics[0].groups[0];
    expect(Object.keys(g).sort()).toEqual(['drains', 'group', 'rates']);
    expect(g.rates['15m'].processed).toBeGreaterThan(0);
    expect(g.drains).toMatchObject({ running: 0, last: { acked: 3, stoppedBy: 'idle' } });
  });

  it('POST …/replay: a dry run counts and moves nothing; the replay moves the group; the next drain delivers again', async () => {
    const { ids } = await drained;
    const keys = streamKeys({ topic });
    const before = await groupInfo(redis, keys.stream, 'g');
    const path = `/ops/topics/${topic}/groups/g/replay`;
    const from = Number(ids[1]?.split('-')[0]);

    const plan = await post(path, { from, dryRun: true });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ dryRun: true, entries: expect.any(Number), exact: true });
    expect(plan.body.entries).toBeGreaterThanOrEqual(2);
    expect(await groupInfo(redis, keys.stream, 'g')).toEqual(before);

    const done = await post(path, { from: ids[1] });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ dryRun: false, from: ids[1], entries: 2 });
    const seen: unknown[] = [];
    await drain(
      driver,
      testDrainOptions(topic, 'g', async (m) => void seen.push(m.data)),
    );
    expect(seen).toEqual([2, 3]);

    expect((await post(path, { from: 'yesterday' })).status).toBe(400);
    expect((await post(path, {})).status).toBe(400);
    expect(
      (await post(`/ops/topics/${topic}/groups/nobody/replay`, { from: '$', dryRun: true })).status,
    ).toBe(404);
    expect((await call({ path })).status).toBe(405);
    expect((await call({ method: 'POST', path, body: '{"from":"$"}', headers: {} })).status).toBe(401);
  });
});
