/**
 * A child process that runs one drain cycle with a batch handler, for the batch-handler crash test
 * (test/fault): the parent kills it with SIGKILL in the middle of a batch call and checks what
 * Redis holds afterwards.
 *
 * Run: `node --import tsx test/support/batch-drain-child.ts '<config JSON>'` (cwd: the repository root).
 *
 * The batch handler goes through its messages in order and records each one it processed durably —
 * an awaited `RPUSH <logKey> <id>` on its own connection — before the call returns (so before the
 * cycle can acknowledge anything). A message whose data has `failFirst: true` is reported failed on
 * its first delivery (not recorded then). Protocol on stdout, one line each:
 * - `B <count>` — a batch call started with this many messages;
 * - `P <id> <deliveries>` — the message's processing was recorded;
 * - `R <report JSON>` — the cycle ended (the child then exits 0).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { drain } from '../../src/consume/drain.js';
import type { BatchFailure } from '../../src/consume/options.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { runChildMain } from './child-main.js';

export interface BatchDrainChildConfig {
  readonly url: string;
  readonly topic: string;
  readonly group: string;
  /** The list the handler RPUSHes each processed message id to. */
  readonly logKey: string;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly budgetMs: number;
  /** Each message takes this long (ms) inside the batch call. */
  readonly workMs: number;
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as BatchDrainChildConfig;
  const driver = ioredisDriver(config.url);
  const recorder = new Redis(config.url, { maxRetriesPerRequest: 1 });
  recorder.on('error', () => {});
  try {
    const report = await drain(driver, {
      topic: config.topic,
      group: config.group,
      startId: '0',
      batchSize: config.batchSize,
      visibilityTimeoutMs: config.visibilityTimeoutMs,
      maxRedeliveryDelayMs: config.visibilityTimeoutMs,
      maxDeliveries: config.maxDeliveries,
      budgetMs: config.budgetMs,
      blockMs: 100,
      idleExitMs: 5_000,
      consumerPrefix: 'batch-crash-child',
      batchHandler: async (messages) => {
        line(`B ${messages.length}`);
        const failed: BatchFailure[] = [];
        for (const message of messages) {
          await sleep(config.workMs);
          if ((message.data as { failFirst?: boolean }).failFirst && message.deliveries === 1) {
            failed.push({ id: message.id, error: new Error('not yet') });
            continue;
          }
          await recorder.rpush(config.logKey, message.id);
          line(`P ${message.id} ${message.deliveries}`);
        }
        return { failed };
      },
    });
    line(`R ${JSON.stringify(report)}`);
  } finally {
    await driver.close();
    await recorder.quit().catch(() => recorder.disconnect());
  }
}

runChildMain('batch-drain-child', main);
