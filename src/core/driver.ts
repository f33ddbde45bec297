/**
 * The driver interface: exactly the Redis operations sluice uses, nothing more. Drivers send
 * commands and return the raw replies; `replies.ts` parses them, so every driver is read the
 * same way. Errors are normalised: an error reply becomes a {@link RedisReplyError} with its
 * code, a broken or unreachable connection a {@link RedisUnavailableError}.
 */
import { createHash } from 'node:crypto';
import { RedisReplyError } from './errors.js';

export interface ReadGroupArgs {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly count: number;
  /** Wait up to this long for new entries. Only passed when the driver `canBlock`; always ≥ 1. */
  readonly blockMs?: number | undefined;
  /**
   * Ids of the same stream and group to acknowledge (XACK) before the read, sent with it in one
   * round trip (not atomic). Only passed to a driver that says `ackWithRead`; never empty.
   */
  readonly ack?: readonly string[] | undefined;
}

export interface ReadArgs {
  readonly stream: string;
  /** Entries after this id (exclusive). */
  readonly afterId: string;
  readonly count: number;
  /** Wait up to this long for new entries. Only passed when the driver `canBlock`; always ≥ 1. */
  readonly blockMs?: number | undefined;
}

/** Capabilities in which drivers differ, stated rather than averaged away. */
export interface DriverCapabilities {
  /** XREADGROUP … BLOCK works (TCP). Without it the read loop polls with back-off. */
  readonly blocking: boolean;
  /** Most entries one consumer may hold pending (Upstash: 1000); undefined = no limit. */
  readonly maxPendingPerConsumer?: number | undefined;
  /**
   * `readGroup` takes `ack`: the XACK and the XREADGROUP go in one round trip (one write over TCP,
   * one request over REST), and the read rejects when either fails.
   */
  readonly ackWithRead?: boolean | undefined;
}

export interface Driver {
  /** For logs and reports (`ioredis`, `upstash`). */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** XREADGROUP GROUP group consumer COUNT n [BLOCK ms] STREAMS stream >. */
  readGroup(args: ReadGroupArgs): Promise<unknown>;
  /**
   * XREAD COUNT n [BLOCK ms] STREAMS stream afterId: read without joining a group (`tail`).
   * Optional: without it, `tail` polls through a script.
   */
  read?(args: ReadArgs): Promise<unknown>;
  /** XACK stream group id…. */
  ack(stream: string, group: string, ids: readonly string[]): Promise<unknown>;
  /** XADD stream * field value…. */
  add(stream: string, fields: readonly string[]): Promise<unknown>;
  /** EVALSHA sha numkeys key… arg…. */
  evalSha(sha1: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** EVAL source numkeys key… arg…. */
  eval(source: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /**
   * WAIT replicas timeoutMs, sent on the connection that wrote `key` (on a cluster: the master that
   * owns the key's slot), answering how many replicas acknowledged every earlier write of that
   * connection. Optional: a driver without it cannot offer replicated publishes.
   */
  waitForReplicas?(key: string, replicas: number, timeoutMs: number): Promise<unknown>;
  /** Closes connections the driver opened itself, so that a local process can exit. */
  close(): Promise<void>;
}

/** A Lua script, run by hash and loaded on first use. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

/**
 * A script from readable Lua source, given in parts (shared helpers, then its own code: plain
 * arguments, so that a bundle that does not run it can drop it): indentation, blank lines and
 * whole-line `--` comments are dropped (smaller bundles, smaller EVALs), so keep comments on lines
 * of their own.
 */
export function defineScript(name: string, ...readable: string[]): Script {
  const source = readable
    .join('\n')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('--'))
    .join('\n');
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Runs `script` with EVALSHA, falling back to EVAL (which also caches it) when the server does not know it yet. */
export async function runScript(
  driver: Driver,
  script: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await driver.evalSha(script.sha1, keys, args);
  } catch (error) {
    if (error instanceof RedisReplyError && error.code === 'NOSCRIPT')
      return driver.eval(script.source, keys, args);
    throw error;
  }
}

/** A view of `driver` that states other capabilities (e.g. polls instead of blocking), everything else as it is. */
export function withCapabilities(driver: Driver, capabilities: DriverCapabilities): Driver {
  return new Proxy(driver, {
    get: (target, property, receiver) =>
      property === 'capabilities' ? capabilities : Reflect.get(target, property, receiver),
  });
}
