/**
 * A batch handler under the cycle's time rules, as the per-message handler: the deadline leaves an
 * unfinished batch pending (what it returns later is ignored), a shutdown lets it finish within the
 * grace, `handlerTimeoutMs` bounds the call, the heartbeat holds the whole batch while it runs, and
 * ordered draining acknowledges nothing after the first failed message. Over every driver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { DrainSettings } from '../../src/consume/options.js';
import type { Message } from '../../src/core/envelope.js';
import { countingAcks } from '../support/ack-counter.js';
import { arrangeBatch, batchOptions, pendingOf } from '../support/batch-kit.js';
import { DRIVERS } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** A promise and what resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A few turns of the event loop: room for an XACK that should not be sent. */
async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe.each(DRIVERS)('batch handler timing over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();
  const arrange = (count: number) => arrangeBatch(redis, driver, count);

  it('at the deadline an unfinished batch stays pending (unfinished); what it returns later is ignored', async () => {
    const { topic, keys, ids } = await arrange(3);
    const late = gate();
    const counted = countingAcks(kind.create());
    let signalled = false;
    const report = await drain(
      counted.driver,
      batchOptions(
        topic,
        async (_messages, { signal }) => {
          signal.addEventListener('abort', () => {
            signalled = true;
          });
          await late.promise;
        },
        { budgetMs: 600, idleExitMs: 5_000 },
      ),
    );
    expect(signalled).toBe(true);
    expect(report).toMatchObject({ read: 3, acked: 0, failed: 0, unfinished: 3, stoppedBy: 'budget' });
    late.open();
    await turns();
    expect(counted.xacks()).toBe(0);
    const pending = await pendingOf(redis, keys.stream);
    expect([...pending.keys()]).toEqual(ids);
    expect([...pending.values()]).toEqual([1, 1, 1]);
  });

  it('a shutdown lets the running batch finish within the grace: acknowledged, stoppedBy signal', async () => {
    const { topic, keys } = await arrange(3);
    const stop = new AbortController();
    const report = await drain(
      driver,
      batchOptions(
        topic,
        async (_messages, { signal }) => {
          stop.abort();
          await sleep(200);
          expect(signal.aborted).toBe(false);
        },
        { signal: stop.signal, shutdownGraceMs: 5_000, idleExitMs: 5_000 },
      ),
    );
    expect(report).toMatchObject({ read: 3, acked: 3, unfinished: 0, stoppedBy: 'signal' });
    expect((await pendingOf(redis, keys.stream)).size).toBe(0);
  });

  it('a shutdown without grace fires the handler’s signal: the batch stays pending, unfinished', async () => {
    const { topic, keys, ids } = await arrange(2);
    const stop = new AbortController();
    const never = gate();
    const report = await drain(
      driver,
      batchOptions(
        topic,
        async () => {
          stop.abort();
          await never.promise;
        },
        { signal: stop.signal, shutdownGraceMs: 0, idleExitMs: 5_000 },
      ),
    );
    never.open();
    expect(report).toMatchObject({ read: 2, acked: 0, unfinished: 2, stoppedBy: 'signal' });
    expect([...(await pendingOf(redis, keys.stream)).keys()]).toEqual(ids);
  });

  it('handlerTimeoutMs bounds the call: every message of the batch timed out and failed', async () => {
    const { topic, keys, ids } = await arrange(3);
    const stuck = gate();
    const report = await drain(
      driver,
      batchOptions(topic, () => stuck.promise, { handlerTimeoutMs: 200, visibilityTimeoutMs: 30_000 }),
    );
    stuck.open();
    expect(report).toMatchObject({ read: 3, acked: 0, failed: 3, timedOut: 3, unfinished: 0 });
    expect([...(await pendingOf(redis, keys.stream)).keys()]).toEqual(ids);
  });

  it('a batch call running 3.5 s under a 1 s visibility timeout keeps every message: a drain running alongside reclaims none', async () => {
    const { topic, keys } = await arrange(3);
    const calls: string[] = [];
    const handle = (who: string) => async (messages: readonly Message<number>[]) => {
      calls.push(`${who} ${messages.map((m) => m.data).join(',')}`);
      if (who === 'first') await sleep(3_500);
    };
    const options = (who: string, extra: Partial<DrainSettings>) =>
      batchOptions<number>(topic, handle(who), {
        visibilityTimeoutMs: 1_000,
        maxRedeliveryDelayMs: 1_000,
        consumerPrefix: who,
        ...extra,
      });
    const first = drain(kind.create(), options('first', { budgetMs: 10_000 }));
    await waitFor(() => calls.length > 0, { timeoutMs: 5_000, what: 'the long batch call to start' });
    // Another drain all along the call, reclaiming whatever has been idle 1 s, at its start and as it reads.
    const other = await drain(kind.create(), options('other', { budgetMs: 3_000, idleExitMs: undefined }));
    const report = await first;
    expect(calls).toEqual(['first 0,1,2']);
    expect(report).toMatchObject({ read: 3, acked: 3, unfinished: 0 });
    expect(other).toMatchObject({ reclaimed: 0, read: 0, stoppedBy: 'budget' });
    expect((await pendingOf(redis, keys.stream)).size).toBe(0);
  });

  it('ordered: nothing after the first failed message is acknowledged; those are given back, delivery count restored', async () => {
    const { topic, keys, ids } = await arrange(5);
    const [first, failing] = ids as [string, string];
    const report = await drain(
      driver,
      batchOptions(topic, () => ({ failed: [{ id: failing }, { id: ids[3] as string }] }), { ordered: true }),
    );
    expect(report).toMatchObject({ read: 5, acked: 1, failed: 1, released: 3, deadLettered: 0 });
    const pending = await pendingOf(redis, keys.stream);
    expect(pending.has(first)).toBe(false);
    expect([...pending.keys()]).toEqual(ids.slice(1));
    expect([...pending.values()]).toEqual([1, 0, 0, 0]);
  });
});
