/** The answers of the ops endpoint, as far as the page reads them (see src/ops for the full types). */

export interface GroupStats {
  readonly name: string;
  readonly lag: number | null;
  readonly pending: number;
  readonly oldestPendingAgeMs: number | null;
  readonly oldestPendingIdleMs: number | null;
  readonly consumers: number;
  readonly deadLetters: number;
  readonly lastDeliveredId: string;
  /** With `?history=1`: from the drain history (src/ops/history.ts). */
  readonly rates?: Rates;
  readonly history?: readonly HistoryMinute[];
  readonly drains?: DrainsNow;
}

/** Messages per second over a window. */
export interface Rate {
  readonly processed: number;
  readonly failed: number;
  readonly deadLettered: number;
}

export interface Rates {
  readonly '1m': Rate;
  readonly '5m': Rate;
  readonly '15m': Rate;
}

/** One minute of a group's drains (only minutes in which a drain ran). */
export interface HistoryMinute {
  readonly at: number;
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly cycles: number;
  readonly errors: number;
}

export interface DrainRecord {
  readonly endedAt: number;
  readonly durationMs: number;
  readonly stoppedBy: string;
  readonly error?: string;
  readonly read: number;
  readonly reclaimed: number;
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
}

export interface DrainsNow {
  readonly running: number;
  readonly last: DrainRecord | null;
  readonly recent: readonly DrainRecord[];
}

export interface TopicStats {
  readonly topic: string | null;
  readonly stream: string;
  readonly partition?: number;
  readonly exists: boolean;
  readonly length: number;
  readonly lastId: string | null;
  /** Delayed messages not yet moved into the stream, and when the earliest is due (ms since the epoch). */
  readonly scheduled: number;
  readonly nextDueAt: number | null;
  readonly measuredAt: number;
  readonly groups: readonly GroupStats[];
}

/** `GET /stats`. */
export interface StatsAnswer {
  readonly measuredAt: number;
  readonly topics: readonly TopicStats[];
}

export interface DeadLetter {
  readonly id: string;
  readonly format: string;
  readonly data?: unknown;
  readonly fields?: unknown;
  readonly reason?: string | null;
  readonly error?: string | null;
  readonly deliveries?: number | null;
  readonly sourceStream?: string | null;
  readonly sourceId?: string | null;
  readonly key?: string | null;
  readonly deadAt?: string | null;
}

/** `GET …/dead-letters`. */
export interface DeadLetterPage {
  readonly deadLetters: readonly DeadLetter[];
  readonly next: string | null;
  readonly total: number;
}

/** `POST …/redrive`. */
export interface RedriveAnswer {
  readonly redriven: number;
  readonly remaining: number;
  readonly counts: Readonly<
    Record<'pending' | 'unread' | 'appended' | 'blocked' | 'missing' | 'invalid', number>
  >;
}

/** `POST …/replay`. */
export interface ReplayAnswer {
  readonly dryRun: boolean;
  readonly from: string;
  readonly entries: number;
  readonly exact: boolean;
  readonly pending: number;
  readonly length: number;
}

/** `POST …/purge`. */
export interface PurgeAnswer {
  readonly purged: number;
  readonly remaining: number;
}
