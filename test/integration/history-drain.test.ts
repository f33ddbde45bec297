/**
 * The drain history over every driver: each cycle records its report (one script call per stream
 * served, none per message: the tidy script's, which records what it tidied, or one of its own for
 * a cycle that did not tidy), rates and per-minute series are read from it, a partitioned topic adds
 * its partitions up, a running drain counts as running, and a failed or stalled history write never
 * fails nor holds up the drain.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { HISTORY_WRITE_MS } from '../../src/consume/history.js';
import { TIDY } from '../../src/core/cycle-scripts.js';
import { declareTopic } from '../../src/core/declare.js';
import type { Driver } from '../../src/core/driver.js';
import { PermanentError } from '../../src/core/errors.js';
import { RECORD_DRAIN } from '../../src/core/history-scripts.js';
import { streamKeys } from '../../src/core/keys.js';
import { partitionedTopicStats, topicHistory, topicStats } from '../../src/ops/index.js';
import { publishBatch } from '../../src/publish/batch.js';
import { DRIVERS, randomTopic, recordingLogger, testDrainOptions } from '../support/fixtures.js';
import { notNearMinuteEnd } from '../support/history-kit.js';
import { waitFor } from '../support/wait-for.js';

/** The scripts that record a cycle: the tidy script (a cycle that tidies records in it), else RECORD_DRAIN. */
const RECORDING = new Map<unknown, 'tidy' | 'record'>([
  [TIDY.sha1, 'tidy'],
  [TIDY.source, 'tidy'],
  [RECORD_DRAIN.sha1, 'record'],
  [RECORD_DRAIN.source, 'record'],
]);

/**
 * The driver, counting the calls of the scripts that record (`records`: an EVALSHA, or the EVAL
 * after a server answered NOSCRIPT the first time it met the script: those are `uncached`); `behave`
 * replaces those it is given (by which script).
 */
function countingRecords(
  driver: Driver,
  behave?: (script: 'tidy' | 'record') => Promise<unknown> | undefined,
) {
  const calls = { records: 0, uncached: 0 };
  const proxy = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        const script = property === 'evalSha' || property === 'eval' ? RECORDING.get(args[0]) : undefined;
        if (script === undefined) return value.apply(target, args);
        const replaced = behave?.(script);
        if (replaced !== undefined) return replaced;
        return (value.apply(target, args) as Promise<unknown>).then(
          (result) => {
            calls.records++;
            return result;
          },
          (error: unknown) => {
            calls.uncached++;
            throw error;
          },
        );
      };
    },
  });
  return { driver: proxy as Driver, calls };
}

describe.each(DRIVERS)('drain history over $name', (kind) => {
  const driver = kind.create();
  const redis = kind.redis();

  it("records each cycle's report: the minute's counts, the last drain, the rates", async () => {
    await notNearMinuteEnd();
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    await publishBatch(driver, topic, [{ data: 'ok' }, { data: 'ok' }, { data: 'dead' }, { data: 'retry' }]);
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', async (m) => {
        if (m.data === 'dead') throw new PermanentError('no such order');
        if (m.data === 'retry') throw new Error('try later');
      }),
    );
    expect(report).toMatchObject({ acked: 2, failed: 1, deadLettered: 1, stoppedBy: 'idle' });

    const { groups, measuredAt } = await topicHistory(driver, topic);
    expect(groups).toHaveLength(1);
    const g = groups[0];
    const minutes = g?.history ?? [];
    const total = (name: 'acked' | 'failed' | 'deadLettered' | 'read' | 'cycles' | 'errors') =>
      minutes.reduce((sum, b) => sum + b[name], 0);
    expect([total('acked'), total('failed'), total('deadLettered'), total('read')]).toEqual([2, 1, 1, 4]);
    expect([total('cycles'), total('errors')]).toEqual([1, 0]);
    expect(minutes.at(-1)?.at).toBe(Math.floor(measuredAt / 60_000) * 60_000);
    expect(g?.drains.last).toMatchObject({
      consumer: report.consumer,
      stoppedBy: 'idle',
      acked: 2,
      deadLettered: 1,
      durationMs: report.durationMs,
    });
    expect(g?.drains.last?.endedAt).toBeGreaterThan(measuredAt - 10_000);
    expect(g?.drains.running).toBe(0);
    // Everything happened within the last minute: per second over 1 minute is the count over 60.
    expect(g?.rates['1m']).toEqual({ processed: 0.033, failed: 0.017, deadLettered: 0.017 });
    expect(g?.rates['15m'].processed).toBe(0.002);

    // Both keys share the stream's slot and expire.
    const keys = streamKeys({ topic });
    expect(await redis.pttl(keys.history('g'))).toBeGreaterThan(24 * 3_600_000);
    expect(await redis.pttl(keys.reports('g'))).toBeGreaterThan(24 * 3_600_000);
  });

  it('one script call per cycle, however many messages it handled', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    const counted = countingRecords(driver);
    await publishBatch(driver, topic, [{ data: 1 }]);
    await drain(
      counted.driver,
      testDrainOptions(topic, 'g', async () => {}),
    );
    expect(counted.calls.records).toBe(1);
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 150 }, (_, i) => ({ data: i })),
    );
    const report = await drain(
      counted.driver,
      testDrainOptions(topic, 'g', async () => {}, { batchSize: 20 }),
    );
    expect(report.acked).toBe(150);
    expect(counted.calls.records).toBe(2);
    const history = await topicHistory(driver, topic);
    expect(history.groups[0]?.history.reduce((sum, b) => sum + b.acked, 0)).toBe(151);
    expect(history.groups[0]?.drains.recent).toHaveLength(2);
  });

  it("a partitioned topic: each partition's history on its own stream, read added up", async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { partitions: 3, groups: ['g'] });
    const counted = countingRecords(driver);
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 30 }, (_, i) => ({ data: i, key: `k${i}` })),
    );
    const report = await drain(
      counted.driver,
      testDrainOptions(topic, 'g', async () => {}),
    );
    expect(report.acked).toBe(30);
    expect(counted.calls.records).toBe(3);
    const stats = await partitionedTopicStats(driver, topic, { history: true });
    const perPartition = stats.map((s) => s.groups[0]?.history?.reduce((sum, b) => sum + b.acked, 0));
    expect(perPartition).toEqual(report.partitions?.map((p) => p.acked));
    const { groups } = await topicHistory(driver, topic);
    expect(groups[0]?.history.reduce((sum, b) => sum + b.acked, 0)).toBe(30);
    expect(groups[0]?.drains.recent.map((r) => r.partition).sort()).toEqual([0, 1, 2]);
  });

  it('a drain counts as running from its first read to its report', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    await publishBatch(driver, topic, [{ data: 1 }]);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const running = drain(
      driver,
      testDrainOptions(topic, 'g', async () => {
        started = true;
        await held;
      }),
    );
    await waitFor(() => started, { timeoutMs: 5_000, what: 'the handler to start' });
    expect((await topicHistory(driver, topic)).groups[0]?.drains).toMatchObject({ running: 1, last: null });
    release();
    const report = await running;
    expect((await topicHistory(driver, topic)).groups[0]?.drains).toMatchObject({
      running: 0,
      last: { consumer: report.consumer, acked: 1 },
    });
  });

  it('stats add rates, history and drains only when asked', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    await publishBatch(driver, topic, [{ data: 1 }]);
    await drain(
      driver,
      testDrainOptions(topic, 'g', async () => {}),
    );
    const plain = await topicStats(driver, topic);
    expect(plain.groups[0]).not.toHaveProperty('rates');
    const full = await topicStats(driver, topic, { history: true });
    expect(full.groups[0]).toMatchObject({
      name: 'g',
      pending: 0,
      drains: { running: 0, last: { acked: 1 } },
    });
    expect(full.groups[0]?.rates?.['1m'].processed).toBeGreaterThan(0);
    expect(full.groups[0]?.history).toHaveLength(1);
  });

  it('a failed history write is a warning: the drain still returns its report, measured', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    await publishBatch(driver, topic, [{ data: 1 }]);
    const { logger, lines } = recordingLogger();
    // The reports list is a key of another type: the tidy script tidies, measures, and cannot record.
    await redis.set(streamKeys({ topic }).reports('g'), 'not a list');
    const report = await drain(driver, { ...testDrainOptions(topic, 'g', async () => {}), logger });
    expect(report).toMatchObject({ acked: 1, stoppedBy: 'idle', lag: 0, pending: 0 });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({
        message: 'could not record the drain in its history',
        fields: expect.objectContaining({ group: 'g', error: expect.stringContaining('WRONGTYPE') }),
      }),
    ]);
    expect(lines.filter((l) => l.message === 'sluice drain cycle')).toHaveLength(1);
  });

  it('a failed tidy: the report is recorded on its own, a warning each when that fails too', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    await publishBatch(driver, topic, [{ data: 1 }]);
    const { logger, lines } = recordingLogger();
    const failing = countingRecords(driver, (script) =>
      script === 'tidy' ? Promise.reject(new Error('tidy refused')) : undefined,
    );
    const report = await drain(failing.driver, { ...testDrainOptions(topic, 'g', async () => {}), logger });
    expect(report).toMatchObject({ acked: 1, stoppedBy: 'idle', lag: null });
    expect(failing.calls.records).toBe(1);
    expect((await topicHistory(driver, topic)).groups[0]?.drains.last).toMatchObject({ acked: 1, lag: null });
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['tidy phase failed']);

    const refused = countingRecords(driver, () => Promise.reject(new Error('history refused')));
    const { logger: logger2, lines: lines2 } = recordingLogger();
    await drain(refused.driver, { ...testDrainOptions(topic, 'g', async () => {}), logger: logger2 });
    expect(lines2.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ message: 'tidy phase failed' }),
      expect.objectContaining({
        message: 'could not record the drain in its history',
        fields: expect.objectContaining({ error: expect.stringContaining('history refused') }),
      }),
    ]);
  });

  it('a history write that never answers holds the report back by at most HISTORY_WRITE_MS', async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    const { logger, lines } = recordingLogger();
    // The tidy script fails, so the report is written on its own: that write never answers.
    const stalled = countingRecords(driver, (script) =>
      script === 'tidy' ? Promise.reject(new Error('tidy refused')) : new Promise(() => {}),
    );
    const startedAt = Date.now();
    const report = await drain(stalled.driver, {
      ...testDrainOptions(topic, 'g', async () => {}),
      logger,
    });
    const tookMs = Date.now() - startedAt;
    expect(report.stoppedBy).toBe('idle');
    expect(tookMs).toBeGreaterThanOrEqual(report.durationMs + HISTORY_WRITE_MS - 50);
    expect(tookMs).toBeLessThan(report.durationMs + HISTORY_WRITE_MS + 1_000);
    expect(
      lines.find((l) => l.message === 'could not record the drain in its history')?.fields,
    ).toMatchObject({
      error: `no answer within ${HISTORY_WRITE_MS} ms`,
    });
  });

  it("a failed cycle's report is recorded without holding the drain up, even when the write never answers", async () => {
    const topic = randomTopic();
    await declareTopic(driver, topic, { groups: ['g'] });
    // A plain topic has partition 0 only: naming partition 3 fails the invocation before any cycle.
    const failing = { ...testDrainOptions(topic, 'g', async () => {}), assignedPartitions: [3] };
    const report = await drain(driver, failing);
    expect(report.stoppedBy).toBe('error');
    await waitFor(async () => (await topicHistory(driver, topic)).groups[0]?.drains.last !== null, {
      timeoutMs: 5_000,
      what: 'the failed cycle in the history',
    });
    const { groups } = await topicHistory(driver, topic);
    expect(groups[0]?.drains.last).toMatchObject({
      stoppedBy: 'error',
      error: expect.stringContaining('partition'),
    });
    expect(groups[0]?.history.at(-1)).toMatchObject({ cycles: 1, errors: 1 });

    const stalled = countingRecords(driver, () => new Promise(() => {}));
    const startedAt = Date.now();
    expect((await drain(stalled.driver, failing)).stoppedBy).toBe('error');
    expect(Date.now() - startedAt).toBeLessThan(HISTORY_WRITE_MS / 2);
  });
});
