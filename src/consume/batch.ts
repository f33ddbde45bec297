/**
 * What the phases of a cycle hand one another: a batch of deliveries (from reclaim or read), what
 * became of each message while the handler ran (process, hold), and what settling must do.
 */
import type { RawEntry } from '../core/replies.js';
import type { AckFlow } from './acks.js';
import type { DeadLetterCandidate } from './dead-letters.js';

/** A stream entry with the delivery count Redis holds for it. */
export interface Delivery {
  readonly entry: RawEntry;
  readonly deliveries: number;
}

/** A failed message to deliver again `retryInMs` from now (the settle phase schedules it). */
export interface Retry {
  readonly id: string;
  readonly retryInMs: number;
}

/**
 * What became of a message of a batch: `ack` (its handler succeeded; its XACK waits for the turn's
 * flush), `acked` (its XACK was sent), a retry, `lost` (another consumer holds it now), or a
 * dead-letter candidate. `undefined` while its handler runs (or never ran).
 */
export type Outcome = 'ack' | 'acked' | 'lost' | Retry | DeadLetterCandidate;

/** True when an outcome is a retry (else, when an object, a dead-letter candidate). */
export function isRetry(outcome: Outcome | undefined): outcome is Retry {
  return typeof outcome === 'object' && 'retryInMs' in outcome;
}

/** A batch being processed: shared by the handler calls (process), its acks and the hold on it (hold). */
export interface BatchRun {
  readonly batch: readonly Delivery[];
  readonly outcomes: (Outcome | undefined)[];
  /** Acknowledgements sent as handlers succeed, one XACK per event-loop turn. */
  readonly acks: AckFlow;
  /** Index of the next message to hand out; those from here on were never started. */
  next: number;
  /** False once the cycle stopped waiting for the batch: late verdicts are ignored. */
  open: boolean;
  /** Ordered draining: a message was left pending, so nothing after it may be handed out. */
  halted: boolean;
}

/** What the settle phase does with a processed batch (its successes were acknowledged already). */
export interface Settlement {
  readonly dead: readonly DeadLetterCandidate[];
  /** Failed messages, each to be delivered again after its delay. */
  readonly retries: readonly Retry[];
  /** Messages never handed to the handler: given back with their delivery count restored. */
  readonly unstarted: readonly Delivery[];
  /** Messages started and left pending (failed, or unfinished at the deadline). */
  readonly keptPending: number;
}

/**
 * Phases 4 and 5 over one batch, as the cycle runs them. Resolves `true` when every message was
 * acknowledged or dead-lettered (ordered draining waits for a batch that leaves one pending).
 * `heldSince`: when the hold on a batch read ahead was last renewed (else: just read).
 */
export type HandleBatch = (batch: readonly Delivery[], heldSince?: number) => Promise<boolean>;
