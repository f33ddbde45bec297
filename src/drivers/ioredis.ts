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
import { TLSSocket } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { Driver } from '../core/driver.js';
import {
  InvalidOptionError,
  maskCredentials,
  RedisAuthError,
  RedisUnavailableError,
} from '../core/errors.js';
import { checkInteger } from '../core/validate.js';
import { authFailure, connectionError, tlsHandshakeError, type Where } from './connection-errors.js';
import {
  afterEvent,
  type Call,
  type CallTogether,
  commandRunner,
  commandTimeoutOf,
  type Holdable,
  isReplyError,
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
  /**
   * Longest TLS handshake (`rediss://`), from the moment the TCP connection is open. Past it the
   * connection fails with "TLS handshake failed: is the server speaking TLS?": a plain Redis port
   * never answers a TLS hello, so without this the first command would wait for its timeout.
   * @default 2000
   */
  readonly tlsHandshakeTimeoutMs?: number;
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
  const { host, port, path } = client.options;
  const where = { address: path ?? `${host}:${port}` };
  // Why the connection last failed to open (an 'error' event since it was last ready): the
  // commands that fail meanwhile say that, not only that the connection closed.
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  const explainLast = (): Error | undefined =>
    lastError instanceof RedisUnavailableError || lastError instanceof RedisAuthError
      ? lastError
      : connectionError(where, lastError);
  if (client.options.tls) watchTlsHandshake(client, where, tlsHandshakeTimeoutOf(options));

  const socket = () => (client as unknown as { stream?: Holdable }).stream;
  const runner = commandRunner(
    {
      owned,
      sockets: () => [socket()],
      reset: () => afterEvent(client, 'close', () => client.disconnect(true)),
      explain: (error) => {
        if (isReplyError(error)) return authFailure(where, error);
        // A command timed out: on an open connection that says it all (a stalled server).
        if (error === undefined) return client.status === 'ready' ? undefined : explainLast();
        return connectionError(where, error) ?? explainLast();
      },
    },
    commandTimeoutMs,
  );
  if (owned) client.on('connect', () => runner.idle && socket()?.unref?.());
  // ioredis drops the commands it had sent when a connection closes, without failing them (we turn
  // its resending off): fail them here, at once, instead of at their timeout.
  client.on('close', () =>
    runner.failInFlight(
      explainLast() ??
        new RedisUnavailableError(`the connection to Redis at ${where.address} closed before it answered`),
    ),
  );

  const call: Call = (command, args, _key, waitMs) =>
    runner.run(command, () => client.call(command, ...args), waitMs);
  const together: CallTogether = (commands, _key, waitMs) =>
    runner.run(
      commands.map(([command]) => command).join('+'),
      () => {
        // One write for them all: the socket is corked while ioredis writes each command.
        const stream = (client as unknown as { stream?: { cork?(): void; uncork?(): void } }).stream;
        stream?.cork?.();
        try {
          return Promise.all(commands.map(([command, args]) => client.call(command, ...args)));
        } finally {
          stream?.uncork?.();
        }
      },
      waitMs,
    );

  return {
    name: 'ioredis',
    capabilities: { blocking: true, ackWithRead: true },
    ...streamOperations(call, together),
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

function tlsHandshakeTimeoutOf(options: IoredisDriverOptions): number {
  const timeoutMs = options.tlsHandshakeTimeoutMs ?? 2_000;
  const problem = checkInteger('tlsHandshakeTimeoutMs', timeoutMs, 1);
  if (problem) throw new InvalidOptionError('tlsHandshakeTimeoutMs', problem);
  return timeoutMs;
}

/**
 * Fails a TLS handshake that does not finish within `timeoutMs` of the TCP connection opening: a
 * plain Redis port takes the TLS hello for the start of a command line and waits for its end.
 */
function watchTlsHandshake(client: Redis, where: Where, timeoutMs: number): void {
  // 'connecting' comes before ioredis has made the socket; it is there once the current I/O is done.
  client.on('connecting', () =>
    setImmediate(() => {
      const stream = (client as unknown as { stream?: unknown }).stream;
      if (!(stream instanceof TLSSocket) || stream.destroyed) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const start = () => {
        timer = setTimeout(() => {
          if (client.status === 'connecting' && !stream.destroyed) {
            stream.destroy(tlsHandshakeError(where, `no answer to the TLS hello within ${timeoutMs} ms`));
          }
        }, timeoutMs);
        timer.unref();
      };
      stream.once('secureConnect', () => clearTimeout(timer));
      stream.once('close', () => clearTimeout(timer));
      if (stream.connecting) stream.once('connect', start);
      else start();
    }),
  );
}
