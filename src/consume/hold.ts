/**
 * The hold on a batch: a batch whose handling outlasts a tenth of the visibility timeout renews its
 * hold on the messages it has not finished (the TOUCH script), so another cycle does not take over
 * (and run again) those still waiting. What is done by then is acknowledged first: held any longer,
 * it could be taken over and run again.
 */
import { runScript } from '../core/driver.js';
import { describeError } from '../core/errors.js';
import { TOUCH } from '../core/scripts.js';
import type { BatchRun } from './batch.js';
import type { Cycle } from './cycle.js';
import { acknowledge } from './settle.js';

export interface BatchHold {
  /**
   * Renews the hold when it is due: resolves the renewal under way (wait for it before handing out
   * the next message), or `undefined` when none is.
   */
  keep(): Promise<void> | undefined;
  /** Resolves once no renewal is under way (settling must not race one: it would ack twice). */
  idle(): Promise<void>;
}

/**
 * The hold on `run`'s batch, taken when its messages were handed to this consumer. A message is
 * handed out at most a tenth of the visibility timeout after its hold was renewed, so that a
 * handler finishing within nine tenths of it is never run twice at once.
 */
export function holdBatch<T>(cycle: Cycle<T>, run: BatchRun): BatchHold {
  const holdEveryMs = cycle.options.visibilityTimeoutMs / 10;
  let heldSince = Date.now();
  let renewing: Promise<void> | undefined;
  return {
    keep() {
      if (renewing !== undefined) return renewing;
      if (Date.now() - heldSince < holdEveryMs) return undefined;
      renewing = renewHold(cycle, run).finally(() => {
        heldSince = Date.now(); // after a failure too: best effort, at-least-once holds either way
        renewing = undefined;
      });
      return renewing;
    },
    async idle() {
      if (renewing !== undefined) await renewing;
    },
  };
}

/** Acknowledges what finished, then renews the hold on what did not. Never throws. */
async function renewHold<T>(cycle: Cycle<T>, run: BatchRun): Promise<void> {
  const unsettled: number[] = [];
  const finished: number[] = [];
  for (let i = 0; i < run.batch.length; i++) {
    if (run.outcomes[i] === undefined) unsettled.push(i);
    else if (run.outcomes[i] === 'ack') finished.push(i);
  }
  try {
    await acknowledge(
      cycle,
      finished.map((i) => idOf(run, i)),
    );
    for (const i of finished) run.outcomes[i] = 'acked';
    await touch(cycle, run, unsettled);
  } catch (error) {
    cycle.options.logger.warn('could not renew the hold on a batch', {
      stream: cycle.keys.stream,
      error: describeError(error),
    });
  }
}

/** Renews the hold on `indexes` (TOUCH); those another consumer holds now are `lost`. */
async function touch<T>(cycle: Cycle<T>, run: BatchRun, indexes: readonly number[]): Promise<void> {
  const { driver, keys, consumer, options: o } = cycle;
  const ids = indexes.map((i) => idOf(run, i));
  const lost = await runScript(driver, TOUCH, [keys.stream], [o.group, consumer, ...ids]);
  const gone = new Set(Array.isArray(lost) ? lost.map(String) : []);
  for (const i of indexes) {
    if (!gone.has(idOf(run, i))) continue;
    run.outcomes[i] = 'lost';
    run.halted = o.ordered; // another consumer holds it: what comes after it must wait
  }
}

function idOf(run: BatchRun, index: number): string {
  return (run.batch[index] as (typeof run.batch)[number]).entry.id;
}
