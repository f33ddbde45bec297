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

/** `POST …/purge`. */
export interface PurgeAnswer {
  readonly purged: number;
  readonly remaining: number;
}
