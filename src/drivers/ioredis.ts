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
import { Redis, type RedisOptions } from 'ioredis';
import type { Driver } from '../core/driver.js';
import { InvalidOptionError, maskCredentials, RedisUnavailableError } from '../core/errors.js';
import {
  afterEvent,
  type Call,
  commandRunner,
  commandTimeoutOf,
  type Holdable,
  streamOperations,
} from './ioredis-commands.js';

export {
  IOREDIS_CLUSTER_DEFAULTS,
  type IoredisClusterDriverOptions,
  ioredisClusterDriver,
} from './ioredis-cluster.js';
export { DEFAULT_COMMAND_TIMEOUT_MS } from './ioredis-commands.js';

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

export interface IoredisDriverOptions {
  /**
   * Longest wait for a command's answer, beyond its BLOCK (or WAIT) time. Past it the command fails
   * and the driver drops the connection and opens a new one: a stalled or black-holed socket is not
   * reused.
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
        `ioredisDriver needs a redis:// or rediss:// URL, got ${typeof target === 'string' ? JSON.stringify(maskCredentials(target)) : target === undefined ? 'nothing' : typeof target}`,
      );
    }
    client = new Redis(target, { ...IOREDIS_DEFAULTS, ...options.redisOptions });
    owned = true;
    // Connection errors surface on the commands that fail; without a listener ioredis prints them as unhandled.
    client.on('error', () => {});
  }
  const commandTimeoutMs = commandTimeoutOf(options.commandTimeoutMs);

  const socket = () => (client as unknown as { stream?: Holdable }).stream;
  const runner = commandRunner(
    {
      owned,
      sockets: () => [socket()],
      reset: () => afterEvent(client, 'close', () => client.disconnect(true)),
    },
    commandTimeoutMs,
  );
  if (owned) client.on('connect', () => runner.idle && socket()?.unref?.());
  // ioredis drops the commands it had sent when a connection closes, without failing them (we turn
  // its resending off): fail them here, at once, instead of at their timeout.
  client.on('close', () =>
    runner.failInFlight(new RedisUnavailableError('the connection to Redis closed before it answered')),
  );

  const call: Call = (command, args, _key, waitMs) =>
    runner.run(command, () => client.call(command, ...args), waitMs);

  return {
    name: 'ioredis',
    capabilities: { blocking: true },
    ...streamOperations(call),
    // WAIT counts the writes of its own connection: this driver has one. While it is reconnecting
    // (the write's connection gone) a WAIT would run on the next one and count nothing: refused.
    // Checked when the WAIT is about to be sent (after any reconnection under way).
    waitForReplicas: (key, replicas, timeoutMs) =>
      runner.run(
        'WAIT',
        async () => {
          if (client.status !== 'ready') {
            throw new RedisUnavailableError(
              `the connection that wrote ${JSON.stringify(key)} is gone: its replication cannot be confirmed`,
            );
          }
          return client.call('WAIT', replicas, timeoutMs);
        },
        timeoutMs,
      ),
    async close() {
      if (!owned || client.status === 'end') return;
      // Hold the process open until QUIT is answered.
      await runner.holding(async () => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      });
    },
  };
}
