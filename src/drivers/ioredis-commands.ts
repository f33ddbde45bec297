/**
 * What the ioredis drivers (single node and cluster) share: how a command is sent — with a
 * deadline, holding the process open only while it is under way, its error normalised — and which
 * commands each driver operation sends.
 */
import { ReplyError } from 'ioredis';
import type { Driver, ReadArgs, ReadGroupArgs } from '../core/driver.js';
import {
  describeError,
  InvalidOptionError,
  RedisAuthError,
  RedisUnavailableError,
  replyError,
} from '../core/errors.js';
import { checkInteger } from '../core/validate.js';

/** How long a command may go unanswered (plus its BLOCK time) before the connection is presumed dead. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** An error reply from Redis (`ERR …`, `NOGROUP …`, `WRONGPASS …`). */
export function isReplyError(error: unknown): error is Error {
  // instanceof, not `name`: redis-errors derives `name` from the constructor, which minifiers rename.
  return error instanceof (ReplyError as ErrorConstructor) && error instanceof Error;
}

/**
 * An ioredis failure as a sluice error: what `explain` makes of it (a refused password, a closed
 * port, …), else a reply error with its code, anything else unavailability.
 */
export function normalise(error: unknown, explain?: (error: unknown) => Error | undefined): Error {
  if (error instanceof RedisUnavailableError || error instanceof RedisAuthError) return error;
  const explained = explain?.(error);
  if (explained) return explained;
  if (isReplyError(error)) return replyError(error.message.split(' ', 1)[0] ?? '', error.message, error);
  return new RedisUnavailableError(`Redis is unavailable: ${describeError(error)}`, { cause: error });
}

/** A socket that may hold the process open. */
export interface Holdable {
  ref?(): void;
  unref?(): void;
}

/** What the shared command machinery needs from a client. */
export interface Link {
  /** The sockets the client has open now. */
  sockets(): Iterable<Holdable | undefined>;
  /** The driver opened the client itself: it may unref its sockets and drop its connections. */
  readonly owned: boolean;
  /**
   * Drops the connection(s) after a command went unanswered (the socket may be dead without knowing
   * it: a black-holed network), so that the next command starts afresh. Resolves once they are gone.
   */
  reset(): Promise<void>;
  /** Called before every command (the cluster reconnects here after it gave up). */
  beforeCommand?(): void;
  /**
   * The error to report for `error` — or, given undefined (a command timed out), for the state of
   * the connection: why it last failed to open, if it did — when that says more than the default.
   */
  explain?(error: unknown): Error | undefined;
}

export interface Runner {
  /**
   * Sends one command through `send` and waits for its answer: at most `commandTimeoutMs` plus
   * `waitMs` (a BLOCK or WAIT time), then it fails as unavailable and the link is reset.
   */
  run<R>(label: string, send: () => Promise<R>, waitMs?: number): Promise<R>;
  /** No command is under way. */
  readonly idle: boolean;
  /** Fails every command under way at once (their connection closed and ioredis will not answer them). */
  failInFlight(error: Error): void;
  /** Holds the process open until `work` is done (QUIT on close). */
  holding<T>(work: () => Promise<T>): Promise<T>;
}

export function commandTimeoutOf(value: number | undefined): number {
  const commandTimeoutMs = value ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const problem = checkInteger('commandTimeoutMs', commandTimeoutMs, 1);
  if (problem) throw new InvalidOptionError('commandTimeoutMs', problem);
  return commandTimeoutMs;
}

/**
 * The command machinery over `link`. Sockets hold the process open only while a command is under
 * way, so a local script ends by itself when its work is done (a Lambda container is frozen
 * between invocations anyway).
 */
export function commandRunner(link: Link, commandTimeoutMs: number): Runner {
  let inFlight = 0;
  const hold = () => {
    for (const socket of link.sockets()) socket?.ref?.();
  };
  const release = () => {
    if (!link.owned) return;
    for (const socket of link.sockets()) socket?.unref?.();
  };
  const interrupts = new Set<(error: Error) => void>();
  // After a timeout the connections are dropped and reopened; commands wait for the old ones to be
  // gone, or their closing would fail them too.
  let resetting: Promise<void> | undefined;
  const reset = () => {
    if (!link.owned || resetting) return;
    resetting = link.reset().finally(() => {
      resetting = undefined;
    });
  };

  return {
    get idle() {
      return inFlight === 0;
    },
    failInFlight(error) {
      for (const fail of interrupts) fail(error);
    },
    async holding(work) {
      hold();
      return work();
    },
    async run(label, send, waitMs = 0) {
      if (resetting) await resetting;
      link.beforeCommand?.();
      if (inFlight++ === 0) hold();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let fail: (error: Error) => void = () => {};
      const interrupted = new Promise<never>((_resolve, reject) => {
        fail = reject;
        interrupts.add(fail);
        timer = setTimeout(() => {
          reject(
            link.explain?.(undefined) ??
              new RedisUnavailableError(`Redis did not answer ${label} within ${commandTimeoutMs} ms`),
          );
          reset();
        }, commandTimeoutMs + waitMs);
      });
      try {
        return await Promise.race([send(), interrupted]);
      } catch (error) {
        throw normalise(error, link.explain);
      } finally {
        clearTimeout(timer);
        interrupts.delete(fail);
        if (--inFlight === 0) release();
      }
    },
  };
}

/**
 * Sends one command with its arguments. `key` is the key it is routed by (a cluster sends it to the
 * master of that key's slot); `waitMs` how long the server may hold it (BLOCK).
 */
export type Call = (
  command: string,
  args: (string | number)[],
  key: string,
  waitMs?: number,
) => Promise<unknown>;

/**
 * Sends commands together, back to back on one connection (not atomic), and resolves their
 * replies, or rejects with the first error. `key` routes them (a cluster: every command's key is
 * in its slot).
 */
export type CallTogether = (
  commands: readonly (readonly [command: string, args: (string | number)[]])[],
  key: string,
  waitMs?: number,
) => Promise<unknown[]>;

/** The driver operations every ioredis driver sends the same way. */
export function streamOperations(
  call: Call,
  together: CallTogether,
): Pick<Driver, 'readGroup' | 'read' | 'ack' | 'add' | 'evalSha' | 'eval'> {
  return {
    readGroup: ({ stream, group, consumer, count, blockMs, ack }: ReadGroupArgs) => {
      const args =
        blockMs === undefined
          ? ['GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>']
          : ['GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>'];
      if (ack === undefined || ack.length === 0) return call('XREADGROUP', args, stream, blockMs);
      return together(
        [
          ['XACK', [stream, group, ...ack]],
          ['XREADGROUP', args],
        ],
        stream,
        blockMs,
      ).then((replies) => replies[1]);
    },
    read: ({ stream, afterId, count, blockMs }: ReadArgs) =>
      call(
        'XREAD',
        blockMs === undefined
          ? ['COUNT', count, 'STREAMS', stream, afterId]
          : ['COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId],
        stream,
        blockMs,
      ),
    ack: (stream, group, ids) => call('XACK', [stream, group, ...ids], stream),
    add: (stream, fields) => call('XADD', [stream, '*', ...fields], stream),
    // A cluster client routes EVAL/EVALSHA by their first key (every key of a script shares its slot).
    evalSha: (sha1, keys, args) => call('EVALSHA', [sha1, keys.length, ...keys, ...args], keys[0] ?? ''),
    eval: (source, keys, args) => call('EVAL', [source, keys.length, ...keys, ...args], keys[0] ?? ''),
  };
}

/**
 * Does `act` and resolves once `emitter` emits `event` — or after `fallbackMs`, should the event
 * never come (a connection already gone emits nothing more).
 */
export function afterEvent(
  emitter: {
    once(event: string, listener: () => void): unknown;
    off(event: string, listener: () => void): unknown;
  },
  event: string,
  act: () => void,
  fallbackMs = 1_000,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(fallback);
      emitter.off(event, done);
      resolve();
    };
    const fallback = setTimeout(done, fallbackMs);
    emitter.once(event, done);
    act();
  });
}
