/**
 * What every command shares: exit codes and the errors that map to them, the connection (from
 * `--redis-url` or the environment, as the functions read it), `--topic`/`--stream`/`--group`,
 * option parsers that name the flag they refuse.
 */
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type DriverConfig, driverConfig } from '../app/driver-config.js';
import type { Driver } from '../core/driver.js';
import {
  ConfigurationError,
  describeError,
  InvalidMessageError,
  InvalidOptionError,
  maskCredentials,
  RedisAuthError,
  RedisUnavailableError,
  SluiceError,
} from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { discoverLocalStack } from './local-stack.js';

/** Exit codes, the same for every command. */
export const EXIT = Object.freeze({
  /** Done. */
  ok: 0,
  /** The operation ran and failed, or did not do all that was asked (what, on stderr). */
  failed: 1,
  /** Bad usage or input: unknown flag, bad value, missing argument, bad configuration. */
  usage: 2,
  /** Redis could not be reached (or stopped answering). */
  unavailable: 3,
  /** Redis refused the credentials (wrong or missing password or REST token): fix the configuration; retrying will not help. */
  credentials: 4,
});

/** A problem with what the command was given (exit 2). */
export class UsageError extends SluiceError {
  override name = 'UsageError';
}

/** The operation ran but did not do everything it was asked; the message says what (exit 1). */
export class OperationError extends SluiceError {
  override name = 'OperationError';
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version asked for are a success; help shown because something was missing is not.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (
    error instanceof UsageError ||
    error instanceof InvalidOptionError ||
    error instanceof InvalidMessageError ||
    error instanceof ConfigurationError
  )
    return EXIT.usage;
  if (error instanceof RedisUnavailableError) return EXIT.unavailable;
  if (error instanceof RedisAuthError) return EXIT.credentials;
  return EXIT.failed;
}

/** The line printed on stderr for an error (commander prints its own). */
export function describeFailure(error: unknown): string | undefined {
  if (error instanceof CommanderError) return undefined;
  if (error instanceof InvalidOptionError) return `invalid ${flagOf(error.option)}: ${error.message}`;
  if (error instanceof ConfigurationError) return `${error.message} (or pass --redis-url redis://host:port)`;
  if (error instanceof SluiceError) return error.message;
  return describeError(error);
}

/** The CLI flag of a library option, for error messages. */
function flagOf(option: string): string {
  const kebab = option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return option === 'ids' ? '--id' : `--${kebab}`;
}

// ---------------------------------------------------------------------------------------------
// Connection

/** The driver configuration: `--redis-url` when given, else the environment (as the functions read it). */
export function connectionOf(redisUrl: string | undefined, env: NodeJS.ProcessEnv): DriverConfig {
  if (redisUrl === undefined) return driverConfig(env);
  if (!/^rediss?:\/\/\S+$/.test(redisUrl)) {
    throw new UsageError(
      `--redis-url must be a redis:// or rediss:// URL, got ${JSON.stringify(maskCredentials(redisUrl))}`,
    );
  }
  return { kind: 'ioredis', url: redisUrl };
}

/** Whether any connection variable is set (then the environment decides, right or wrong). */
function configuresRedis(env: NodeJS.ProcessEnv): boolean {
  return [
    'SLUICE_DRIVER',
    'REDIS_URL',
    'REDIS_CLUSTER_NODES',
    'UPSTASH_REDIS_REST_URL',
    'UPSTASH_REDIS_REST_TOKEN',
  ].some((name) => (env[name]?.trim() ?? '') !== '');
}

/**
 * The connection a command uses, in this order: `--redis-url`; `SLUICE_DRIVER` when set; else
 * `REDIS_CLUSTER_NODES` or `REDIS_URL` (TCP) before `UPSTASH_REDIS_REST_URL` and
 * `UPSTASH_REDIS_REST_TOKEN` (a warning on stderr when both kinds are set); else, with nothing
 * configured, the running local stack of `npm start` (`.sluice/stack.json`), said on stderr.
 */
export async function resolveConnection(
  redisUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<DriverConfig> {
  if (redisUrl !== undefined || configuresRedis(env)) {
    const config = connectionOf(redisUrl, env);
    const tcp = env.REDIS_URL?.trim()
      ? 'REDIS_URL'
      : env.REDIS_CLUSTER_NODES?.trim()
        ? 'REDIS_CLUSTER_NODES'
        : undefined;
    if (
      redisUrl === undefined &&
      !env.SLUICE_DRIVER?.trim() &&
      tcp !== undefined &&
      env.UPSTASH_REDIS_REST_URL?.trim()
    ) {
      process.stderr.write(
        `sluice: both ${tcp} and UPSTASH_REDIS_REST_URL are set: using ${tcp} (SLUICE_DRIVER=upstash uses Upstash)\n`,
      );
    }
    return config;
  }
  const local = await discoverLocalStack(cwd);
  if (local.found === 'alive') {
    process.stderr.write(
      `sluice: no Redis configured: using the local stack's Redis at ${maskCredentials(local.stack.redisUrl)} (npm start, pid ${local.stack.pid}; ${local.file})\n`,
    );
    return { kind: 'ioredis', url: local.stack.redisUrl };
  }
  try {
    return connectionOf(undefined, env);
  } catch (error) {
    if (local.found === 'stale' && error instanceof ConfigurationError) {
      throw new ConfigurationError(error.variable, `${error.message}; ${local.problem}`);
    }
    throw error;
  }
}

/** A driver for `config`; only the driver used is loaded (the other may not be installed). */
export async function openDriver(config: DriverConfig): Promise<Driver> {
  if (config.kind === 'ioredis') {
    const { ioredisDriver } = await import('../drivers/ioredis.js');
    return ioredisDriver(config.url, { redisOptions: { connectTimeout: 5_000 } });
  }
  if (config.kind === 'ioredis-cluster') {
    const { ioredisClusterDriver } = await import('../drivers/ioredis.js');
    return ioredisClusterDriver(config.nodes);
  }
  const { upstashDriver } = await import('../drivers/upstash.js');
  return upstashDriver({ url: config.url, token: config.token });
}

/** Where the driver connects, with any password masked. */
export function describeConnection(config: DriverConfig): string {
  if (config.kind === 'ioredis') return `Redis at ${maskCredentials(config.url)}`;
  if (config.kind === 'ioredis-cluster')
    return `the Redis Cluster at ${config.nodes.map(maskCredentials).join(', ')}`;
  return `the Upstash REST API at ${maskCredentials(config.url)}`;
}

/** How long closing a connection may take before the process ends anyway. */
const CLOSE_TIMEOUT_MS = 2_000;

/** Runs `work` with a driver from the command's options, and closes it after. */
export async function withDriver<R>(command: Command, work: (driver: Driver) => Promise<R>): Promise<R> {
  const { redisUrl } = command.optsWithGlobals<{ redisUrl?: string }>();
  const config = await resolveConnection(redisUrl, process.env);
  const driver = await openDriver(config);
  try {
    return await work(driver);
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      throw new RedisUnavailableError(`cannot reach ${describeConnection(config)}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      driver.close().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Common options

/** `-t, --topic` (default `SLUICE_TOPIC`) and `--stream`. */
export function targetOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-t, --topic <name>', 'the topic (its stream is sluice:{<name>})').env('SLUICE_TOPIC'),
    )
    .option(
      '--stream <key>',
      'a stream key used as it is, instead of a topic (e.g. one another service writes)',
    )
    .option(
      '-p, --partition <index>',
      'one partition of a partitioned topic (from 0; see `sluice topic show`)',
      wholeNumber(0, 1_023),
    );
}

/** `-g, --group` (default `SLUICE_GROUP`). */
export function groupOption(command: Command, description = 'the consumer group'): Command {
  return command.addOption(new Option('-g, --group <name>', description).env('SLUICE_GROUP'));
}

/** A topic (or one partition of it) or a stream key, as every operation takes it. */
export type Target = { readonly topic: string; readonly partition?: number } | { readonly stream: string };

export function targetOf(command: Command): Target {
  const { topic, stream, partition } = command.opts<{
    topic?: string;
    stream?: string;
    partition?: number;
  }>();
  if (stream !== undefined) {
    if (topic !== undefined && command.getOptionValueSource('topic') !== 'env')
      throw new UsageError('give --topic or --stream, not both');
    if (partition !== undefined) throw new UsageError('--partition goes with --topic, not --stream');
    if (stream === '') throw new UsageError('--stream must not be empty');
    return { stream };
  }
  if (topic === undefined)
    throw new UsageError('missing --topic <name> (or --stream <key>, or SLUICE_TOPIC)');
  if (!isTopicName(topic))
    throw new UsageError(`--topic must match ${TOPIC_PATTERN}, got ${JSON.stringify(topic)}`);
  return partition === undefined ? { topic } : { topic, partition };
}

export function groupOf(command: Command): string {
  const { group } = command.opts<{ group?: string }>();
  if (group === undefined) throw new UsageError('missing --group <name> (or SLUICE_GROUP)');
  if (!isTopicName(group))
    throw new UsageError(`--group must match ${TOPIC_PATTERN}, got ${JSON.stringify(group)}`);
  return group;
}

/** A commander parser for a whole number in [min, max]. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `Expected a whole number >= ${min}.`
          : `Expected a whole number from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

/** A parser for a variadic option: every value is kept, repeated flags included. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Aborts on SIGINT / SIGTERM (the listeners are removed by `release`). */
export function interruptSignal(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    release() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
