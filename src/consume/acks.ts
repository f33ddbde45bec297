/**
 * Acknowledgements as handlers finish (part of phase 5, settle): a message's ack leaves as soon as
 * its handler succeeded, coalesced only with the acks that became ready in the same turn of the
 * event loop — one XACK per turn, sent from `setImmediate`, pipelined: no handler waits for it. So
 * a crash redoes at most the messages in flight and those of the last flush, while handlers that
 * all finish in one turn (synchronous or promise-only ones) still cost one XACK per batch.
 */
import type { Delivery, Outcome } from './batch.js';
import type { Cycle } from './cycle.js';

export interface AckFlow {
  /** Queues the message at `index` (its handler succeeded) for this turn's XACK. */
  add(index: number): void;
  /** Sends what is queued now and resolves once every XACK sent was answered (or failed). */
  flush(): Promise<void>;
}

/** The ack flow of one batch: a message becomes `acked` in `outcomes` when its XACK is sent. */
export function ackAsFinished<T>(
  cycle: Cycle<T>,
  batch: readonly Delivery[],
  outcomes: (Outcome | undefined)[],
): AckFlow {
  let queued: number[] = [];
  let turn: ReturnType<typeof setImmediate> | undefined;
  const sent = new Set<Promise<void>>();
  const send = () => {
    turn = undefined;
    if (queued.length === 0) return;
    const indexes = queued;
    queued = [];
    const ids = indexes.map((i) => (batch[i] as Delivery).entry.id);
    for (const i of indexes) outcomes[i] = 'acked';
    // Not sent again if it fails: Redis may have run it (a reply lost on the way). The cycle ends
    // with the error, as when any Redis call fails, and what was not acknowledged stays pending.
    const reply: Promise<void> = cycle.driver.ack(cycle.keys.stream, cycle.options.group, ids).then(
      () => {
        cycle.counts.acked += ids.length;
      },
      (error: unknown) => cycle.stop('error', error),
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
