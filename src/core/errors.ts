/**
 * Every error sluice throws is a {@link SluiceError}. Subclasses carry data, and every class sets
 * an explicit `name` so that it survives minification (`constructor.name` does not).
 */
export class SluiceError extends Error {
  override name = 'SluiceError';
}

/** A library option has a value it cannot use. `option` names it. */
export class InvalidOptionError extends SluiceError {
  override name = 'InvalidOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** An environment variable has a value the functions cannot use. `variable` names it. */
export class ConfigurationError extends SluiceError {
  override name = 'ConfigurationError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/** Something given to publish (a payload, a key, a batch) is not acceptable. Nothing was written. */
export class InvalidMessageError extends SluiceError {
  override name = 'InvalidMessageError';
}

/**
 * Redis could not be reached or the connection broke while a command was under way. The command
 * may or may not have run: callers treat its outcome as unknown (a publish is safe to retry with an
 * idempotency key; a drain leaves unacknowledged messages pending).
 */
export class RedisUnavailableError extends SluiceError {
  override name = 'RedisUnavailableError';
}

/**
 * Redis refused the credentials: a wrong password or user (`WRONGPASS`), none given where one is
 * required (`NOAUTH`), or a REST token the server does not accept. A configuration error, not
 * unavailability: retrying cannot help until someone fixes the password (or token). `address` says
 * where (`host:port`, or the REST server's host), never the password.
 */
export class RedisAuthError extends SluiceError {
  override name = 'RedisAuthError';
  constructor(
    readonly address: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Query parameters that carry a secret in a connection URL (`?password=`, `?_token=`, …). */
const SECRET_PARAMETER = /([?&;][\w-]*(?:password|pass|pwd|token|secret)=)[^&#]*/gi;

/**
 * `url` (or whatever was given for one) with its credentials masked, for error messages and logs:
 * everything between the scheme's `//` and the LAST `@` becomes `***` — a password may hold spaces,
 * quotes, `/` or `@`, and a value that is not a valid URL is masked as well as one that is — and so
 * does the value of a secret query parameter. Apply it to each value before quoting it; the one
 * masking function of the package.
 *
 * @example
 * ```ts
 * maskCredentials('redis://:s3cret pw@cache:6379'); // 'redis://***@cache:6379'
 * ```
 */
export function maskCredentials(url: string): string {
  let masked = url;
  const last = masked.lastIndexOf('@');
  if (last !== -1) {
    const slashes = masked.indexOf('//');
    // After the first `//`, unless an `@` comes before it (then everything up to the last `@`).
    const start = slashes !== -1 && masked.indexOf('@') > slashes ? slashes + 2 : 0;
    masked = `${masked.slice(0, start)}***${masked.slice(last)}`;
  }
  return masked.replace(SECRET_PARAMETER, '$1***');
}

/**
 * Error replies that mean "not now" rather than "no": the server is loading its data, has lost its
 * master, or the cluster is reconfiguring. Drivers report them as {@link RedisUnavailableError}.
 */
export const UNAVAILABLE_REPLY_CODES: ReadonlySet<string> = new Set([
  'LOADING',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'READONLY',
]);

/** The error a driver raises for an error reply: unavailable for the codes above, else a reply error. */
export function replyError(
  code: string,
  message: string,
  cause: unknown,
): RedisReplyError | RedisUnavailableError {
  if (UNAVAILABLE_REPLY_CODES.has(code))
    return new RedisUnavailableError(`Redis is unavailable: ${message}`, { cause });
  return new RedisReplyError(code, message, { cause });
}

/** Redis answered a command with an error reply. `code` is the reply's first word (`BUSYGROUP`, `NOSCRIPT`, …). */
export class RedisReplyError extends SluiceError {
  override name = 'RedisReplyError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A handler ran longer than `handlerTimeoutMs`: its signal fired and the message stays pending. */
export class HandlerTimeoutError extends SluiceError {
  override name = 'HandlerTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the handler did not finish within handlerTimeoutMs (${timeoutMs} ms)`);
  }
}

/**
 * Throw this from a handler when retrying cannot help (malformed payload, unknown customer): the
 * message goes to the dead-letter stream at once instead of being redelivered.
 *
 * @example
 * ```ts
 * if (!order.id) throw new PermanentError('order has no id');
 * ```
 */
export class PermanentError extends SluiceError {
  override name = 'PermanentError';
}

/** True when `error` says a handler failure is permanent: a {@link PermanentError} or any error with `permanent: true`. */
export function isPermanent(error: unknown): boolean {
  return (
    error instanceof PermanentError ||
    (typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true)
  );
}

/** The longest retry delay a handler may choose (12 hours, as SQS's visibility timeout and Cloudflare Queues' `delaySeconds`). */
export const MAX_RETRY_DELAY_MS = 43_200_000;

/**
 * Throw this from a handler to have the message back no earlier than `delayMs` from now — a
 * downstream 429's `Retry-After`, a dependency known to be down for a while — without blocking the
 * messages behind it. It counts as a delivery: once out of deliveries, the message is dead-lettered.
 * Delays are capped at {@link MAX_RETRY_DELAY_MS}. Any error with a numeric `retryAfterMs` works alike.
 *
 * @example
 * ```ts
 * if (response.status === 429) throw new RetryLaterError(Number(response.headers.get('retry-after')) * 1000);
 * ```
 */
export class RetryLaterError extends SluiceError {
  override name = 'RetryLaterError';
  readonly retryAfterMs: number;
  constructor(delayMs: number, message?: string, options?: ErrorOptions) {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidOptionError(
        'delayMs',
        `RetryLaterError needs a delay in ms, a finite number ≥ 0; got ${String(delayMs)}`,
      );
    }
    super(message ?? `retry in ${Math.round(delayMs)} ms`, options);
    this.retryAfterMs = Math.min(Math.round(delayMs), MAX_RETRY_DELAY_MS);
  }
}

/**
 * The retry delay a failure asks for: a {@link RetryLaterError}'s, or any error's numeric
 * `retryAfterMs` (≥ 0, capped at {@link MAX_RETRY_DELAY_MS}); `undefined` when it asks for none.
 */
export function retryDelayOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const delay = (error as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) return undefined;
  return Math.min(Math.round(delay), MAX_RETRY_DELAY_MS);
}

/** A short, single-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** An operation named a consumer group that the stream does not have (or the stream does not exist). */
export class GroupNotFoundError extends SluiceError {
  override name = 'GroupNotFoundError';
  constructor(
    readonly stream: string,
    readonly group: string,
  ) {
    super(`the stream ${stream} has no consumer group ${JSON.stringify(group)}`);
  }
}

/**
 * A topic's partition count recorded in Redis differs from the one asked for. The count is fixed
 * per topic: changing it is a migration (docs/partitions.md).
 */
export class PartitionCountError extends SluiceError {
  override name = 'PartitionCountError';
  constructor(
    readonly topic: string,
    readonly recorded: number,
    readonly requested: number,
    message?: string,
  ) {
    super(
      message ??
        `topic ${JSON.stringify(topic)} has ${recorded} partition(s) recorded in Redis, not ${requested}; ` +
          'the partition count of a topic is fixed: changing it is a migration (see docs/partitions.md)',
    );
  }
}

/**
 * A publish was written to the master but fewer replicas than asked acknowledged it within the
 * time given. The message may still be lost if that master fails now; publishing again with the same
 * idempotency key is safe (it answers the first id and waits for the replicas again).
 */
export class ReplicationError extends SluiceError {
  override name = 'ReplicationError';
  constructor(
    readonly replicas: number,
    readonly acknowledged: number,
    readonly timeoutMs: number,
  ) {
    super(
      `written, but only ${acknowledged} of ${replicas} replica(s) acknowledged it within ${timeoutMs} ms`,
    );
  }
}

/**
 * An ordered drain found its lease on a partition taken by another drain (it expired: this drain
 * stalled past `leaseMs`, or Redis lost it in a failover). The drain stops handing out that
 * partition's messages at once; what it did not acknowledge stays pending.
 */
export class LeaseLostError extends SluiceError {
  override name = 'LeaseLostError';
  constructor(
    readonly key: string,
    reason = 'is no longer held by this drain (another drain may hold it)',
  ) {
    super(`the lease ${key} ${reason}`);
  }
}
