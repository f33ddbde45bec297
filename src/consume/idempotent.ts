/**
 * Idempotent handlers made easy: run a handler's side effects once per message id and group, even
 * when the message is delivered again (a crash between the handler and its acknowledgement, a
 * handler that outlived the visibility timeout, a replay).
 */
import { type Driver, defineScript, runScript } from '../core/driver.js';
import type { Message } from '../core/envelope.js';
import { InvalidOptionError, SluiceError } from '../core/errors.js';
import { streamKeys } from '../core/keys.js';
import { checkInteger } from '../core/validate.js';
import type { Handler, HandlerContext } from './options.js';

export interface IdempotentOptions {
  readonly driver: Driver;
  /** The consumer group the handler serves (records are per group). */
  readonly group: string;
  /**
   * How long a message is remembered as processed. Keep it longer than any redelivery or replay
   * you expect (visibility timeouts, back-off, retention).
   * @default 604800000 (7 days)
   */
  readonly ttlMs?: number;
  /**
   * How long a running handler holds its message against a concurrent delivery of the same id.
   * Keep it above the handler's longest run.
   * @default 60000
   */
  readonly lockMs?: number;
}

export const IDEMPOTENT_DEFAULTS = Object.freeze({ ttlMs: 604_800_000, lockMs: 60_000 });

/** Another delivery of the same message is being handled right now; this one stays pending and comes back later. */
export class AlreadyRunningError extends SluiceError {
  override name = 'AlreadyRunningError';
}

/** KEYS: processed, lock. ARGV: lockMs, token. Returns `done`, `run` (lock taken) or `busy`. */
const BEGIN = /* @__PURE__ */ defineScript(
  'sluice-idempotent-begin',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'done' end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1]) then return 'run' end
return 'busy'
`,
);

/** KEYS: processed, lock. ARGV: ttlMs (0: only release), token. Records success and releases the lock (if still ours). */
const FINISH = /* @__PURE__ */ defineScript(
  'sluice-idempotent-finish',
  `
if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
`,
);

/**
 * Wraps a handler so it runs at most once per message id for `group`: a message already processed
 * is acknowledged without calling it again. Costs two Redis round trips per message.
 *
 * The record is written after the handler succeeds, so a crash in between runs the handler again
 * on redelivery: make the last step of the handler itself idempotent where that matters.
 *
 * @example
 * ```ts
 * const handler = idempotent(async (message) => chargeCustomer(message.data), { driver, group: 'billing' });
 * ```
 */
export function idempotent<T>(handler: Handler<T>, options: IdempotentOptions): Handler<T> {
  const ttlMs = options.ttlMs ?? IDEMPOTENT_DEFAULTS.ttlMs;
  const lockMs = options.lockMs ?? IDEMPOTENT_DEFAULTS.lockMs;
  for (const [name, value] of [
    ['ttlMs', ttlMs],
    ['lockMs', lockMs],
  ] as const) {
    const problem = checkInteger(name, value, 1);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  const { driver, group } = options;
  return async (message: Message<T>, context: HandlerContext) => {
    const keys = streamKeys({ stream: message.stream });
    const scriptKeys = [keys.processed(group, message.id), `${keys.processed(group, message.id)}:lock`];
    const token = globalThis.crypto.randomUUID();
    const state = await runScript(driver, BEGIN, scriptKeys, [lockMs, token]);
    if (state === 'done') return;
    if (state !== 'run')
      throw new AlreadyRunningError(`message ${message.id} is being handled by another delivery`);
    let succeeded = false;
    try {
      await handler(message, context);
      succeeded = true;
    } finally {
      await runScript(driver, FINISH, scriptKeys, [succeeded ? ttlMs : 0, token]);
    }
  };
}
