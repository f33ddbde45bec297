/**
 * Dead letters: messages that failed for good. They are kept per topic and consumer group, with
 * the original fields followed by constant `dlq.*` fields saying why.
 */

import { DEAD_LETTER } from '../core/cycle-scripts.js';
import { type Driver, runScript } from '../core/driver.js';
import { describeError, SluiceError } from '../core/errors.js';
import type { StreamKeys } from '../core/keys.js';
import { parseString } from '../core/replies.js';

/** The fields sluice stamps on a dead letter. */
export const DEAD_LETTER_FIELDS = Object.freeze({
  /** `permanent` (the handler threw a PermanentError), `max-deliveries`, or `invalid` (it failed the drain's `schema`). */
  reason: 'dlq.reason',
  /** The last error, `Name: message`, at most 1000 characters. */
  error: 'dlq.error',
  /** Deliveries the message had when it was dead-lettered. */
  deliveries: 'dlq.deliveries',
  /** The id of the original entry in the source stream. */
  sourceId: 'dlq.source-id',
  /** The source stream's key. */
  sourceStream: 'dlq.source-stream',
  /** The consumer group that gave up on it. */
  group: 'dlq.group',
  /** When, as an ISO 8601 time. */
  deadAt: 'dlq.dead-at',
});

export type DeadLetterReason = 'permanent' | 'max-deliveries' | 'invalid';

export interface DeadLetterCandidate {
  readonly id: string;
  /** The original entry's flat field list. */
  readonly fields: readonly string[];
  readonly deliveries: number;
  readonly reason: DeadLetterReason;
  readonly error: unknown;
}

const MAX_ERROR_LENGTH = 1000;

/**
 * Moves entries this consumer holds to the group's dead-letter stream, acknowledging each original
 * in the same atomic step. Resolves the ids moved (an entry acknowledged or claimed by someone else
 * meanwhile is left alone).
 */
export async function deadLetter(
  driver: Driver,
  keys: StreamKeys,
  group: string,
  consumer: string,
  candidates: readonly DeadLetterCandidate[],
  now: Date = new Date(),
): Promise<string[]> {
  if (candidates.length === 0) return [];
  const args: (string | number)[] = [group, consumer, candidates.length];
  for (const c of candidates) {
    const stamped = [
      ...c.fields,
      DEAD_LETTER_FIELDS.reason,
      c.reason,
      DEAD_LETTER_FIELDS.error,
      describeError(c.error).slice(0, MAX_ERROR_LENGTH),
      DEAD_LETTER_FIELDS.deliveries,
      String(c.deliveries),
      DEAD_LETTER_FIELDS.sourceId,
      c.id,
      DEAD_LETTER_FIELDS.sourceStream,
      keys.stream,
      DEAD_LETTER_FIELDS.group,
      group,
      DEAD_LETTER_FIELDS.deadAt,
      now.toISOString(),
    ];
    args.push(c.id, stamped.length, ...stamped);
  }
  const reply = await runScript(
    driver,
    DEAD_LETTER,
    [keys.stream, keys.deadLetters(group), keys.retrySchedule(group)],
    args,
  );
  if (!Array.isArray(reply))
    throw new SluiceError(`Unexpected dead-letter reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  return reply.map((id) => parseString(id, 'dead-lettered id'));
}
