/**
 * The @upstash/redis (HTTP REST) driver: no sockets, one HTTPS request per command.
 *
 * What differs from TCP, stated rather than hidden:
 * - no blocking reads: the drain polls with a growing back-off (50 ms doubling up to `blockMs`),
 *   and every empty poll is a billed request;
 * - Upstash allows at most 1000 pending entries per consumer, so reads never take more than
 *   {@link UPSTASH_MAX_PENDING_PER_CONSUMER} less what the cycle already holds;
 * - the SDK retries a request whose network call failed. sluice lets it do so only for commands
 *   that are safe to repeat (acknowledgements, group creation, plain reads); XADD, XREADGROUP and
 *   scripts are sent once, so a retry can never turn one publish into two messages: the caller gets an error and
 *   retries with an idempotency key if it wants exactly one.
 *
 * @example
 * ```ts
 * import { upstashDriver } from 'sluice/upstash';
 * const driver = upstashDriver({ url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN });
 * ```
 */
import { Redis, type RedisConfigNodejs, errors as upstashErrors } from '@upstash/redis';
import type { Driver, ReadArgs, ReadGroupArgs } from '../core/driver.js';
import {
  describeError,
  InvalidOptionError,
  maskCredentials,
  RedisUnavailableError,
  replyError,
} from '../core/errors.js';
import { checkInteger } from '../core/validate.js';
import { authFailure, connectionError, type Where } from './connection-errors.js';

/** Upstash's limit of pending entries per consumer. */
export const UPSTASH_MAX_PENDING_PER_CONSUMER = 1000;

export interface UpstashDriverOptions {
  /** The REST URL (`UPSTASH_REDIS_REST_URL`). */
  readonly url: string | undefined;
  /** The REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  readonly token: string | undefined;
  /**
   * Longest wait for one request's answer; a request that takes longer fails (and is retried by the
   * SDK like a network error), so a stalled connection cannot hold a cycle past its deadline.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /**
   * More @upstash/redis settings (keepAlive, retry, …). `automaticDeserialization` is always off.
   * Unless set here, network failures of repeatable commands are retried twice, after 50 and 100 ms
   * (the SDK's own default waits up to 4 s in all, longer than most drain budgets can spare).
   */
  readonly config?: Omit<RedisConfigNodejs, 'url' | 'token' | 'automaticDeserialization'>;
}

export const UPSTASH_DEFAULTS = Object.freeze({
  requestTimeoutMs: 10_000,
  retries: 2,
});

/** Redis error replies start with an upper-case code (`ERR`, `NOSCRIPT`, `BUSYGROUP`, …). */
const REPLY_CODE = /^([A-Z][A-Z_]+)\b/;
/** What a REST server says when the Redis behind it cannot be reached (the SDK hides the HTTP status). */
const UNREACHABLE =
  /unavailable|ECONN[A-Z]+|EPIPE|ETIMEDOUT|EHOSTUNREACH|timed? ?out|connection (closed|lost|refused|reset)|socket/i;

function normalise(error: unknown, where: Where): Error {
  if (error instanceof upstashErrors.UpstashError) {
    // The SDK appends ", command was: [...]", which may hold a payload: keep it out of the message.
    const message = error.message.split(', command was:', 1)[0] ?? error.message;
    // The SDK hides the status: a 401 is known by its text ("Unauthorized", "WRONGPASS …").
    const auth = authFailure(where, new Error(message));
    if (auth) return auth;
    const code = REPLY_CODE.exec(message)?.[1];
    // A REST server answers 5xx with an `ERR …` text when it cannot reach Redis: that is
    // unavailability. Only a plain ERR is looked into: other codes' texts quote key and group names.
    if (code !== undefined && !(code === 'ERR' && UNREACHABLE.test(message)))
      return replyError(code, message, error);
    return new RedisUnavailableError(`Upstash refused the request: ${message}`, { cause: error });
  }
  return (
    connectionError(where, error) ??
    new RedisUnavailableError(`Upstash is unavailable: ${describeError(error)}`, { cause: error })
  );
}

/** `host:port` of a REST URL, for error messages (never its credentials). */
function whereOf(url: string | undefined): Where {
  try {
    return { address: new URL(url ?? '').host, rest: true };
  } catch {
    return { address: maskCredentials(url ?? 'the REST server'), rest: true };
  }
}

/**
 * A driver over @upstash/redis. Give it the REST URL and token (it builds a client with
 * `automaticDeserialization: false`, so payloads like `"123"` stay strings), or a client you built
 * yourself with `automaticDeserialization: false`.
 */
export function upstashDriver(target: UpstashDriverOptions | Redis): Driver {
  // Two clients over one set of settings: `retrying` for commands that are safe to repeat, `once`
  // for writes a repeat could duplicate (XADD, the publish script) — there the caller, who gets an
  // error, decides, and an idempotency key makes its retry safe.
  let retrying: Redis;
  let once: Redis;
  if (target instanceof Redis) {
    const opts = (target as unknown as { opts?: { automaticDeserialization?: boolean } }).opts;
    if (opts?.automaticDeserialization !== false) {
      throw new InvalidOptionError(
        'automaticDeserialization',
        'Expected an @upstash/redis client created with `automaticDeserialization: false` (otherwise payloads such as "123" come back as numbers)',
      );
    }
    retrying = target;
    once = target;
  } else {
    if (typeof target?.url !== 'string' || !/^https?:\/\/\S+$/.test(target.url)) {
      throw new InvalidOptionError(
        'url',
        `Expected \`url\` to be the Upstash REST URL (https://…), got ${typeof target?.url === 'string' ? JSON.stringify(maskCredentials(target.url)) : String(target?.url)}`,
      );
    }
    if (typeof target.token !== 'string' || target.token === '') {
      throw new InvalidOptionError('token', 'Expected `token` to be the Upstash REST token');
    }
    const requestTimeoutMs = target.requestTimeoutMs ?? UPSTASH_DEFAULTS.requestTimeoutMs;
    const problem = checkInteger('requestTimeoutMs', requestTimeoutMs, 1);
    if (problem) throw new InvalidOptionError('requestTimeoutMs', problem);
    const build = (retries: number) =>
      new Redis({
        enableTelemetry: false,
        retry: { retries, backoff: (attempt) => 50 * 2 ** attempt },
        signal: () => AbortSignal.timeout(requestTimeoutMs),
        ...target.config,
        ...(retries === 0 ? { retry: { retries: 0 } } : {}),
        url: target.url,
        token: target.token,
        automaticDeserialization: false,
      });
    retrying = build(UPSTASH_DEFAULTS.retries);
    once = build(0);
  }

  const where = whereOf(
    target instanceof Redis
      ? (target as unknown as { client?: { baseUrl?: string } }).client?.baseUrl
      : target.url,
  );
  const send = async (client: Redis, args: (string | number)[]): Promise<unknown> => {
    try {
      return await client.exec(args.map(String) as [string, ...string[]]);
    } catch (error) {
      throw normalise(error, where);
    }
  };
  const call = (args: (string | number)[]) => send(retrying, args);
  const callOnce = (args: (string | number)[]) => send(once, args);
  // XACK, then the read, in one request (the REST API's /pipeline; not atomic), sent once like the read.
  const ackAndRead = async (
    { stream, group, consumer, count }: ReadGroupArgs,
    ack: readonly string[],
  ): Promise<unknown> => {
    let replies: { error?: string; result?: unknown }[];
    try {
      replies = await once
        .pipeline()
        .xack(stream, group, [...ack])
        .xreadgroup(group, consumer, stream, '>', { count })
        .exec({ keepErrors: true });
    } catch (error) {
      throw normalise(error, where);
    }
    for (const { error } of replies) if (error) throw normalise(new upstashErrors.UpstashError(error), where);
    return replies[1]?.result;
  };

  return {
    name: 'upstash',
    capabilities: {
      blocking: false,
      maxPendingPerConsumer: UPSTASH_MAX_PENDING_PER_CONSUMER,
      ackWithRead: true,
    },
    // No BLOCK over REST: `blockMs` is never passed to a driver that cannot block.
    // XREADGROUP `>` moves the group and fills the pending list: a repeat after a lost answer would
    // strand the first batch (and spend a delivery of each message), so it is sent once.
    readGroup: (args: ReadGroupArgs) =>
      args.ack === undefined || args.ack.length === 0
        ? callOnce([
            'XREADGROUP',
            'GROUP',
            args.group,
            args.consumer,
            'COUNT',
            args.count,
            'STREAMS',
            args.stream,
            '>',
          ])
        : ackAndRead(args, args.ack),
    read: ({ stream, afterId, count }: ReadArgs) =>
      call(['XREAD', 'COUNT', count, 'STREAMS', stream, afterId]),
    ack: (stream, group, ids) => call(['XACK', stream, group, ...ids]),
    add: (stream, fields) => callOnce(['XADD', stream, '*', ...fields]),
    // Scripts are sent once: the publish script without idempotency keys is not safe to repeat.
    evalSha: (sha1, keys, args) => callOnce(['EVALSHA', sha1, keys.length, ...keys, ...args]),
    eval: (source, keys, args) => callOnce(['EVAL', source, keys.length, ...keys, ...args]),
    // Nothing to close: no connection outlives a request.
    close: async () => {},
  };
}
