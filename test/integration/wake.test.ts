/**
 * Event-driven draining, over every driver: an idle tick ends at once; a publish wakes one drain
 * when none is live, however many publish at once; a drain counts itself while it runs, wakes its
 * successor when work is left (the publish that raced its end included), and wakes helpers when
 * its backlog outruns its time, within maxConcurrentDrains. The waker is the test's own
 * (`functionWaker`): it records requests, and starts drains in-process where a test says so.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { DrainReport } from '../../src/consume/report.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { FINISH } from '../../src/core/wake-scripts.js';
import { functionWaker, type WakeRequest, type Waker } from '../../src/core/waker.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, recordingLogger, testDrainOptions } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** A waker that only records what it is asked. */
function recordingWaker(): Waker & { requests: WakeRequest[] } {
  const requests: WakeRequest[] = [];
  return {
    name: 'recording',
    requests,
    async wake(request) {
      requests.push(request);
    },
  };
}

/** The driver, counting every call it makes (scripts, reads, acks, writes). */
function counting(driver: Driver): { driver: Driver; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(driver, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'close') return value.bind(target);
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { driver: counted, calls: () => calls };
}

describe.each(DRIVERS)('event-driven draining over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  async function arrange() {
    const topic = randomTopic('wake');
    const keys = streamKeys({ topic });
    await redis.xgroup('CREATE', keys.stream, 'g', '$', 'MKSTREAM');
    return { topic, keys, drains: keys.drains('g') };
  }

  it('an idle scheduled tick ends at once: at most 3 Redis calls, well under a second, nothing counted', async () => {
    const { topic, drains } = await arrange();
    // Warm, as a container after its first tick: the group known, the scripts loaded in Redis.
    await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0, wake: {} }),
    );
    const { driver: counted, calls } = counting(driver);
    const started = Date.now();
    const report = await drain(
      counted,
      testDrainOptions(topic, 'g', () => {}, { budgetMs: 50_000, idleExitMs: undefined, wake: {} }),
    );
    expect(report).toMatchObject({ stoppedBy: 'idle', read: 0, lag: 0 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls()).toBeLessThanOrEqual(3);
    expect(await redis.exists(drains)).toBe(0);
  });

  it('a publish wakes one drain when none is live; 100 concurrent publishes to an idle topic wake exactly one', async () => {
    const { topic, drains } = await arrange();
    const waker = recordingWaker();
    const wake = { waker, groups: ['g'] };
    await Promise.all(Array.from({ length: 100 }, (_, i) => publish(driver, topic, { data: i }, { wake })));
    expect(waker.requests).toHaveLength(1);
    const [request] = waker.requests;
    expect(request).toMatchObject({ topic, group: 'g', reason: 'publish' });
    expect(await redis.zscore(drains, request?.drainId as string)).not.toBeNull();
    // A batch, and more single publishes, while that drain counts as live: no wake.
    await publishBatch(driver, topic, [{ data: 'a' }, { data: 'b' }], { wake });
    await publish(driver, topic, { data: 'c' }, { wake });
    expect(waker.requests).toHaveLength(1);

    // The woken drain runs under its id, handles everything, and leaves the set; nothing left, no successor.
    const seen: unknown[] = [];
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', (m) => void seen.push(m.data), {
        idleExitMs: 200,
        wake: { waker, drainId: request?.drainId },
      }),
    );
    expect(report).toMatchObject({ read: 103, acked: 103 });
    expect(seen).toHaveLength(103);
    expect(await redis.exists(drains)).toBe(0);
    expect(waker.requests).toHaveLength(1);
  });

  it('without named groups, a publish wakes the groups declared for its topic, and no other', async () => {
    const topic = randomTopic('wake-declared');
    const waker = recordingWaker();
    await publish(driver, topic, { data: 1 }, { groups: ['billing'], wake: { waker } });
    expect(waker.requests.map((r) => [r.topic, r.group])).toEqual([[topic, 'billing']]);
    const bare = randomTopic('wake-undeclared');
    await publish(driver, bare, { data: 1 }, { wake: { waker } });
    expect(waker.requests).toHaveLength(1);
  });

  it('a stream used as it is (no topic to name in a wake) wakes nothing, from a publish or a drain', async () => {
    const stream = `foreign:${randomTopic('stream')}`;
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const waker = recordingWaker();
    await publish(driver, { stream }, { data: 1 }, { groups: ['g'], wake: { waker } });
    expect(await redis.exists(streamKeys({ stream }).drains('g'))).toBe(0);
    const report = await drain(driver, {
      stream,
      group: 'g',
      handler: () => {},
      idleExitMs: 100,
      logger: silentLogger,
      wake: { waker },
    });
    expect(report.acked).toBe(1);
    await publish(driver, { stream }, { data: 2 });
    expect(waker.requests).toEqual([]);
  });

  it('a running drain counts itself until its deadline; a publish then wakes nobody', async () => {
    const { topic, drains } = await arrange();
    const waker = recordingWaker();
    await publish(driver, topic, { data: 'first' });
    let during: string | null = null;
    await drain(
      driver,
      testDrainOptions(
        topic,
        'g',
        async () => {
          const [id, score] = await redis.zrange(drains, 0, -1, 'WITHSCORES');
          during = id ? (score ?? null) : null;
          await publish(driver, topic, { data: 'during' }, { wake: { waker, groups: ['g'] } });
        },
        { idleExitMs: 200, budgetMs: 5_000, wake: { waker } },
      ),
    );
    expect(during).not.toBeNull();
    // Counted live until its deadline and a margin, no longer.
    expect(Number(during) - Date.now()).toBeLessThanOrEqual(5_000 + 5_000);
    expect(waker.requests.filter((r) => r.reason === 'publish')).toEqual([]);
  });

  it('a publish landing while the drain finishes is not left for the schedule: the drain wakes its successor', async () => {
    const { topic, drains } = await arrange();
    const waker = recordingWaker();
    await publish(driver, topic, { data: 'first' });
    // Just before the drain leaves the set, a message arrives: its publish sees the drain live.
    let raced = false;
    const racing = new Proxy(driver, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property !== 'evalSha' && property !== 'eval') return value.bind(target);
        return async (script: string, ...rest: unknown[]) => {
          if (!raced && (script === FINISH.sha1 || script === FINISH.source)) {
            raced = true;
            await publish(driver, topic, { data: 'late' }, { wake: { waker, groups: ['g'] } });
          }
          return value.call(target, script, ...rest);
        };
      },
    });
    await drain(
      racing,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 100, wake: { waker } }),
    );
    expect(raced).toBe(true);
    expect(waker.requests.map((r) => r.reason)).toEqual(['successor']);
    const [successor] = waker.requests;
    expect(await redis.zscore(drains, successor?.drainId as string)).not.toBeNull();
    const seen: unknown[] = [];
    await drain(
      driver,
      testDrainOptions(topic, 'g', (m) => void seen.push(m.data), {
        idleExitMs: 100,
        wake: { waker, drainId: successor?.drainId },
      }),
    );
    expect(seen).toEqual(['late']);
    expect(await redis.exists(drains)).toBe(0);
  });

  it('stopped by its deadline with backlog left, a drain wakes its successor at once', async () => {
    const { topic } = await arrange();
    const waker = recordingWaker();
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 50 }, (_, i) => ({ data: i })),
    );
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => new Promise((resolve) => setTimeout(resolve, 20)), {
        budgetMs: 300,
        batchSize: 5,
        wake: { waker, maxConcurrentDrains: 1 },
      }),
    );
    expect(report.stoppedBy).toBe('budget');
    expect(report.acked).toBeLessThan(50);
    expect(waker.requests.map((r) => r.reason)).toEqual(['successor']);
  });

  it('maxConcurrentDrains: a drain starting when enough are live ends at once', async () => {
    const { topic, keys, drains } = await arrange();
    await publish(driver, topic, { data: 'x' });
    const [seconds] = (await redis.time()) as [string | number];
    const live = Number(seconds) * 1000 + 60_000;
    await redis.zadd(drains, live, 'a', live, 'b');
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { wake: { maxConcurrentDrains: 2 } }),
    );
    expect(report).toMatchObject({ stoppedBy: 'idle', read: 0 });
    expect(await redis.xlen(keys.stream)).toBe(1);
    expect(await redis.zcard(drains)).toBe(2);
  });

  it('a drain that died still counted holds back wakes only until its entry expires', async () => {
    const { topic, drains } = await arrange();
    const waker = recordingWaker();
    const [seconds, micros] = (await redis.time()) as [string | number, string | number];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await redis.zadd(drains, now + 400, 'dead-drain');
    await publish(driver, topic, { data: 1 }, { wake: { waker, groups: ['g'] } });
    expect(waker.requests).toEqual([]);
    await waitFor(
      async () => {
        await publish(driver, topic, { data: 2 }, { wake: { waker, groups: ['g'] } });
        return waker.requests.length > 0;
      },
      { timeoutMs: 5_000, what: 'a wake once the dead drain expired', intervalMs: 50 },
    );
    expect(await redis.zscore(drains, 'dead-drain')).toBeNull();
    expect(waker.requests).toHaveLength(1);
  });

  it('a waker that fails or hangs never fails the publish: it answers, the failure is logged', async () => {
    const { topic, keys } = await arrange();
    const { logger, lines } = recordingLogger();
    const failing: Waker = {
      name: 'broken',
      wake: () => Promise.reject(new Error('invoke endpoint down')),
    };
    const result = await publish(
      driver,
      topic,
      { data: 1 },
      { wake: { waker: failing, groups: ['g'] }, logger },
    );
    expect(result.duplicate).toBe(false);
    expect(lines.some((l) => l.level === 'warn' && /could not wake/.test(l.message))).toBe(true);
    // A hanging waker: the publish answers within the wake timeout (2 s), not never.
    await redis.del(keys.drains('g'));
    const hanging: Waker = { name: 'hanging', wake: () => new Promise(() => {}) };
    const started = Date.now();
    await publish(driver, topic, { data: 2 }, { wake: { waker: hanging, groups: ['g'] }, logger });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await redis.xlen(keys.stream)).toBe(2);
  });

  it('fan-out: a backlog larger than one drain can finish wakes helpers, within maxConcurrentDrains; everything handled once', async () => {
    const { topic, drains } = await arrange();
    const count = 3_000;
    for (let from = 0; from < count; from += 1_000) {
      await publishBatch(
        driver,
        topic,
        Array.from({ length: 1_000 }, (_, i) => ({ data: from + i })),
      );
    }
    const handled = new Map<unknown, number>();
    const reports: Promise<DrainReport>[] = [];
    let peak = 0;
    const options = (drainId?: string) =>
      testDrainOptions(
        topic,
        'g',
        async (m) => {
          handled.set(m.data, (handled.get(m.data) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 2));
        },
        { budgetMs: 2_500, idleExitMs: 300, wake: { waker, maxConcurrentDrains: 3, drainId } },
      );
    const waker: Waker = functionWaker(async (request) => {
      peak = Math.max(peak, await redis.zcard(drains));
      reports.push(drain(driver, options(request.drainId)));
    });
    const first = await drain(driver, options());
    await waitFor(
      async () => (await Promise.all(reports)).length === reports.length && handled.size === count,
      {
        timeoutMs: 30_000,
        what: 'every message handled',
        intervalMs: 100,
      },
    );
    const all = [first, ...(await Promise.all(reports))];
    expect(all.filter((r) => r.read > 0).length).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(3);
    // Handled once each, but for a handler a drain's deadline cut short (left pending, handled again later).
    const twice = [...handled.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(all.reduce((sum, r) => sum + r.unfinished, 0));
    expect(all.reduce((sum, r) => sum + r.acked, 0)).toBeGreaterThanOrEqual(count - all.length);
  });
});
