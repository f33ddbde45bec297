import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Handler } from '../../src/consume/options.js';
import type { Message } from '../../src/core/envelope.js';
import { GroupNotFoundError, InvalidOptionError, PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import {
  listDeadLetters,
  parseReplayFrom,
  purgeDeadLetters,
  type RedriveProgress,
  redrive,
  replay,
  showDeadLetter,
  tail,
  topicStats,
} from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, groupInfo, randomTopic } from '../support/fixtures.js';

function drainOptions<T>(topic: string, group: string, handler: Handler<T>) {
  return {
    topic,
    group,
    handler,
    budgetMs: 3_000,
    blockMs: 20,
    idleExitMs: 50,
    trim: false,
    logger: silentLogger,
  };
}

describe.each(DRIVERS)('over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();

  /**
   * A topic with two groups at `0`: `g` dead-lettered messages 1 and 2 (PermanentError) and
   * acknowledged 0, 3, 4, 5; `other` acknowledged all six. Then 6, 7, 8 were published and `g`'s
   * consumer `c1` read 6 without acknowledging it: g has lag 2, pending 1, dead letters 2; other
   * has lag 3.
   */
  async function arrange() {
    const topic = randomTopic();
    const keys = streamKeys({ topic });
    for (const g of ['g', 'other']) await redis.xgroup('CREATE', keys.stream, g, '0', 'MKSTREAM');
    const first = await publishBatch(
      driver,
      topic,
      [0, 1, 2, 3, 4, 5].map((data) => ({ data })),
    );
    await drain(
      driver,
      drainOptions(topic, 'g', (m: Message<number>) => {
        if (m.data === 1 || m.data === 2) throw new PermanentError(`bad ${m.data}`);
      }),
    );
    await drain(
      driver,
      drainOptions(topic, 'other', () => {}),
    );
    const later = await publishBatch(
      driver,
      topic,
      [6, 7, 8].map((data) => ({ data })),
    );
    await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    const ids = [...first, ...later].map((r) => r.id);
    return { topic, keys, ids };
  }

  /** What a drain cycle of `group` hands its handler now (data and delivery count). */
  async function drainAll(topic: string, group: string) {
    const seen: { data: unknown; deliveries: number }[] = [];
    const report = await drain(driver, {
      ...drainOptions(topic, group, (m: Message) => {
        seen.push({ data: m.data, deliveries: m.deliveries });
      }),
      visibilityTimeoutMs: 60_000,
    });
    expect(report.stoppedBy).not.toBe('error');
    return seen;
  }

  describe('topicStats', () => {
    it('reports length, lag, pending, oldest pending, consumers and dead letters per group', async () => {
      const { topic, keys, ids } = await arrange();
      const stats = await topicStats(driver, topic);
      expect(stats).toMatchObject({
        topic,
        stream: keys.stream,
        exists: true,
        length: 9,
        firstId: ids[0],
        lastId: ids[8],
        lastGeneratedId: ids[8],
      });
      const g = stats.groups.find((x) => x.name === 'g');
      const other = stats.groups.find((x) => x.name === 'other');
      expect(g).toMatchObject({
        lag: 2,
        pending: 1,
        oldestPendingId: ids[6],
        lastDeliveredId: ids[6],
        entriesRead: 7,
        deadLetters: 2,
      });
      expect(g?.consumers).toBeGreaterThanOrEqual(1);
      expect(g?.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
      expect(g?.oldestPendingAgeMs).toBeLessThan(60_000);
      expect(g?.oldestPendingIdleMs).toBeGreaterThanOrEqual(0);
      expect(other).toMatchObject({ lag: 3, pending: 0, oldestPendingId: null, deadLetters: 0 });
      expect(Math.abs(stats.measuredAt - Date.now())).toBeLessThan(5_000);
    });

    it('the age of the oldest pending entry comes from its id', async () => {
      const stream = `foreign-${randomTopic()}`;
      await redis.xadd(stream, '1000-0', 'a', '1');
      await redis.xgroup('CREATE', stream, 'g', '0');
      await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>');
      const [g] = (await topicStats(driver, { stream })).groups;
      expect(g?.oldestPendingId).toBe('1000-0');
      expect(g?.oldestPendingAgeMs).toBeGreaterThan(Date.now() - 1000 - 60_000);
    });

    it('counts the lag itself where Redis cannot tell (an entry deleted inside the range)', async () => {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      const ids = (
        await publishBatch(
          driver,
          topic,
          [1, 2, 3, 4].map((data) => ({ data })),
        )
      ).map((r) => r.id);
      await redis.xdel(stream, ids[1] as string);
      expect(await groupInfo(redis, stream, 'g')).toMatchObject({ lag: null });
      const [g] = (await topicStats(driver, topic)).groups;
      expect(g?.lag).toBe(3);
    });

    it('a stream that does not exist', async () => {
      const topic = randomTopic();
      expect(await topicStats(driver, { topic })).toMatchObject({
        exists: false,
        length: 0,
        groups: [],
        firstId: null,
      });
    });

    it('refuses a bad topic name', async () => {
      await expect(topicStats(driver, 'no spaces')).rejects.toBeInstanceOf(InvalidOptionError);
    });
  });

  describe('dead letters', () => {
    it('lists them with their stamps, the original fields and payload, page by page', async () => {
      const { topic, keys, ids } = await arrange();
      const all = await listDeadLetters(driver, topic, 'g');
      expect(all).toMatchObject({ stream: keys.deadLetters('g'), group: 'g', total: 2, next: null });
      expect(all.deadLetters.map((d) => d.data)).toEqual([1, 2]);
      expect(all.deadLetters[0]).toMatchObject({
        reason: 'permanent',
        deliveries: 1,
        sourceId: ids[1],
        sourceStream: keys.stream,
        format: 'sluice',
        fields: { sluice: '1', data: '1' },
      });
      expect(all.deadLetters[0]?.error).toContain('bad 1');
      expect(Date.parse(all.deadLetters[0]?.deadAt ?? '')).toBeGreaterThan(Date.now() - 60_000);

      const first = await listDeadLetters(driver, topic, 'g', { count: 1 });
      expect(first.deadLetters.map((d) => d.data)).toEqual([1]);
      expect(first.next).toBe(`(${first.deadLetters[0]?.id}`);
      const second = await listDeadLetters(driver, topic, 'g', { count: 1, start: first.next as string });
      expect(second.deadLetters.map((d) => d.data)).toEqual([2]);
      expect(second.next).toBeNull();
    });

    it('an empty list for a group without dead letters; bad options are refused', async () => {
      const { topic } = await arrange();
      expect(await listDeadLetters(driver, topic, 'other')).toMatchObject({ total: 0, deadLetters: [] });
      await expect(listDeadLetters(driver, topic, 'g', { count: 0 })).rejects.toThrow(/count/);
      await expect(listDeadLetters(driver, topic, 'g', { start: 'x' })).rejects.toThrow(/start/);
      await expect(listDeadLetters(driver, topic, 'a b')).rejects.toThrow(/group/);
    });

    it('shows one by id', async () => {
      const { topic, ids } = await arrange();
      const [d] = (await listDeadLetters(driver, topic, 'g')).deadLetters;
      const shown = await showDeadLetter(driver, topic, 'g', d?.id as string);
      expect(shown).toEqual(d);
      expect(shown?.sourceId).toBe(ids[1]);
      expect(await showDeadLetter(driver, topic, 'g', '1-1')).toBeUndefined();
      await expect(showDeadLetter(driver, topic, 'g', 'nope')).rejects.toBeInstanceOf(InvalidOptionError);
    });

    it('purges some by id (missing ones named), or all, and a dry run deletes nothing', async () => {
      const { topic, keys } = await arrange();
      const [a] = (await listDeadLetters(driver, topic, 'g')).deadLetters;
      const dry = await purgeDeadLetters(driver, topic, 'g', { ids: [a?.id as string, '1-1'], dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, purged: 1, missing: ['1-1'] });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);

      expect(await purgeDeadLetters(driver, topic, 'g', { ids: [a?.id as string] })).toMatchObject({
        purged: 1,
      });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(1);

      expect(await purgeDeadLetters(driver, topic, 'g', { all: true, dryRun: true })).toMatchObject({
        purged: 1,
      });
      expect(await purgeDeadLetters(driver, topic, 'g', { all: true })).toMatchObject({ purged: 1 });
      expect(await redis.exists(keys.deadLetters('g'))).toBe(0);
      // The stream and the groups are untouched.
      expect(await redis.xlen(keys.stream)).toBe(9);

      await expect(purgeDeadLetters(driver, topic, 'g', {})).rejects.toThrow(/exactly one/);
      await expect(purgeDeadLetters(driver, topic, 'g', { all: true, ids: ['1-1'] })).rejects.toThrow(
        /exactly one/,
      );
    });
  });

  describe('redrive', () => {
    it('a dry run says what would happen and writes nothing', async () => {
      const { topic, keys, ids } = await arrange();
      const before = await groupInfo(redis, keys.stream, 'g');
      const report = await redrive(driver, topic, 'g', { dryRun: true });
      expect(report).toMatchObject({ dryRun: true, redriven: 2, counts: { pending: 2, blocked: 0 } });
      expect(report.results.map((r) => r.sourceId)).toEqual([ids[1], ids[2]]);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);
      expect(await groupInfo(redis, keys.stream, 'g')).toEqual(before);
    });

    it('puts dead letters back in the pending list of that group only; the next cycle delivers them once', async () => {
      const { topic, keys, ids } = await arrange();
      const otherBefore = await groupInfo(redis, keys.stream, 'other');
      const progress: RedriveProgress[] = [];
      const report = await redrive(driver, topic, 'g', { batchSize: 1, onProgress: (p) => progress.push(p) });
      expect(report).toMatchObject({ dryRun: false, redriven: 2, counts: { pending: 2 } });
      expect(progress).toEqual([
        { done: 1, total: 2 },
        { done: 2, total: 2 },
      ]);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
      // Nothing added to the stream; the other group is exactly as it was.
      expect(await redis.xlen(keys.stream)).toBe(9);
      expect(await groupInfo(redis, keys.stream, 'other')).toEqual(otherBefore);
      const pending = (await redis.xpending(keys.stream, 'g', '-', '+', 10)) as [
        string,
        string,
        number,
        number,
      ][];
      expect(pending.map((p) => p[0])).toEqual([ids[1], ids[2], ids[6]]);
      expect(pending.filter((p) => p[0] !== ids[6]).map((p) => p[3])).toEqual([0, 0]);

      // g: the two redriven (first delivery again), then its unread 7 and 8; c1's 6 is not due yet.
      expect(await drainAll(topic, 'g')).toEqual([
        { data: 1, deliveries: 1 },
        { data: 2, deliveries: 1 },
        { data: 7, deliveries: 1 },
        { data: 8, deliveries: 1 },
      ]);
      expect(await drainAll(topic, 'g')).toEqual([]);
      // other: only its own unread 6, 7, 8.
      expect((await drainAll(topic, 'other')).map((s) => s.data)).toEqual([6, 7, 8]);
    });

    it('chosen ids only, a limit, missing ids reported, and a rate limit', async () => {
      const { topic, keys } = await arrange();
      const [a, b] = (await listDeadLetters(driver, topic, 'g')).deadLetters;
      const one = await redrive(driver, topic, 'g', { ids: [b?.id as string, '1-1'] });
      expect(one.results.map((r) => [r.id, r.outcome])).toEqual([
        [b?.id, 'pending'],
        ['1-1', 'missing'],
      ]);
      expect(one.redriven).toBe(1);
      expect((await listDeadLetters(driver, topic, 'g')).deadLetters.map((d) => d.id)).toEqual([a?.id]);

      await redis.xadd(keys.deadLetters('g'), '*', 'no', 'stamps');
      await redis.xadd(keys.deadLetters('g'), '*', 'no', 'stamps');
      await redis.xadd(keys.deadLetters('g'), '*', 'no', 'stamps');
      const started = Date.now();
      const limited = await redrive(driver, topic, 'g', { limit: 3, ratePerSecond: 2 });
      expect(limited.results.map((r) => r.outcome)).toEqual(['pending', 'invalid', 'invalid']);
      // Three at 2 per second: two at once, the third a second later.
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(3);
    });

    it('a trimmed source is appended for that group only, once every other group has read the stream', async () => {
      const { topic, keys, ids } = await arrange();
      // Trim everything before 6: the dead letters' sources (1, 2) are gone.
      await redis.xtrim(keys.stream, 'MINID', ids[6] as string);
      const blocked = await redrive(driver, topic, 'g');
      expect(blocked.counts).toMatchObject({ blocked: 2, pending: 0 });
      expect(blocked.results[0]?.groupsBehind).toEqual(['other']);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(2);

      expect((await drainAll(topic, 'other')).map((s) => s.data)).toEqual([6, 7, 8]);
      const dry = await redrive(driver, topic, 'g', { dryRun: true });
      expect(dry.counts).toMatchObject({ appended: 2 });
      expect(await redis.xlen(keys.stream)).toBe(3);

      const report = await redrive(driver, topic, 'g');
      expect(report.counts).toMatchObject({ appended: 2 });
      const newIds = report.results.map((r) => r.newId);
      expect(newIds.every((id) => typeof id === 'string')).toBe(true);
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
      // The other group was moved past the new entries, its lag still exact.
      expect(await groupInfo(redis, keys.stream, 'other')).toMatchObject({
        'last-delivered-id': newIds[1],
        lag: 0,
      });
      expect(await drainAll(topic, 'other')).toEqual([]);
      expect((await drainAll(topic, 'g')).map((s) => s.data)).toEqual([7, 8, 1, 2]);
    });

    it('a source the group has not read yet (after a replay) only loses its dead letter', async () => {
      const { topic, keys } = await arrange();
      await replay(driver, topic, 'g', '0');
      const report = await redrive(driver, topic, 'g');
      expect(report.counts).toMatchObject({ unread: 2 });
      expect(await redis.xlen(keys.deadLetters('g'))).toBe(0);
      const pending = (await redis.xpending(keys.stream, 'g', '-', '+', 10)) as unknown[];
      expect(pending).toHaveLength(1);
    });

    it('refuses a group the stream does not have, and a stream that does not exist', async () => {
      const { topic } = await arrange();
      await expect(redrive(driver, topic, 'nobody')).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(redrive(driver, randomTopic(), 'g')).rejects.toThrow(/has no consumer group "g"/);
    });
  });

  describe('replay', () => {
    /** A foreign stream with entries at 1000, 2000 (two), 3000 and 4000 ms, and group g at its end. */
    async function timeline() {
      const stream = `foreign-${randomTopic()}`;
      for (const id of ['1000-0', '2000-0', '2000-1', '3000-0', '4000-0'])
        await redis.xadd(stream, id, 'at', id);
      await redis.xgroup('CREATE', stream, 'g', '$');
      return { stream };
    }

    async function readAll(stream: string): Promise<string[]> {
      const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>')) as
        | [string, [string, string[]][]][]
        | null;
      return (reply?.[0]?.[1] ?? []).map(([id]) => id);
    }

    it('from a time: the entries at that time are delivered again, and the lag stays exact', async () => {
      const { stream } = await timeline();
      const report = await replay(driver, { stream }, 'g', new Date(2000));
      expect(report).toMatchObject({
        dryRun: false,
        from: '2000-0',
        previousLastDeliveredId: '4000-0',
        lastDeliveredId: '1999-18446744073709551615',
        entries: 4,
        exact: true,
        entriesRead: 1,
        length: 5,
      });
      expect(await groupInfo(redis, stream, 'g')).toMatchObject({ lag: 4, 'entries-read': 1 });
      expect(await readAll(stream)).toEqual(['2000-0', '2000-1', '3000-0', '4000-0']);
    });

    it('from an id, inclusive; a bare millisecond is its first id', async () => {
      const { stream } = await timeline();
      expect(await replay(driver, { stream }, 'g', '2000-1')).toMatchObject({ entries: 3 });
      expect(await readAll(stream)).toEqual(['2000-1', '3000-0', '4000-0']);
      expect(await replay(driver, { stream }, 'g', '3000')).toMatchObject({
        lastDeliveredId: '2999-18446744073709551615',
      });
      expect(await readAll(stream)).toEqual(['3000-0', '4000-0']);
      expect(await replay(driver, { stream }, 'g', '0')).toMatchObject({
        entries: 5,
        lastDeliveredId: '0-0',
      });
      expect(await readAll(stream)).toHaveLength(5);
    });

    it('a dry run measures and changes nothing; "$" skips to the end', async () => {
      const { stream } = await timeline();
      await replay(driver, { stream }, 'g', '0');
      const dry = await replay(driver, { stream }, 'g', new Date(3000), { dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, entries: 2, previousLastDeliveredId: '0-0' });
      expect(await groupInfo(redis, stream, 'g')).toMatchObject({ 'last-delivered-id': '0-0' });
      expect(await replay(driver, { stream }, 'g', '$')).toMatchObject({
        lastDeliveredId: '4000-0',
        entries: 0,
      });
      expect(await groupInfo(redis, stream, 'g')).toMatchObject({ lag: 0 });
      expect(await readAll(stream)).toEqual([]);
    });

    it('leaves entries-read unset when entries after the start were deleted; the replay is still right', async () => {
      const { stream } = await timeline();
      await redis.xdel(stream, '3000-0');
      const report = await replay(driver, { stream }, 'g', new Date(2000));
      expect(report).toMatchObject({ entries: 3, entriesRead: null });
      expect(await readAll(stream)).toEqual(['2000-0', '2000-1', '4000-0']);
    });

    it('keeps pending entries pending', async () => {
      const { topic, keys } = await arrange();
      const report = await replay(driver, topic, 'g', '0');
      expect(report).toMatchObject({ pending: 1, entries: 9 });
      expect(await groupInfo(redis, keys.stream, 'g')).toMatchObject({ pending: 1, lag: 9 });
    });

    it('refuses a group that does not exist and a start it cannot read', async () => {
      const { stream } = await timeline();
      await expect(replay(driver, { stream }, 'nobody', '0')).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(replay(driver, { stream }, 'g', 'yesterday')).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(replay(driver, { stream }, 'g', new Date(Number.NaN))).rejects.toThrow(/valid time/);
    });
  });

  describe('tail', () => {
    it('follows what is published after it started, without joining a group', async () => {
      const topic = randomTopic();
      const { stream } = streamKeys({ topic });
      await publish(driver, topic, { data: 'before' });
      const controller = new AbortController();
      let started!: () => void;
      const ready = new Promise<void>((resolve) => {
        started = resolve;
      });
      const seen: Message[] = [];
      const following = (async () => {
        for await (const message of tail(driver, topic, {
          signal: controller.signal,
          blockMs: 100,
          maxPollDelayMs: 100,
          onStart: () => started(),
        })) {
          seen.push(message);
          if (seen.length === 2) controller.abort();
        }
      })();
      await ready;
      await publish(driver, topic, { data: 'first', key: 'k' });
      await publish(driver, topic, { data: 'second' });
      await following;
      expect(seen.map((m) => [m.data, m.key, m.deliveries])).toEqual([
        ['first', 'k', 0],
        ['second', undefined, 0],
      ]);
      expect(await redis.xinfo('GROUPS', stream)).toEqual([]);
    });

    it('from an id; and by polling through a script when the driver has no read', async () => {
      const topic = randomTopic();
      const ids = (
        await publishBatch(
          driver,
          topic,
          ['a', 'b', 'c'].map((data) => ({ data })),
        )
      ).map((r) => r.id);
      for (const d of [driver, { ...driver, read: undefined }]) {
        const seen: unknown[] = [];
        for await (const message of tail(d, topic, { from: ids[0], blockMs: 50 })) {
          seen.push(message.data);
          if (seen.length === 2) break;
        }
        expect(seen).toEqual(['b', 'c']);
      }
    });

    it('an aborted tail ends', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const seen: unknown[] = [];
      for await (const message of tail(driver, randomTopic(), { signal: controller.signal, blockMs: 50 })) {
        seen.push(message);
      }
      expect(seen).toEqual([]);
    });
  });

  it('Redis unavailable: the operations reject with RedisUnavailableError', async () => {
    const down = kind.unreachable();
    await expect(topicStats(down, 'orders')).rejects.toMatchObject({ name: 'RedisUnavailableError' });
  });
});

describe('parseReplayFrom', () => {
  it('reads ids, "$" and ISO 8601 times; refuses anything else', () => {
    expect(parseReplayFrom('1700000000000-3')).toBe('1700000000000-3');
    expect(parseReplayFrom('1700000000000')).toBe('1700000000000');
    expect(parseReplayFrom('$')).toBe('$');
    expect(parseReplayFrom('2024-05-01T12:00:00Z')).toEqual(new Date('2024-05-01T12:00:00Z'));
    expect(parseReplayFrom('2024-05-01T12:00:00.250+02:00')).toEqual(new Date('2024-05-01T10:00:00.250Z'));
    expect(parseReplayFrom('2024-05-01')).toEqual(new Date('2024-05-01T00:00:00Z'));
    for (const bad of ['yesterday', '2024-13-45', '12-ab', '', '-1']) {
      expect(() => parseReplayFrom(bad)).toThrow(InvalidOptionError);
    }
  });
});
