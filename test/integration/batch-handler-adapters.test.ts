/**
 * The Lambda, Vercel and QStash drain adapters take a batch handler as `drain` does: one call per
 * batch, its failures left pending, the rest acknowledged; both handlers (or a batch handler with
 * `concurrency` above 1) fail the cold start. Over Upstash REST, where these functions run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { lambdaDrainHandler } from '../../src/adapters/aws-lambda.js';
import { qstashDrainHandler } from '../../src/adapters/qstash.js';
import { vercelDrainHandler } from '../../src/adapters/vercel.js';
import type { BatchHandler, DrainOptions } from '../../src/consume/options.js';
import type { DrainReport } from '../../src/consume/report.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { arrangeBatch, pendingOf } from '../support/batch-kit.js';
import { DRIVERS, lambdaContext } from '../support/fixtures.js';

const rest = DRIVERS.find((kind) => kind.name === 'upstash') as (typeof DRIVERS)[number];
const driver = rest.create();
const redis = rest.redis();
const cronSecret = 'cron-secret-0123456789abcdef';
const currentSigningKey = 'sig_current0123456789abcdefghij';
const nextSigningKey = 'sig_next9876543210zyxwvutsrqpo';
const url = 'https://sluice.example/api/qstash-drain';

/** A QStash signature over an empty body for `url` (HS256 JWT, as QStash signs). */
function sign(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ body: createHash('sha256').update('').digest('base64url') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(url)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .setJti(`jwt_${randomUUID()}`)
    .sign(new TextEncoder().encode(currentSigningKey));
}

/** Runs one drain of 3 messages through `run`, the batch handler failing the second. */
async function drainThrough(
  run: (topic: string, batchHandler: BatchHandler) => Promise<DrainReport>,
): Promise<void> {
  const { topic, keys, ids } = await arrangeBatch(redis, driver, 3);
  const calls: string[][] = [];
  const report = await run(topic, (messages) => {
    calls.push(messages.map((m) => m.id));
    return { failed: [{ id: ids[1] as string, error: new Error('not yet') }] };
  });
  expect(calls).toEqual([ids]);
  expect(report).toMatchObject({ read: 3, acked: 2, failed: 1 });
  expect([...(await pendingOf(redis, keys.stream)).keys()]).toEqual([ids[1]]);
}

const common = { group: 'g', budgetMs: 3_000, blockMs: 50, idleExitMs: 100, logger: silentLogger } as const;

describe('drain adapters with a batch handler', () => {
  it('lambdaDrainHandler', async () => {
    await drainThrough((topic, batchHandler) =>
      lambdaDrainHandler({ driver, topic, ...common, metrics: false, batchHandler })(
        {},
        lambdaContext(10_000),
      ),
    );
  });

  it('vercelDrainHandler', async () => {
    await drainThrough(async (topic, batchHandler) => {
      const route = vercelDrainHandler({
        driver,
        topic,
        ...common,
        maxDurationSeconds: 10,
        cronSecret,
        batchHandler,
      });
      const response = await route(
        new Request('https://sluice.example/api/drain', {
          headers: { authorization: `Bearer ${cronSecret}` },
        }),
      );
      expect(response.status).toBe(200);
      return (await response.json()) as DrainReport;
    });
  });

  it('qstashDrainHandler', async () => {
    await drainThrough(async (topic, batchHandler) => {
      const route = qstashDrainHandler({
        driver,
        topic,
        ...common,
        currentSigningKey,
        nextSigningKey,
        batchHandler,
      });
      const response = await route(
        new Request(url, { method: 'POST', headers: { 'upstash-signature': await sign() }, body: '' }),
      );
      expect(response.status).toBe(200);
      return (await response.json()) as DrainReport;
    });
  });

  it('both handlers, or a batch handler at concurrency 4, fail the cold start', () => {
    const both = { driver, topic: 'orders', ...common, handler: () => {}, batchHandler: () => {} };
    const build = [
      () => lambdaDrainHandler(both as unknown as Parameters<typeof lambdaDrainHandler>[0]),
      () =>
        vercelDrainHandler({ ...both, maxDurationSeconds: 10, cronSecret } as unknown as Parameters<
          typeof vercelDrainHandler
        >[0]),
      () =>
        qstashDrainHandler({ ...both, currentSigningKey, nextSigningKey } as unknown as Parameters<
          typeof qstashDrainHandler
        >[0]),
    ];
    for (const make of build) expect(make).toThrow(/exactly one of `handler` and `batchHandler`/);
    const batchAt4: DrainOptions = { topic: 'orders', ...common, batchHandler: () => {}, concurrency: 4 };
    expect(() => lambdaDrainHandler({ driver, ...batchAt4 })).toThrow(InvalidOptionError);
  });
});
