/**
 * `sluice drain --handler <module>`: the module's handler (one call per message) or batch handler,
 * loaded with a usage error that says what is wrong, and wrapped so that the progress bar counts each
 * message's outcome as the cycle will.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchHandler, Handler, Handling } from '../consume/options.js';
import type { Message } from '../core/envelope.js';
import { isPermanent } from '../core/errors.js';
import { UsageError } from './context.js';

/** The module's `handler` (or default function), or its `batchHandler`: exactly one. */
export async function loadHandler(path: string): Promise<Handling> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(process.cwd(), path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`cannot load --handler ${path}: ${(error as Error).message}`);
  }
  const { batchHandler } = module;
  const handler = module.handler ?? module.default;
  if (typeof batchHandler === 'function') {
    if (typeof module.handler === 'function')
      throw new UsageError(`--handler ${path} exports both \`handler\` and \`batchHandler\`: export one`);
    return { batchHandler: batchHandler as BatchHandler };
  }
  if (typeof handler !== 'function') {
    throw new UsageError(
      `--handler ${path} exports no function named \`handler\` (nor a default function) or \`batchHandler\``,
    );
  }
  return { handler: handler as Handler };
}

/** The handler, wrapped to count each message's outcome as the cycle will (acked, failed, deadLettered). */
export function countedHandling(
  handling: Handling,
  maxDeliveries: number,
): { handling: Handling; counted: Counted } {
  const counted = { acked: 0, failed: 0, deadLettered: 0 };
  const outcome = (message: Message, error: unknown) => {
    if (error === undefined) counted.acked++;
    // A permanent failure, or one on the last allowed delivery, is dead-lettered; any other stays pending.
    else if (isPermanent(error) || message.deliveries >= maxDeliveries) counted.deadLettered++;
    else counted.failed++;
  };
  return { handling: wrapped(handling, outcome), counted };
}

/** What the wrapped handler has seen so far, in the report's words. */
export interface Counted {
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
}

/** The handler, wrapped to report each message's outcome (`error` undefined: success). */
function wrapped(handling: Handling, outcome: (message: Message, error: unknown) => void): Handling {
  if (handling.handler !== undefined) {
    const { handler } = handling;
    return {
      handler: async (message, context) => {
        try {
          await handler(message, context);
          outcome(message, undefined);
        } catch (error) {
          outcome(message, error);
          throw error;
        }
      },
    };
  }
  const { batchHandler } = handling;
  return {
    batchHandler: async (messages, context) => {
      let result: Awaited<ReturnType<BatchHandler>>;
      try {
        result = await batchHandler(messages, context);
      } catch (error) {
        for (const message of messages) outcome(message, error);
        throw error;
      }
      // An unusable result fails the batch; the report says so, the bar counts what it can.
      const failed = Array.isArray(result?.failed) ? result.failed : [];
      const byId = new Map(failed.map((f) => [f?.id, f]));
      for (const message of messages) {
        const failure = byId.get(message.id);
        outcome(
          message,
          failure === undefined ? undefined : { permanent: failure.permanent ?? isPermanent(failure.error) },
        );
      }
      return result;
    },
  };
}
