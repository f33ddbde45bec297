/**
 * A child process that runs drain cycles, for the crash tests (test/fault): the parent kills it with
 * SIGKILL at a point of its choosing and checks what Redis holds afterwards.
 *
 * Run: `node --import tsx test/support/drain-child.ts '<config JSON>'` (cwd: the repository root).
 *
 * The handler records every message it processed durably, *before* it returns (so before the cycle
 * can acknowledge it): an awaited `RPUSH <logKey> <id>` on its own connection. That list is the
 * evidence of processing the parent checks acknowledgements against.
 *
 * Protocol on stdout, one line each:
 * - `P <id> <deliveries>` — the message's processing was recorded; the handler is about to return;
 * - `S <id> <deliveries>` — the handler started on a message whose data has `slow: true`, and will
 *   not finish before the cycle's deadline (it waits for the cycle's abort signal, then throws);
 * - `R <report JSON>` — a cycle ended (the child runs `cycles` cycles, then exits 0).
 * Logs and errors go to stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { drain } from '../../src/core/drain.js';
import type { Logger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';

export interface DrainChildConfig {
  readonly url: string;
  readonly topic: string;
  readonly group: string;
  /** The list the handler RPUSHes each processed message id to. */
  readonly logKey: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly budgetMs: number;
  readonly blockMs: number;
  readonly idleExitMs?: number;
  /** Each message's handler first waits a random 0..workMs ms (0: only a tick). */
  readonly workMs: number;
  /** Cycles to run before exiting. @default 1 */
  readonly cycles?: number;
}

function line(text: string): void {
  // stdout is a pipe: writes are synchronous on Linux, so the parent sees lines in order and at once.
  process.stdout.write(`${text}\n`);
}

const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => process.stderr.write(`warn ${message} ${JSON.stringify(fields)}\n`),
  error: (message, fields) => process.stderr.write(`error ${message} ${JSON.stringify(fields)}\n`),
};

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: drain-child.ts <config JSON>');
  const config = JSON.parse(raw) as DrainChildConfig;
  const driver = ioredisDriver(config.url);
  const recorder = new Redis(config.url, { maxRetriesPerRequest: 1 });
  recorder.on('error', () => {});
  try {
    for (let cycle = 0; cycle < (config.cycles ?? 1); cycle++) {
      const report = await drain(driver, {
        topic: config.topic,
        group: config.group,
        startId: '0',
        concurrency: config.concurrency,
        batchSize: config.batchSize,
        visibilityTimeoutMs: config.visibilityTimeoutMs,
        maxDeliveries: config.maxDeliveries,
        budgetMs: config.budgetMs,
        blockMs: config.blockMs,
        idleExitMs: config.idleExitMs,
        consumerPrefix: 'crash-child',
        logger: stderrLogger,
        handler: async (message, { signal }) => {
          const data = message.data as { slow?: boolean } | null;
          if (data?.slow) {
            line(`S ${message.id} ${message.deliveries}`);
            // Never finishes on its own: it is still running when the parent kills this process.
            await new Promise((_, reject) => {
              if (signal.aborted) reject(signal.reason);
              signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            });
          }
          await sleep(config.workMs > 0 ? Math.floor(Math.random() * (config.workMs + 1)) : 0);
          await recorder.rpush(config.logKey, message.id);
          line(`P ${message.id} ${message.deliveries}`);
        },
      });
      line(`R ${JSON.stringify(report)}`);
    }
  } finally {
    await driver.close();
    await recorder.quit().catch(() => recorder.disconnect());
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `drain-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
