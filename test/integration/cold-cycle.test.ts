/**
 * A cold start's first cycle: what it sends to Redis. A container that does not know its group yet
 * creates it in the cycle's first reclaim script (before anything is promoted or read), not in a
 * round trip of its own.
 */
import { describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { CREATE_GROUPS } from '../../src/core/scripts.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, groupInfo, randomTopic, testDrainOptions } from '../support/fixtures.js';

/**
 * The driver, recording each call it makes: its method, and for a script whether it creates groups.
 * An EVAL is not recorded: it only follows an EVALSHA the server answered NOSCRIPT (scripts not yet
 * in its cache), as the same call.
 */
function recording(driver: Driver) {
  const calls: string[] = [];
  const view = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        const createsGroups = args[0] === CREATE_GROUPS.sha1 || args[0] === CREATE_GROUPS.source;
        if (property !== 'eval') calls.push(createsGroups ? 'create-groups' : String(property));
        return value.apply(target, args);
      };
    },
  });
  return { driver: view, calls };
}

describe.each(DRIVERS)('a cold first cycle over $name', (kind) => {
  const redis = kind.redis();

  it('over a new topic: 5 calls (layout, reclaim creating the group, read, tidy, history), the group made', async () => {
    const topic = randomTopic('cold');
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', () => {}, { idleExitMs: 0 }),
    );
    expect(report).toMatchObject({ stoppedBy: 'idle', read: 0, skipped: 0, lag: 0, pending: 0 });
    expect(calls).toEqual(['evalSha', 'evalSha', 'readGroup', 'evalSha', 'evalSha']);
    expect(await groupInfo(redis, streamKeys({ topic }).stream, 'g')).toMatchObject({ consumers: 0 });
  });

  it('a delayed message already due is promoted after the group was created at "$": delivered, none skipped', async () => {
    const topic = randomTopic('cold');
    const { scheduled } = streamKeys({ topic });
    await publish(kind.create(), topic, { data: 'due', delayMs: 60_000 });
    // Due now: its time moved back rather than waited for.
    const [id] = await redis.zrange(scheduled, 0, 0);
    await redis.zadd(scheduled, 1, id as string);
    const seen: unknown[] = [];
    const { driver, calls } = recording(kind.create());
    const report = await drain(
      driver,
      testDrainOptions(topic, 'g', (message) => void seen.push(message.data), { idleExitMs: 0 }),
    );
    expect(seen).toEqual(['due']);
    expect(report).toMatchObject({ promoted: 1, read: 1, acked: 1, skipped: 0 });
    expect(calls).not.toContain('create-groups');
  });
});
