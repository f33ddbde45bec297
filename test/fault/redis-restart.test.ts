/**
 * kill -9 of redis-server (append-only file, `appendfsync always`) while publishing and while
 * draining, then a restart on the same port and data folder. The drivers are the same objects
 * before and after (a warm container): they reconnect by themselves. Every publish answered with an
 * id is still there after the restart and gets processed; a publish that failed during the outage
 * failed loudly (an error, or a 5xx from the publish endpoint), never silently.
 *
 * The REST driver talks to a local Upstash REST server in front of the same redis-server.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';
import { type RestServer, startRestServer } from '../../dev/upstash-rest-server.js';
import { drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { RedisReplyError, RedisUnavailableError, SluiceError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { createPublishEndpoint } from '../../src/http/publish-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { compareIds, groupState, scaled, until } from '../support/fault-kit.js';

const TOKEN = `publish-${randomUUID()}`;
const VISIBILITY_MS = 300;

let server: RedisServer;
let rest: RestServer;
let admin: Redis;
const drivers: Record<'ioredis' | 'upstash', Driver> = {} as Record<'ioredis' | 'upstash', Driver>;

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: true });
  rest = await startRestServer({ redisUrl: server.url, token: `rest-${randomUUID()}` });
  admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => {});
  // One driver object each for the whole file: the outages happen under them.
  drivers.ioredis = ioredisDriver(server.url, { commandTimeoutMs: 1_000 });
  drivers.upstash = upstashDriver({ url: rest.url, token: rest.token, requestTimeoutMs: 2_000 });
});

afterAll(async () => {
  await drivers.ioredis?.close().catch(() => {});
  admin?.disconnect();
  await rest?.stop();
  await server?.stop();
});

/** Redis must be up for the admin client; after a restart it reconnects by itself too. */
async function streamIds(stream: string): Promise<string[]> {
  const entries = (await admin.xrange(stream, '-', '+')) as [string, string[]][];
  return entries.map(([id]) => id);
}

interface Outcome {
  readonly ok: string[];
  /** What each failed call got: an error class name (and code), or an HTTP status. */
  readonly failures: string[];
  /** Successes after the restart. */
  okAfterRestart: number;
  failedDuringOutage: number;
}

describe('kill -9 of redis-server', () => {
  it('while publishing: every answered publish survives the restart and is drained; failures are loud; the same drivers reconnect', async () => {
    const started = Date.now();
    const topic = `restart-pub-${randomUUID().slice(0, 8)}`;
    const { stream } = streamKeys({ topic });
    const now: { phase: 'before' | 'outage' | 'after' } = { phase: 'before' };
    let running = true;

    // Publishers, for each driver: single messages (XADD), batches (the publish script), and the HTTP endpoint.
    const loops: { name: string; outcome: Outcome; done: Promise<void> }[] = [];
    for (const kind of ['ioredis', 'upstash'] as const) {
      const driver = drivers[kind];
      const endpoint = createPublishEndpoint({ driver, topics: [topic], token: TOKEN, logger: silentLogger });
      const calls: Record<string, () => Promise<string[]>> = {
        publish: async () => [(await publish(driver, topic, { data: { kind } })).id],
        batch: async () =>
          (await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 3 }])).map((r) => r.id),
        endpoint: async () => {
          const response = await endpoint({
            method: 'POST',
            topic,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ messages: [{ data: 'a' }, { data: 'b' }] }),
          });
          if (response.status === 202) return (JSON.parse(response.body) as { ids: string[] }).ids;
          throw new HttpFailure(response.status, response.headers['retry-after']);
        },
      };
      for (const [what, call] of Object.entries(calls)) {
        const outcome: Outcome = { ok: [], failures: [], okAfterRestart: 0, failedDuringOutage: 0 };
        const done = (async () => {
          while (running) {
            const at = now.phase;
            try {
              const ids = await call();
              outcome.ok.push(...ids);
              if (at === 'after') outcome.okAfterRestart++;
            } catch (error) {
              outcome.failures.push(describeFailure(error));
              if (at === 'outage') outcome.failedDuringOutage++;
              // Pace the retries of a loop that fails fast (the REST server answers at once).
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          }
        })();
        loops.push({ name: `${kind} ${what}`, outcome, done });
      }
    }

    try {
      await until(() => loops.every((l) => l.outcome.ok.length >= 20), 10_000, 'publishing to get going');
      await server.kill();
      now.phase = 'outage';
      const killedAt = Date.now();
      await until(
        () => loops.every((l) => l.outcome.failedDuringOutage >= 1),
        10_000,
        'every publisher to see the outage',
      );
      const outageMs = Date.now() - killedAt;
      await server.restart();
      now.phase = 'after';
      const restartedAt = Date.now();
      // The same driver objects reconnect by themselves.
      await until(
        () => loops.every((l) => l.outcome.okAfterRestart >= 20),
        15_000,
        'every publisher to succeed again after the restart',
      );
      const reconnectMs = Date.now() - restartedAt;
      running = false;
      await Promise.all(loops.map((l) => l.done));

      // Every publish answered with an id is in the stream, once.
      const inStream = await streamIds(stream);
      const present = new Set(inStream);
      const answered = loops.flatMap((l) => l.outcome.ok);
      expect(new Set(answered).size).toBe(answered.length);
      expect(answered.filter((id) => !present.has(id))).toEqual([]);
      // What is there and was never answered: publishes whose outcome the caller was told is unknown.
      const failures = loops.flatMap((l) => l.outcome.failures);
      const unanswered = inStream.length - answered.length;
      expect(unanswered).toBeGreaterThanOrEqual(0);
      expect(unanswered).toBeLessThanOrEqual(failures.length * 3);

      // Failures were loud. Over TCP: RedisUnavailableError; the endpoint: 503 with Retry-After.
      for (const l of loops) expect(l.outcome.failures.length, l.name).toBeGreaterThan(0);
      for (const l of loops.filter((l) => l.name.startsWith('ioredis'))) {
        const expected = l.name.endsWith('endpoint') ? 'HTTP 503 retry-after 1' : 'RedisUnavailableError';
        expect(new Set(l.outcome.failures), l.name).toEqual(new Set([expected]));
      }
      // Over REST the same: the REST server's "Redis unavailable" answer and a restarted Redis still
      // loading its data are unavailability, not error replies.
      for (const l of loops.filter((l) => l.name.startsWith('upstash'))) {
        const expected = l.name.endsWith('endpoint') ? 'HTTP 503 retry-after 1' : 'RedisUnavailableError';
        expect(new Set(l.outcome.failures), l.name).toEqual(new Set([expected]));
      }

      // Everything answered gets processed, by the same drivers, after the restart.
      for (const kind of ['ioredis', 'upstash'] as const) {
        const processed = new Set<string>();
        for (let cycle = 0; ; cycle++) {
          const report = await drain(drivers[kind], {
            topic,
            group: `g-${kind}`,
            startId: '0',
            batchSize: 200,
            blockMs: 50,
            idleExitMs: 100,
            budgetMs: 10_000,
            logger: silentLogger,
            handler: (message) => {
              processed.add(message.id);
            },
          });
          expect(report.stoppedBy, report.error).not.toBe('error');
          if (report.lag === 0 && report.pending === 0) break;
          expect(cycle).toBeLessThan(10);
        }
        expect(
          answered.filter((id) => !processed.has(id)),
          `group of ${kind}`,
        ).toEqual([]);
      }

      const summary = loops
        .map((l) => {
          const kinds = new Map<string, number>();
          for (const f of l.outcome.failures) kinds.set(f, (kinds.get(f) ?? 0) + 1);
          return `${l.name}: ${l.outcome.ok.length} ids answered, failed ${[...kinds].map(([k, n]) => `${n}× ${k}`).join(', ')}`;
        })
        .join('; ');
      console.log(
        `redis kill -9 while publishing: ${answered.length} ids answered, all ${answered.length} present after restart and processed; ` +
          `${unanswered} unanswered but written; outage ${outageMs} ms, reconnected within ${reconnectMs} ms; ${summary}; ${Date.now() - started} ms`,
      );
    } finally {
      running = false;
      await Promise.allSettled(loops.map((l) => l.done));
      if (now.phase === 'outage') await server.restart().catch(() => {});
    }
  }, 60_000);

  describe.each(['ioredis', 'upstash'] as const)('while draining over %s', (kind) => {
    it.each([{ restart: 'within the batch' as const }, { restart: 'after the cycle' as const }])(
      'mid-batch, restart $restart: nothing lost, none acknowledged unprocessed, the same driver finishes',
      async ({ restart }) => {
        const started = Date.now();
        const driver = drivers[kind];
        const topic = `restart-drain-${randomUUID().slice(0, 8)}`;
        const group = 'g';
        const { stream } = streamKeys({ topic });
        const MESSAGES = scaled(1_000, 100);
        const published: string[] = [];
        for (let start = 0; start < MESSAGES; start += 500) {
          const chunk = Array.from({ length: Math.min(500, MESSAGES - start) }, (_, i) => ({
            data: start + i,
          }));
          published.push(...(await publishBatch(drivers.ioredis, topic, chunk)).map((r) => r.id));
        }
        const processed = new Map<string, number>();
        const killAt = Math.floor(MESSAGES / 3);
        let outage = false;
        const options = {
          topic,
          group,
          startId: '0' as const,
          batchSize: 50,
          blockMs: 50,
          idleExitMs: 200,
          budgetMs: 10_000,
          visibilityTimeoutMs: VISIBILITY_MS,
          maxRedeliveryDelayMs: VISIBILITY_MS,
          logger: silentLogger,
        };
        try {
          const first = await drain(driver, {
            ...options,
            handler: async (message) => {
              processed.set(message.id, (processed.get(message.id) ?? 0) + 1);
              if (processed.size === killAt && !outage) {
                outage = true;
                await server.kill();
                if (restart === 'within the batch') {
                  await server.restart();
                  outage = false;
                }
              }
            },
          });
          if (outage) {
            // The cycle ran into the dead server: it said so, and holds nothing it did not process.
            expect(first.stoppedBy).toBe('error');
            expect(first.error).toBeTruthy();
            await server.restart();
            outage = false;
          } else {
            // Restarted under it: the cycle either carried on or stopped with an error.
            expect(['idle', 'error']).toContain(first.stoppedBy);
          }

          // After the restart: nothing lost, and every acknowledged message had been processed.
          await until(async () => (await admin.ping().catch(() => '')) === 'PONG', 5_000, 'redis to answer');
          expect(await streamIds(stream)).toEqual(published);
          const afterRestart = await groupState(admin, stream, group);
          for (const id of published) {
            if (compareIds(id, afterRestart.lastDeliveredId) > 0) break;
            if (!afterRestart.pending.has(id)) expect(processed.has(id), `acknowledged ${id}`).toBe(true);
          }

          // The same driver object finishes the work (pending entries come back after the visibility timeout).
          const reports = [first];
          for (;;) {
            const report = await drain(driver, {
              ...options,
              handler: (message) => {
                processed.set(message.id, (processed.get(message.id) ?? 0) + 1);
              },
            });
            reports.push(report);
            if (report.lag === 0 && report.pending === 0) break;
            expect(reports.length, JSON.stringify(report)).toBeLessThan(10);
            if (report.lag === 0) {
              await until(
                async () =>
                  [...(await groupState(admin, stream, group)).pending.values()].some(
                    (p) => p.idleMs >= VISIBILITY_MS,
                  ),
                VISIBILITY_MS * 10,
                'a pending entry to pass the visibility timeout',
              );
            }
          }
          expect(reports.at(-1)?.stoppedBy).not.toBe('error');
          expect(published.filter((id) => !processed.has(id))).toEqual([]);
          const final = await groupState(admin, stream, group);
          expect(final.pending.size).toBe(0);
          expect(final.lag).toBe(0);
          const processings = [...processed.values()].reduce((a, b) => a + b, 0);
          console.log(
            `redis kill -9 while draining over ${kind}, restart ${restart}: ${MESSAGES} messages, lost 0, ` +
              `${processings - MESSAGES} duplicates; first cycle ${first.stoppedBy}${first.error ? ` (${first.error})` : ''} ` +
              `acked ${first.acked}; ${reports.length - 1} more cycle(s) finished; ${Date.now() - started} ms`,
          );
        } finally {
          if (outage) await server.restart().catch(() => {});
        }
      },
      40_000,
    );
  });
});

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof HttpFailure)
    return `HTTP ${error.status}${error.retryAfter ? ` retry-after ${error.retryAfter}` : ''}`;
  if (error instanceof RedisReplyError) return `RedisReplyError ${error.code}`;
  if (error instanceof RedisUnavailableError) return 'RedisUnavailableError';
  if (error instanceof SluiceError) return error.name;
  return `unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
}
