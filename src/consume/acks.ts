/**
 * Acknowledgements as handlers finish (part of phase 5, settle): a message's ack leaves as soon as
 * its handler succeeded, coalesced only with the acks that became ready in the same turn of the
 * event loop — one XACK per turn, sent from `setImmediate`, pipelined: no handler waits for it. So
 * a crash redoes at most the messages in flight and those of the last flush, while handlers that
 * all finish in one turn (synchronous or promise-only ones) still cost one XACK per batch.
 */
import { describeError } from '../core/errors.js';
import type { Delivery, Outcome } from './batch.js';
import type { Cycle } from './cycle.js';
import { acknowledge } from './settle.js';

export interface AckFlow {
  /** Queues the message at `index` (its handler succeeded) for this turn's XACK. */
  add(index: number): void;
  /**
   * Sends what is queued now and resolves once every XACK sent was answered. Those that failed
   * keep the outcome `ack`: settling sends them again.
   */
  flush(): Promise<void>;
}

/** The ack flow of one batch: sent messages become `acked` in `outcomes` once Redis answered. */
export function ackAsFinished<T>(
  cycle: Cycle<T>,
  batch: readonly Delivery[],
  outcomes: (Outcome | undefined)[],
): AckFlow {
  let queued: number[] = [];
  let turn: ReturnType<typeof setImmediate> | undefined;
  const sent = new Set<Promise<void>>();
  let warned = false;
  const send = () => {
    turn = undefined;
    if (queued.length === 0) return;
    const indexes = queued;
    queued = [];
    const ids = indexes.map((i) => (batch[i] as Delivery).entry.id);
    const reply: Promise<void> = acknowledge(cycle, ids).then(
      () => {
        for (const i of indexes) if (outcomes[i] === 'ack') outcomes[i] = 'acked';
      },
      (error: unknown) => {
        // Left as `ack`: the batch's settling acknowledges them (and ends the cycle if Redis is gone).
        if (warned) return;
        warned = true;
        cycle.options.logger.warn(
          'could not acknowledge finished messages yet; retrying when the batch settles',
          {
            stream: cycle.keys.stream,
            group: cycle.options.group,
            error: describeError(error),
          },
        );
      },
    );
    sent.add(reply);
    reply.finally(() => sent.delete(reply));
  };
  return {
    add(index) {
      queued.push(index);
      turn ??= setImmediate(send);
    },
    async flush() {
      if (turn !== undefined) clearImmediate(turn);
      send();
      await Promise.all(sent);
    },
  };
}
