/**
 * Tail: follow new messages of a stream without joining a consumer group.
 */
import type { Driver } from '../core/driver.js';
import { runScript } from '../core/driver.js';
import { decodeMessage, type Message } from '../core/envelope.js';
import { pollBackoff } from '../core/poll.js';
import { parseReadGroup, parseString } from '../core/replies.js';
import { streamIdOption } from '../core/stream-ids.js';
import { integerOption } from '../core/validate.js';
import { range } from './replies.js';
import { LAST_ID } from './scripts.js';
import { OPS_DEFAULTS, type OpsTarget, targetKeys } from './target.js';

export interface TailOptions {
  /** `$`: only what is published from now on; an id: the entries after it (exclusive). @default '$' */
  readonly from?: string;
  /** Ends the iteration (within `blockMs` on drivers that block). */
  readonly signal?: AbortSignal;
  /** Entries per read. @default 100 */
  readonly batchSize?: number;
  /** Longest blocking read (drivers that can block). @default 1000 */
  readonly blockMs?: number;
  /** Longest wait between polls (drivers that cannot block). @default 1000 */
  readonly maxPollDelayMs?: number;
  /** Called once, with the id after which the tail reads, before the first read. */
  readonly onStart?: (afterId: string) => void;
}

/**
 * Follows new messages of a stream without joining a consumer group: nothing is acknowledged or
 * left pending, no group sees any difference. A blocking XREAD where the driver can block, polling
 * with back-off (50 ms doubling to `maxPollDelayMs`) where it cannot. `deliveries` is 0.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * for await (const message of tail(driver, 'orders', { signal: controller.signal })) console.log(message.data);
 * ```
 */
export async function* tail(
  driver: Driver,
  target: OpsTarget,
  options: TailOptions = {},
): AsyncGenerator<Message, void, undefined> {
  const keys = await targetKeys(driver, target);
  const batchSize = integerOption('batchSize', options.batchSize ?? OPS_DEFAULTS.tailBatchSize, 1, 10_000);
  const blockMs = integerOption('blockMs', options.blockMs ?? OPS_DEFAULTS.tailBlockMs, 1);
  const maxPollDelayMs = integerOption(
    'maxPollDelayMs',
    options.maxPollDelayMs ?? OPS_DEFAULTS.tailMaxPollDelayMs,
    1,
  );
  const { signal } = options;
  let cursor =
    options.from === undefined || options.from === '$'
      ? parseString(await runScript(driver, LAST_ID, [keys.stream], []), 'last id')
      : streamIdOption('from', options.from);
  options.onStart?.(cursor);
  const blocking = driver.read !== undefined && driver.capabilities.blocking;
  const backoff = pollBackoff(maxPollDelayMs);
  while (!signal?.aborted) {
    // XREAD replies have XREADGROUP's shape.
    const entries = driver.read
      ? parseReadGroup(
          await driver.read({
            stream: keys.stream,
            afterId: cursor,
            count: batchSize,
            blockMs: blocking ? blockMs : undefined,
          }),
        )
      : (await range(driver, keys.stream, `(${cursor}`, '+', batchSize)).entries;
    if (entries.length === 0) {
      if (!blocking) await backoff.wait(signal);
      continue;
    }
    backoff.reset();
    for (const entry of entries) {
      cursor = entry.id;
      if (entry.fields !== null) yield decodeMessage(keys.stream, entry, 0);
    }
  }
}
