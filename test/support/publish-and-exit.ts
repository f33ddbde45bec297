/**
 * Child process: publish one message and a drain cycle, then simply end — no close(). The process
 * must exit by itself. The first argument is a redis:// URL, or a cluster's seed nodes
 * (`host:port,host:port`).
 */
import { drain } from '../../src/consume/drain.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { publish } from '../../src/publish/publish.js';

const [target, topic] = process.argv.slice(2) as [string, string];
const driver = target.startsWith('redis://')
  ? ioredisDriver(target)
  : ioredisClusterDriver(target.split(','));
const { id } = await publish(driver, topic, { data: 'bye' });
const report = await drain(driver, {
  topic,
  group: 'g',
  startId: '0',
  budgetMs: 2_000,
  blockMs: 50,
  idleExitMs: 0,
  logger: silentLogger,
  handler: () => {},
});
process.stdout.write(`${JSON.stringify({ id, acked: report.acked })}\n`);
