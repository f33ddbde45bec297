/**
 * A drain's `schema` at consume time: each message's `data` is checked before a handler sees it.
 * A valid message's `data` becomes the schema's output; an invalid one is a dead-letter candidate
 * (reason `invalid`, the issues as its error), never handed out. Only drains given a schema come
 * here: without one nothing of this runs.
 */
import type { Message } from '../core/envelope.js';
import { type Checked, checkValue, MessageSchemaError, type StandardSchemaV1 } from '../core/schema.js';
import type { BatchRun, Delivery } from './batch.js';
import type { DeadLetterCandidate } from './dead-letters.js';

/** A message checked: to hand out (its `data` the schema's output), or to dead-letter. */
export type CheckedMessage<T> = { readonly message: Message<T> } | { readonly dead: DeadLetterCandidate };

/**
 * Checks `message` against `schema`: synchronously when the schema is synchronous. A payload that
 * is not JSON (its `data` throws) is dead-lettered as `permanent`, as without a schema.
 */
export function checkMessage<T>(
  schema: StandardSchemaV1<unknown, T>,
  delivery: Delivery,
  message: Message<T>,
): CheckedMessage<T> | Promise<CheckedMessage<T>> {
  let data: unknown;
  try {
    data = message.data;
  } catch (error) {
    return { dead: candidate(delivery, 'permanent', error) };
  }
  const result = checkValue(schema, data, ['data']);
  return result instanceof Promise
    ? result.then((r) => settled(delivery, message, r))
    : settled(delivery, message, result);
}

function settled<T>(delivery: Delivery, message: Message<T>, result: Checked<T>): CheckedMessage<T> {
  if ('issues' in result)
    return { dead: candidate(delivery, 'invalid', new MessageSchemaError(result.issues)) };
  // The schema's output (it may coerce or add defaults) shadows the lazily parsed payload.
  Object.defineProperty(message, 'data', { value: result.value, enumerable: true });
  return { message };
}

function candidate(
  { entry, deliveries }: Delivery,
  reason: DeadLetterCandidate['reason'],
  error: unknown,
): DeadLetterCandidate {
  return { id: entry.id, fields: entry.fields ?? [], deliveries, reason, error };
}

/**
 * Checks a batch handler's messages (`handed`: their indexes in the batch): the invalid ones get
 * their dead-letter verdict in `run`, the valid ones are returned to be handed out. Ordered: the
 * first invalid message ends the batch there, as a failure would (what follows is given back).
 */
export async function checkBatch<T>(
  schema: StandardSchemaV1<unknown, T>,
  ordered: boolean,
  run: BatchRun,
  handed: readonly number[],
  messages: readonly Message<T>[],
): Promise<{ handed: number[]; messages: Message<T>[] }> {
  const checks = await Promise.all(
    handed.map((index, i) => checkMessage(schema, run.batch[index] as Delivery, messages[i] as Message<T>)),
  );
  const valid = { handed: [] as number[], messages: [] as Message<T>[] };
  for (const [i, check] of checks.entries()) {
    const index = handed[i] as number;
    if ('message' in check) {
      valid.handed.push(index);
      valid.messages.push(check.message);
      continue;
    }
    run.outcomes[index] = check.dead;
    if (ordered) {
      run.next = index + 1;
      break;
    }
  }
  return valid;
}
