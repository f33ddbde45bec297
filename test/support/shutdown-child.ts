/**
 * A process that drains the way a library user's does, for the shutdown tests: `library` wires
 * `shutdownSignal()` into `drain` and exits with its code; `lambda` calls a `lambdaDrainHandler`
 * (which listens for SIGTERM and SIGINT while its cycle runs) with a fake context.
 *
 * Run: `node --import tsx test/support/shutdown-child.ts '<config JSON>'`. Says `STOPPING` on stderr
 * when the shutdown signal aborts (library mode), `R <report JSON>` on stdout at the end.
 */
import { lambdaDrainHandler } from '../../src/adapters/aws-lambda.js';
import { drain } from '../../src/consume/drain.js';
import { shutdownSignal } from '../../src/consume/shutdown.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';
import { handler, type SlowData } from './slow-handler.js';

interface Config {
  readonly mode: 'library' | 'lambda';
  readonly redisUrl: string;
  readonly topic: string;
  readonly group: string;
  readonly shutdownGraceMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const driver = ioredisDriver(config.redisUrl);
const options = {
  topic: config.topic,
  group: config.group,
  handler,
  budgetMs: 30_000,
  shutdownGraceMs: config.shutdownGraceMs,
  logger: silentLogger,
};

if (config.mode === 'library') {
  const shutdown = shutdownSignal();
  shutdown.signal.addEventListener('abort', () => process.stderr.write('STOPPING\n'));
  const report = await drain<SlowData>(driver, { ...options, signal: shutdown.signal });
  shutdown.dispose();
  process.stdout.write(`R ${JSON.stringify(report)}\n`);
  process.exitCode = report.stoppedBy === 'signal' ? shutdown.exitCode : 0;
} else {
  const lambda = lambdaDrainHandler<SlowData>({ ...options, driver, metrics: false });
  const end = Date.now() + 60_000;
  const report = await lambda({}, { getRemainingTimeInMillis: () => end - Date.now() });
  process.stdout.write(`R ${JSON.stringify(report)}\n`);
}
await driver.close();
