/**
 * The hold on a batch: a heartbeat renews this consumer's hold on every message of the batch not
 * finished yet — those whose handler runs and those still waiting their turn — every tenth of the
 * visibility timeout (the TOUCH script: XCLAIM JUSTID of what is still this consumer's), so that
 * another cycle takes over none of them, however long a handler runs. It beats until the batch is
 * done or the cycle stops waiting for it (its deadline, a stop): a handler's message is held until
 * the handler ends, its `handlerTimeoutMs` or the deadline. One timer per cycle serves every hold
 * (a batch costs no timer of its own); it is cleared when the cycle closes.
 */

import { TOUCH } from '../core/cycle-scripts.js';
import { runScript } from '../core/driver.js';
import { describeError } from '../core/errors.js';
import type { BatchRun } from './batch.js';
import type { Cycle } from './cycle.js';

export interface BatchHold {
  /**
   * Before a message is handed out: `undefined` while the hold is fresh, else the renewal to wait
   * for (the heartbeat is late: a handler blocked the event loop, or Redis is slow).
   */
  keep(): Promise<void> | undefined;
  /**
   * Stops the heartbeat; resolves once no renewal is under way (settling must not race one), with
   * when the hold was last renewed (ms since the epoch: a batch read ahead is handed on held since then).
   */
  release(): Promise<number>;
}

/** What a hold needs of a batch: its messages, their verdicts so far, and whether one was lost (ordered). */
export type HeldBatch = Pick<BatchRun, 'batch' | 'outcomes' | 'halted'>;

/** One timer for every hold of a cycle: it looks at each of them twice per renewal period. */
export interface Heartbeat {
  /** Adds a hold's check, called on every beat until {@link remove}. */
  add(check: () => void): void;
  remove(check: () => void): void;
  /** Clears the timer (the cycle ends). */
  stop(): void;
}

/** The heartbeat of a cycle whose holds are renewed every `everyMs`. */
export function heartbeat(everyMs: number): Heartbeat {
  const checks = new Set<() => void>();
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    add(check) {
      checks.add(check);
      timer ??= setInterval(() => {
        for (const c of checks) c();
      }, everyMs / 2);
    },
    remove: (check) => void checks.delete(check),
    stop() {
      clearInterval(timer);
      timer = undefined;
      checks.clear();
    },
  };
}

/**
 * The hold on `run`'s batch, taken when its messages were handed to this consumer (`heldFrom`: a
 * batch read ahead was held since its read, or its hold's last renewal). The cycle's heartbeat
 * renews it once it is a tenth of the visibility timeout old (within half that again); a message
 * is handed out at most a fifth of the visibility timeout after its hold was last renewed.
 */
export function holdBatch<T>(cycle: Cycle<T>, run: HeldBatch, heldFrom = Date.now()): BatchHold {
  const everyMs = cycle.options.visibilityTimeoutMs / 10;
  let heldSince = heldFrom;
  let renewing: Promise<void> | undefined;
  const renew = (): Promise<void> => {
    if (renewing !== undefined) return renewing;
    // Redis resets the idle time when it runs the script, after it was sent: held since sending.
    const sentAt = Date.now();
    renewing = renewHold(cycle, run).finally(() => {
      heldSince = sentAt; // after a failure too: best effort, at-least-once holds either way
      renewing = undefined;
    });
    return renewing;
  };
  const check = () => {
    if (Date.now() - heldSince >= everyMs) void renew();
  };
  cycle.heartbeat.add(check);
  return {
    keep() {
      if (Date.now() - heldSince < 2 * everyMs) return undefined;
      return renew();
    },
    async release() {
      cycle.heartbeat.remove(check);
      if (renewing !== undefined) await renewing;
      return heldSince;
    },
  };
}

/** Renews the hold on every message of the batch without a verdict yet. Never throws. */
async function renewHold<T>(cycle: Cycle<T>, run: HeldBatch): Promise<void> {
  const unsettled: number[] = [];
  for (let i = 0; i < run.batch.length; i++) if (run.outcomes[i] === undefined) unsettled.push(i);
  if (unsettled.length === 0) return;
  try {
    await touch(cycle, run, unsettled);
  } catch (error) {
    cycle.options.logger.warn('could not renew the hold on a batch', {
      stream: cycle.keys.stream,
      error: describeError(error),
    });
  }
}

/**
 * Renews the hold on `indexes` (TOUCH). Those another consumer holds now are `lost`, unless they got
 * a verdict meanwhile (an XACK that overtook the script is no loss).
 */
async function touch<T>(cycle: Cycle<T>, run: HeldBatch, indexes: readonly number[]): Promise<void> {
  const { driver, keys, consumer, options: o } = cycle;
  const ids = indexes.map((i) => idOf(run, i));
  const lost = await runScript(driver, TOUCH, [keys.stream], [o.group, consumer, ...ids]);
  const gone = new Set(Array.isArray(lost) ? lost.map(String) : []);
  for (const i of indexes) {
    if (!gone.has(idOf(run, i)) || run.outcomes[i] !== undefined) continue;
    run.outcomes[i] = 'lost';
    run.halted = o.ordered; // another consumer holds it: what comes after it must wait
  }
}

function idOf(run: HeldBatch, index: number): string {
  return (run.batch[index] as (typeof run.batch)[number]).entry.id;
}
