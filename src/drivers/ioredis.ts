/**
 * The ioredis (TCP) driver.
 *
 * @example
 * ```ts
 * import { ioredisDriver } from 'sluice/ioredis';
 * // At module scope: one connection per warm container, reused by every invocation.
 * const driver = ioredisDriver(process.env.REDIS_URL);
 * ```
 */
import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import type { Driver, ReadArgs, ReadGroupArgs } from '../core/driver.js';
import { describeError, InvalidOptionError, RedisUnavailableError, replyError } from '../core/errors.js';
import { checkInteger } from '../core/validate.js';

/** Defaults that suit a function: fail a command fast when Redis is away instead of queueing it for long. */
export const IOREDIS_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  lazyConnect: true,
  enableAutoPipelining: false,
  // A command whose connection broke failed: say so, don't send it again behind the caller's back
  // (a repeated XADD would publish twice).
  autoResendUnfulfilledCommands: false,
});

/** How long a command may go unanswered (plus its BLOCK time) before the connection is presumed dead. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

function normalise(error: unknown): Error {
  // instanceof, not `name`: redis-errors derives `name` from the constructor, which minifiers rename.
  if (error instanceof (ReplyError as ErrorConstructor) && error instanceof Error) {
    return replyError(error.message.split(' ', 1)[0] ?? '', error.message, error);
  }
  return new RedisUnavailableError(`Redis is unavailable: ${describeError(error)}`, { cause: error });
}

export interface IoredisDriverOptions {
  /**
   * Longest wait for a command's answer, beyond its BLOCK time. Past it the command fails and the
   * driver drops the connection and opens a new one: a stalled or black-holed socket is not reused.
   * @default 5000
   */
  readonly commandTimeoutMs?: number;
  /** Extra ioredis options, merged over {@link IOREDIS_DEFAULTS}. */
  readonly redisOptions?: RedisOptions;
}

/**
 * A driver over ioredis. Give it a `redis://` / `rediss://` URL (the driver owns and closes the
 * connection) or an existing client (you own it; `close()` leaves it open).
 */
export function ioredisDriver(
  target: string | Redis | undefined,
  options: IoredisDriverOptions = {},
): Driver {
  let client: Redis;
  let owned: boolean;
  if (target instanceof Redis) {
    client = target;
    owned = false;
  } else {
    if (typeof target !== 'string' || !/^rediss?:\/\//.test(target)) {
      throw new InvalidOptionError(
        'url',
        `ioredisDriver needs a redis:// or rediss:// URL, got ${target === undefined ? 'nothing' : JSON.stringify(target)}`,
      );
    }
    client = new Redis(target, { ...IOREDIS_DEFAULTS, ...options.redisOptions });
    owned = true;
    // Connection errors surface on the commands that fail; without a listener ioredis prints them as unhandled.
    client.on('error', () => {});
  }

  // The socket holds the process open only while a command is under way, so a local script ends
  // by itself when its work is done (a Lambda container is frozen between invocations anyway).
  let inFlight = 0;
  const socket = () => (client as unknown as { stream?: { ref?(): void; unref?(): void } }).stream;
  if (owned) client.on('connect', () => inFlight === 0 && socket()?.unref?.());

  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const problem = checkInteger('commandTimeoutMs', commandTimeoutMs, 1);
  if (problem) throw new InvalidOptionError('commandTimeoutMs', problem);

  // ioredis drops the commands it had sent when a connection closes, without failing them (we turn
  // its resending off): fail them here, at once, instead of at their timeout.
  const dropped = new Set<(error: Error) => void>();
  client.on('close', () => {
    for (const fail of dropped)
      fail(new RedisUnavailableError('the connection to Redis closed before it answered'));
  });
  // After a timeout the connection is dropped and reopened; commands wait for the old one to be
  // gone, or its closing would fail them too.
  let resetting: Promise<void> | undefined;
  const reset = () => {
    if (!owned || resetting) return;
    resetting = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(fallback);
        resetting = undefined;
        resolve();
      };
      const fallback = setTimeout(done, 1_000);
      client.once('close', done);
    });
    client.disconnect(true);
  };

  const call = async (command: string, args: (string | number)[], blockMs = 0): Promise<unknown> => {
    if (resetting) await resetting;
    if (inFlight++ === 0) socket()?.ref?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let fail: (error: Error) => void = () => {};
    const interrupted = new Promise<never>((_resolve, reject) => {
      fail = reject;
      dropped.add(fail);
      timer = setTimeout(() => {
        reject(new RedisUnavailableError(`Redis did not answer ${command} within ${commandTimeoutMs} ms`));
        // The socket may be dead without knowing it (a black-holed network): start afresh.
        reset();
      }, commandTimeoutMs + blockMs);
    });
    try {
      return await Promise.race([client.call(command, ...args), interrupted]);
    } catch (error) {
      throw error instanceof RedisUnavailableError ? error : normalise(error);
    } finally {
      clearTimeout(timer);
      dropped.delete(fail);
      if (--inFlight === 0 && owned) socket()?.unref?.();
    }
  };

  return {
    name: 'ioredis',
    capabilities: { blocking: true },
    createGroup: (stream, group, startId) => call('XGROUP', ['CREATE', stream, group, startId, 'MKSTREAM']),
    readGroup: ({ stream, group, consumer, count, blockMs }: ReadGroupArgs) =>
      call(
        'XREADGROUP',
        blockMs === undefined
          ? ['GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>']
          : ['GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>'],
        blockMs,
      ),
    read: ({ stream, afterId, count, blockMs }: ReadArgs) =>
      call(
        'XREAD',
        blockMs === undefined
          ? ['COUNT', count, 'STREAMS', stream, afterId]
          : ['COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId],
        blockMs,
      ),
    ack: (stream, group, ids) => call('XACK', [stream, group, ...ids]),
    add: (stream, fields) => call('XADD', [stream, '*', ...fields]),
    evalSha: (sha1, keys, args) => call('EVALSHA', [sha1, keys.length, ...keys, ...args]),
    eval: (source, keys, args) => call('EVAL', [source, keys.length, ...keys, ...args]),
    async close() {
      if (!owned || client.status === 'end') return;
      socket()?.ref?.(); // hold the process open until QUIT is answered
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
