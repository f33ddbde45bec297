/**
 * A handler for the shutdown tests, loaded by `sluice drain --handler` and by shutdown-child.ts.
 * It says `START <id>` on stderr, then sleeps `data.ms` and says `DONE <id>`; or, with `data.hang`,
 * waits for its signal, says `ABORTED <id>` and throws.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HandlerContext } from '../../src/consume/options.js';
import type { Message } from '../../src/core/envelope.js';

export interface SlowData {
  readonly ms?: number;
  readonly hang?: boolean;
}

export async function handler(message: Message<SlowData>, { signal }: HandlerContext): Promise<void> {
  process.stderr.write(`START ${message.id}\n`);
  if (message.data.hang) {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    process.stderr.write(`ABORTED ${message.id}\n`);
    throw signal.reason;
  }
  await sleep(message.data.ms ?? 0);
  process.stderr.write(`DONE ${message.id}\n`);
}
