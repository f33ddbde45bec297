/**
 * A drain in event-driven mode in a process of its own, for the fault tests: it drains
 * `{ url, topic, group, budgetMs }` (argv[2], JSON) over ioredis with `wake: {}`, and its handler
 * prints `H <id>` and then never finishes — so the parent can SIGKILL it while it counts among the
 * group's live drains.
 */
import { drain } from '../../src/consume/drain.js';
import { silentLogger } from '../../src/core/logger.js';
import { ioredisDriver } from '../../src/drivers/ioredis.js';

const { url, topic, group, budgetMs } = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  topic: string;
  group: string;
  budgetMs: number;
};
const driver = ioredisDriver(url);
await drain(driver, {
  topic,
  group,
  budgetMs,
  logger: silentLogger,
  wake: {},
  handler: (message) => {
    process.stdout.write(`H ${message.id}\n`);
    return new Promise(() => {});
  },
});
await driver.close();
