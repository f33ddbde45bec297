/**
 * The REST driver while its REST server dies: the local Upstash REST server runs as a child process
 * and is killed with SIGKILL mid-batch (between two handlers, or with a request in flight), then
 * started again on the same port. The cycle carries on or reports an error; nothing is lost, nothing
 * acknowledged unprocessed (MONITOR on the redis-server behind it checks every XACK of the group);
 * the next cycles, on the same driver object, finish the work.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../dev/redis-server.js';
import { type DrainReport, drain } from '../../src/consume/drain.js';
import type { Driver } from '../../src/core/driver.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { publishBatch } from '../../src/publish/batch.js';
import {
  type Child,
  cleanupsAfterEach,
  compareIds,
  groupState,
  scaled,
  spawnTsx,
  until,
  watchAcks,
} from '../support/fault-kit.js';
import { newDriver, rawClient, redisUrl } from '../support/fixtures.js';

const REST_SERVER = fileURLToPath(new URL('../../dev/upstash-rest-server.ts', import.meta.url));
const VISIBILITY_MS = 300;
const redis = rawClient();
const publisher = newDriver();

const cleanups = cleanupsAfterEach();

/** The REST server as a child process on `port`; resolves once it accepts requests. */
async function startRestChild(port: number, token: string): Promise<Child> {
  const child = spawnTsx(REST_SERVER, ['--redis-url', redisUrl(), '--token', token, '--port', String(port)]);
  await child.waitForLine((line) => line.startsWith('upstash-rest listening on'), 15_000);
  return child;
}

describe('REST server killed (SIGKILL) and restarted on the same port mid-batch', () => {
  it.each([
    { when: 'between two handlers', restart: 'at once' },
    { when: 'between two handlers', restart: 'after the cycle' },
    { when: 'with a read in flight', restart: 'at once' },
  ] as const)(
    '$when, restarted $restart: nothing lost, the same driver finishes',
    async ({ when, restart }) => {
      const started = Date.now();
      const port = await freePort();
      const token = `rest-${randomUUID()}`;
      let server = await startRestChild(port, token);
      const driver: Driver = upstashDriver({
        url: `http://127.0.0.1:${port}`,
        token,
        requestTimeoutMs: 2_000,
      });

      const topic = `rest-kill-${randomUUID().slice(0, 8)}`;
      const group = 'g';
      const { stream } = streamKeys({ topic });
      cleanups.push(async () => {
        const keys = await redis.keys(`sluice:{${topic}}*`);
        if (keys.length > 0) await redis.del(...keys);
      });
      // MONITOR (the redis-server lives on): every XACK of the group must follow the handler's RPUSH of the id.
      const logKey = `${stream}:test-processed`;
      const watch = await watchAcks(redisUrl(), redis, { stream, group, logKey });
      cleanups.push(() => watch.close());
      const MESSAGES = scaled(600, 100);
      const published: string[] = [];
      for (let start = 0; start < MESSAGES; start += 500) {
        const chunk = Array.from({ length: Math.min(500, MESSAGES - start) }, (_, i) => ({
          data: start + i,
        }));
        published.push(...(await publishBatch(publisher, topic, chunk)).map((r) => r.id));
      }

      const processed = new Map<string, number>();
      const record = async (id: string) => {
        processed.set(id, (processed.get(id) ?? 0) + 1);
        await redis.rpush(logKey, id);
      };
      const killAt = Math.floor(MESSAGES / 3) + 7; // inside a batch of 50
      let killed = false;
      let down = false;
      const restartServer = async () => {
        server = await startRestChild(port, token);
        down = false;
      };
      const killServer = async (restartAtOnce: boolean) => {
        killed = true;
        down = true;
        await server.kill();
        if (restartAtOnce) await restartServer();
      };
      let reads = 0;
      const cycleDriver: Driver =
        when === 'with a read in flight'
          ? {
              ...driver,
              readGroup: (args) => {
                const reply = driver.readGroup(args);
                // The 3rd read's request is on its way when the server dies.
                if (++reads === 3 && !killed) void killServer(restart === 'at once');
                return reply;
              },
            }
          : driver;
      const options = {
        topic,
        group,
        startId: '0' as const,
        batchSize: 50,
        blockMs: 200,
        idleExitMs: 300,
        budgetMs: 10_000,
        visibilityTimeoutMs: VISIBILITY_MS,
        maxRedeliveryDelayMs: VISIBILITY_MS,
        logger: silentLogger,
      };
      const first = await drain(cycleDriver, {
        ...options,
        handler: async (message) => {
          await record(message.id);
          if (when === 'between two handlers' && processed.size === killAt && !killed)
            await killServer(restart === 'at once');
        },
      });
      expect(killed).toBe(true);
      // Carried on (the server came back in time) or said error; never a crash, never a hang.
      expect(['idle', 'error']).toContain(first.stoppedBy);
      if (first.stoppedBy === 'error') expect(first.error).toBeTruthy();
      if (restart === 'after the cycle') {
        expect(first.stoppedBy).toBe('error');
        await restartServer();
      } else await until(() => !down, 15_000, 'the REST server to be back');

      // No acknowledged message went unprocessed.
      const state = await groupState(redis, stream, group);
      for (const id of published) {
        if (compareIds(id, state.lastDeliveredId) > 0) break;
        if (!state.pending.has(id)) expect(processed.has(id), `${id} acknowledged unprocessed`).toBe(true);
      }

      // The same driver object finishes the work.
      const reports: DrainReport[] = [];
      for (;;) {
        const report = await drain(driver, {
          ...options,
          handler: (message) => record(message.id),
        });
        reports.push(report);
        expect(report.stoppedBy, report.error).not.toBe('error');
        if (report.lag === 0 && report.pending === 0) break;
        expect(reports.length).toBeLessThan(6);
        if (report.lag === 0) {
          await until(
            async () =>
              [...(await groupState(redis, stream, group)).pending.values()].some(
                (p) => p.idleMs >= VISIBILITY_MS,
              ),
            VISIBILITY_MS * 10,
            'a pending entry to pass the visibility timeout',
          );
        }
      }
      expect(published.filter((id) => !processed.has(id))).toEqual([]);
      const final = await groupState(redis, stream, group);
      expect(final.pending.size).toBe(0);
      expect(final.lag).toBe(0);
      expect(await redis.xlen(stream)).toBe(MESSAGES);
      await watch.flush();
      expect(watch.ackedUnaccounted, 'acknowledged before it was processed (MONITOR)').toEqual([]);
      expect(watch.acked.size).toBe(MESSAGES);

      const processings = [...processed.values()].reduce((a, b) => a + b, 0);
      console.log(
        `REST server SIGKILL ${when}, restarted ${restart}: first cycle ${first.stoppedBy}` +
          `${first.error ? ` (${first.error.slice(0, 100)})` : ''}, acked ${first.acked}; then ` +
          `${reports.map((r) => `${r.stoppedBy} acked ${r.acked} reclaimed ${r.reclaimed}`).join(' → ')}; ` +
          `${MESSAGES} messages, lost 0, ${processings - MESSAGES} duplicates; ${watch.xackCommands} XACKs checked by MONITOR; ${Date.now() - started} ms`,
      );
    },
    40_000,
  );
});
