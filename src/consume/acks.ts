/**
 * Acknowledgements (part of phase 5, settle). A message's ack leaves as soon as its handler
 * succeeded, coalesced only with the acks that became ready in the same turn of the event loop —
 * one XACK per turn, sent from `setImmediate`: no handler waits for it. What is still queued when
 * a batch ends (all of it, when every handler finished in one turn) is left to the cycle's next
 * read, which carries it in the same round trip where the driver can (`ackWithRead`: one request
 * per batch over REST, one write over TCP). So a crash redoes at most the messages in flight and
 * those of the last batch, no handler waits for an acknowledgement, and the cycle waits for every
 * answer before it tidies. Ordered draining waits for a batch's acks before the next message.
 */
import type { Driver } from '../core/driver.js';
import type { Delivery, Outcome } from './batch.js';
import type { Cycle } from './cycle.js';

/** The acknowledgements of a cycle: sent, or left for its next read, and answered before it tidies. */
export interface AckLine {
  /** Sends the XACK of `ids` now; resolves once answered (never rejects: a failure stops the cycle). */
  send(ids: readonly string[]): Promise<void>;
  /** Leaves `ids` for the next read to carry ({@link carry}); sent on their own without one ({@link sendLeft}). */
  leave(ids: readonly string[]): void;
  /** Takes the ids left for a read that carries them; give its reply to {@link carried}. */
  carry(): string[] | undefined;
  /** The read carrying `ids` (from {@link carry}) was sent: its answer is theirs. */
  carried(ids: readonly string[], reply: Promise<unknown>): void;
  /** Sends what was left and not carried (the cycle does something else than read next). */
  sendLeft(): void;
  /** Sends what was left; resolves once every XACK sent was answered (or the cycle's hard stop passed). */
  answered(): Promise<void>;
}

/** A cycle's ack line over `driver` (the cycle's guarded view of it). */
export function ackLine(
  driver: Driver,
  stream: string,
  group: string,
  done: { acked(count: number): void; failed(error: unknown): void },
): AckLine {
  const unanswered = new Set<Promise<void>>();
  let left: string[] = [];
  const track = (ids: readonly string[], reply: Promise<unknown>): Promise<void> => {
    // Not sent again if it fails: Redis may have run it (a reply lost on the way). The cycle ends
    // with the error, as when any Redis call fails, and what was not acknowledged stays pending.
    const answer = reply.then(
      () => done.acked(ids.length),
      (error: unknown) => done.failed(error),
    );
    unanswered.add(answer);
    answer.finally(() => unanswered.delete(answer));
    return answer;
  };
  const line: AckLine = {
    send: (ids) => track(ids, driver.ack(stream, group, ids)),
    leave(ids) {
      if (driver.capabilities.ackWithRead) left.push(...ids);
      else void line.send(ids);
    },
    carry() {
      if (left.length === 0) return undefined;
      const ids = left;
      left = [];
      return ids;
    },
    carried: (ids, reply) => void track(ids, reply),
    sendLeft() {
      const ids = line.carry();
      if (ids !== undefined) void line.send(ids);
    },
    async answered() {
      line.sendLeft();
      while (unanswered.size > 0) await Promise.all(unanswered);
    },
  };
  return line;
}

/**
 * XREADGROUP `>` for the cycle (up to `count` entries, waiting up to `blockMs`), carrying the
 * acknowledgements the batch before it left.
 */
export function readCarryingAcks<T>(cycle: Cycle<T>, count: number, blockMs?: number): Promise<unknown> {
  const ack = cycle.acks.carry();
  const reply = cycle.driver.readGroup({
    stream: cycle.keys.stream,
    group: cycle.options.group,
    consumer: cycle.consumer,
    count,
    blockMs,
    ack,
  });
  if (ack !== undefined) cycle.acks.carried(ack, reply);
  return reply;
}

export interface AckFlow {
  /** Queues the message at `index` (its handler succeeded) for this turn's XACK. */
  add(index: number): void;
  /**
   * The batch is done: what is queued goes — sent now and answered before this resolves (`wait`,
   * ordered draining), or left to the cycle's next read.
   */
  finish(wait: boolean): Promise<void>;
}

/** The ack flow of one batch: a message becomes `acked` in `outcomes` when its XACK is sent or left. */
export function ackAsFinished<T>(
  cycle: Cycle<T>,
  batch: readonly Delivery[],
  outcomes: (Outcome | undefined)[],
): AckFlow {
  let queued: number[] = [];
  let turn: ReturnType<typeof setImmediate> | undefined;
  const sent: Promise<void>[] = [];
  const take = (): string[] => {
    turn = undefined;
    const ids = queued.map((i) => (batch[i] as Delivery).entry.id);
    for (const i of queued) outcomes[i] = 'acked';
    queued = [];
    return ids;
  };
  const send = () => {
    const ids = take();
    if (ids.length > 0) sent.push(cycle.acks.send(ids));
  };
  return {
    add(index) {
      queued.push(index);
      turn ??= setImmediate(send);
    },
    async finish(wait) {
      if (turn !== undefined) clearImmediate(turn);
      if (wait) {
        send();
        await Promise.all(sent);
        return;
      }
      const ids = take();
      if (ids.length > 0) cycle.acks.leave(ids);
    },
  };
}
