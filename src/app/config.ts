/**
 * Configuration of the ready-made functions, read from the environment and validated at cold
 * start. A bad value fails with a {@link ConfigurationError} that names the variable.
 */

import { DRAIN_DEFAULTS, resolveDrainOptions } from '../consume/options.js';
import { ConfigurationError, InvalidOptionError, maskCredentials } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { parseClusterNodes } from '../drivers/cluster-nodes.js';
import { PUBLISH_DEFAULTS } from '../publish/options.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type DriverConfig =
  | { readonly kind: 'ioredis'; readonly url: string }
  /** A Redis Cluster over ioredis (the ioredis build of the functions): its seed nodes. */
  | { readonly kind: 'ioredis-cluster'; readonly nodes: readonly string[] }
  | { readonly kind: 'upstash'; readonly url: string; readonly token: string };

/** Drain settings that come from the environment. */
export interface DrainSettings {
  readonly budgetMs: number;
  readonly safetyMarginMs: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDeliveries: number;
  readonly batchSize: number;
  readonly blockMs: number;
  readonly concurrency: number;
  readonly idleExitMs: number | undefined;
  readonly maxRedeliveryDelayMs: number;
  readonly handlerTimeoutMs: number | undefined;
  readonly retentionMs: number;
  readonly maxLength: number | undefined;
  readonly ordered: boolean;
  readonly leaseMs: number | undefined;
  readonly partitions: number | undefined;
  readonly assignedPartitions: readonly number[] | undefined;
  readonly maxPartitions: number | undefined;
}

/** Publish settings that come from the environment. */
export interface PublishSettings {
  /** `SLUICE_PARTITIONS`: the partition count every topic of this deployment must have. */
  readonly partitions: number | undefined;
  /** `SLUICE_PUBLISH_REPLICAS`: replicas that must acknowledge a publish (Redis WAIT). */
  readonly replicas: number;
  /** `SLUICE_REPLICA_TIMEOUT_MS`: longest wait for them. */
  readonly replicaTimeoutMs: number;
  /**
   * Consumer groups the publish endpoint declares, per topic: `SLUICE_GROUP` on `SLUICE_TOPIC`, so
   * the drain's group exists before the first message is accepted (none is skipped).
   */
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

export interface SluiceConfig {
  readonly driver: DriverConfig;
  /** What the drain function consumes. */
  readonly topic: string;
  readonly group: string;
  /** Topics the publish endpoint accepts. */
  readonly topics: readonly string[];
  /** Bearer token for publishing; undefined (and no signing secret) → publishing is refused. */
  readonly publishToken: string | undefined;
  /**
   * Bearer token for the ops endpoints (`SLUICE_ADMIN_TOKEN`: statistics, dead letters, redrive);
   * undefined → every ops request is refused. Must differ from the publish token.
   */
  readonly adminToken: string | undefined;
  /**
   * Secrets for HMAC body signatures (`Sluice-Signature`), from the comma list
   * `SLUICE_SIGNING_SECRET`: several while rotating. Empty → signatures are not accepted.
   */
  readonly signingSecrets: readonly string[];
  readonly drain: DrainSettings;
  readonly publish: PublishSettings;
}

export const CONFIG_DEFAULTS = Object.freeze({ topic: 'orders', group: 'payment-processors' });

/** Environment variable → drain option it sets. */
const DRAIN_VARIABLES = Object.freeze({
  SLUICE_BUDGET_MS: 'budgetMs',
  SLUICE_SAFETY_MARGIN_MS: 'safetyMarginMs',
  SLUICE_VISIBILITY_TIMEOUT_MS: 'visibilityTimeoutMs',
  SLUICE_MAX_DELIVERIES: 'maxDeliveries',
  SLUICE_BATCH_SIZE: 'batchSize',
  SLUICE_BLOCK_MS: 'blockMs',
  SLUICE_CONCURRENCY: 'concurrency',
  SLUICE_IDLE_EXIT_MS: 'idleExitMs',
  SLUICE_MAX_REDELIVERY_DELAY_MS: 'maxRedeliveryDelayMs',
  SLUICE_HANDLER_TIMEOUT_MS: 'handlerTimeoutMs',
  SLUICE_RETENTION_MS: 'retentionMs',
  SLUICE_MAX_LENGTH: 'maxLength',
  SLUICE_LEASE_MS: 'leaseMs',
  SLUICE_PARTITIONS: 'partitions',
  SLUICE_MAX_PARTITIONS: 'maxPartitions',
} as const);

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Which driver the environment selects (`SLUICE_DRIVER`, `REDIS_URL`, `REDIS_CLUSTER_NODES`,
 * `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`), validated as {@link loadConfig} does:
 * for tools that need only a connection (the CLI).
 *
 * `SLUICE_DRIVER` picks the build: `upstash` ignores the TCP variables; `ioredis` (or unset, with
 * a TCP variable set) takes `REDIS_CLUSTER_NODES` for a Redis Cluster or `REDIS_URL` for one server
 * — never both, which would leave it unclear which Redis holds the data.
 */
export function driverConfig(env: Env): DriverConfig {
  const forced = text(env, 'SLUICE_DRIVER');
  const redisUrl = text(env, 'REDIS_URL');
  const clusterNodes = text(env, 'REDIS_CLUSTER_NODES');
  const restUrl = text(env, 'UPSTASH_REDIS_REST_URL');
  const restToken = text(env, 'UPSTASH_REDIS_REST_TOKEN');
  if (forced !== undefined && forced !== 'ioredis' && forced !== 'upstash') {
    throw new ConfigurationError(
      'SLUICE_DRIVER',
      `SLUICE_DRIVER must be "ioredis" or "upstash", got ${JSON.stringify(forced)}`,
    );
  }
  const kind =
    forced ??
    (redisUrl !== undefined || clusterNodes !== undefined
      ? 'ioredis'
      : restUrl !== undefined || restToken !== undefined
        ? 'upstash'
        : undefined);
  if (kind === undefined) {
    throw new ConfigurationError(
      'REDIS_URL',
      'No Redis configured: set REDIS_URL (redis://host:port) for the TCP driver, REDIS_CLUSTER_NODES (host:port,host:port,…) for a Redis Cluster, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN for Upstash over HTTP',
    );
  }
  if (kind === 'ioredis' && clusterNodes !== undefined) {
    if (redisUrl !== undefined) {
      throw new ConfigurationError(
        'REDIS_CLUSTER_NODES',
        'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_CLUSTER_NODES for a Redis Cluster or REDIS_URL for one server, not both',
      );
    }
    const nodes = clusterNodes.split(',').map((node) => node.trim());
    const parsed = parseClusterNodes(nodes);
    if (typeof parsed === 'string') {
      throw new ConfigurationError(
        'REDIS_CLUSTER_NODES',
        `REDIS_CLUSTER_NODES must be a comma list of host:port (or redis:// / rediss:// URLs): ${parsed}`,
      );
    }
    return { kind: 'ioredis-cluster', nodes: Object.freeze(nodes.filter((node) => node !== '')) };
  }
  if (kind === 'ioredis') {
    if (redisUrl === undefined || !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
      throw new ConfigurationError(
        'REDIS_URL',
        `REDIS_URL must be a redis:// or rediss:// URL, got ${redisUrl === undefined ? 'nothing' : JSON.stringify(maskCredentials(redisUrl))}`,
      );
    }
    return { kind, url: redisUrl };
  }
  if (restUrl === undefined || !/^https?:\/\/[^\s]+$/.test(restUrl)) {
    throw new ConfigurationError(
      'UPSTASH_REDIS_REST_URL',
      `UPSTASH_REDIS_REST_URL must be an http(s):// URL, got ${restUrl === undefined ? 'nothing' : JSON.stringify(maskCredentials(restUrl))}`,
    );
  }
  if (restToken === undefined)
    throw new ConfigurationError('UPSTASH_REDIS_REST_TOKEN', 'UPSTASH_REDIS_REST_TOKEN is not set');
  return { kind, url: restUrl, token: restToken };
}

/**
 * A bearer token variable (`SLUICE_PUBLISH_TOKEN`, `SLUICE_ADMIN_TOKEN`), trimmed; unset or blank is
 * undefined. Refused at start when it could never match (whitespace inside) or when it is one of
 * the signing secrets (a bearer token travels with every request; a signing secret never should).
 */
function bearerToken(env: Env, name: string): string | undefined {
  const token = text(env, name);
  if (token === undefined) return undefined;
  if (/\s/.test(token)) {
    throw new ConfigurationError(
      name,
      `${name} must not contain whitespace (a line break pasted with it?): it is sent in an Authorization header, where it could never match`,
    );
  }
  if (signingSecrets(env).includes(token)) {
    throw new ConfigurationError(
      name,
      `${name} must differ from every SLUICE_SIGNING_SECRET: a token travels in every request's headers, a signing secret never should`,
    );
  }
  return token;
}

/** `SLUICE_ADMIN_TOKEN`: one bearer token, not the publish token (a publisher must not get admin rights). */
function adminToken(env: Env): string | undefined {
  const token = bearerToken(env, 'SLUICE_ADMIN_TOKEN');
  if (token === undefined) return undefined;
  if (token === text(env, 'SLUICE_PUBLISH_TOKEN')) {
    throw new ConfigurationError(
      'SLUICE_ADMIN_TOKEN',
      'SLUICE_ADMIN_TOKEN must differ from SLUICE_PUBLISH_TOKEN: whoever may publish must not get the ops endpoints too',
    );
  }
  return token;
}

/** `SLUICE_SIGNING_SECRET`: a comma list (rotation), blanks dropped. */
function signingSecrets(env: Env): readonly string[] {
  const listed = text(env, 'SLUICE_SIGNING_SECRET');
  if (listed === undefined) return Object.freeze([]);
  const secrets = listed
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (secrets.some((s) => /\s/.test(s))) {
    throw new ConfigurationError(
      'SLUICE_SIGNING_SECRET',
      'SLUICE_SIGNING_SECRET must be a comma list of secrets without whitespace inside (a line break pasted with one?)',
    );
  }
  return Object.freeze(secrets);
}

function topicName(env: Env, name: string, fallback: string): string {
  const value = text(env, name) ?? fallback;
  if (!isTopicName(value))
    throw new ConfigurationError(name, `${name} must match ${TOPIC_PATTERN}, got ${JSON.stringify(value)}`);
  return value;
}

function drainSettings(env: Env): DrainSettings {
  const {
    budgetMs,
    safetyMarginMs,
    visibilityTimeoutMs,
    maxDeliveries,
    batchSize,
    blockMs,
    concurrency,
    maxRedeliveryDelayMs,
    retentionMs,
  } = DRAIN_DEFAULTS;
  const settings: Record<string, number | undefined> = {
    budgetMs,
    safetyMarginMs,
    visibilityTimeoutMs,
    maxDeliveries,
    batchSize,
    blockMs,
    concurrency,
    idleExitMs: undefined,
    maxRedeliveryDelayMs,
    handlerTimeoutMs: undefined,
    retentionMs,
    maxLength: undefined,
    leaseMs: undefined,
    partitions: undefined,
    maxPartitions: undefined,
  };
  for (const [variable, option] of Object.entries(DRAIN_VARIABLES)) {
    const value = text(env, variable);
    if (value === undefined) continue;
    if (!/^\d{1,15}$/.test(value)) {
      throw new ConfigurationError(
        variable,
        `${variable} must be a whole number of ${variable.endsWith('_MS') ? 'milliseconds' : 'units'}, got ${JSON.stringify(value)}`,
      );
    }
    settings[option] = Number(value);
  }
  const ordered = flag(env, 'SLUICE_ORDERED');
  const assignedPartitions = numberList(env, 'SLUICE_ASSIGNED_PARTITIONS');
  // One validator for options and environment alike; its errors are renamed to the variable.
  try {
    resolveDrainOptions({
      topic: 'x',
      group: 'x',
      handler: () => {},
      ...settings,
      ordered,
      assignedPartitions,
    });
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const option = error.option.replace(/\[\d+\]$/, '');
    const variable =
      option === 'ordered'
        ? 'SLUICE_ORDERED'
        : option === 'assignedPartitions'
          ? 'SLUICE_ASSIGNED_PARTITIONS'
          : (Object.entries(DRAIN_VARIABLES).find(([, name]) => name === option)?.[0] ?? error.option);
    throw new ConfigurationError(variable, `${variable}: ${error.message}`);
  }
  return { ...settings, ordered, assignedPartitions } as unknown as DrainSettings;
}

/** A boolean variable: true/false (also 1/0, yes/no); unset is false. */
function flag(env: Env, name: string): boolean {
  const value = text(env, name)?.toLowerCase();
  if (value === undefined) return false;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new ConfigurationError(name, `${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** A comma list of whole numbers, e.g. `0,1,5`; unset is undefined. */
function numberList(env: Env, name: string): number[] | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  const items = value.split(',').map((item) => item.trim());
  const bad = items.find((item) => !/^\d{1,4}$/.test(item));
  if (bad !== undefined)
    throw new ConfigurationError(
      name,
      `${name} must be a comma list of partition indexes (0, 1, …), got ${JSON.stringify(value)}`,
    );
  return items.map(Number);
}

function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || n < min || n > max)
    throw new ConfigurationError(
      name,
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return n;
}

function publishSettings(env: Env, drain: DrainSettings, groups: PublishSettings['groups']): PublishSettings {
  return {
    groups,
    partitions: drain.partitions,
    replicas: wholeNumber(env, 'SLUICE_PUBLISH_REPLICAS', PUBLISH_DEFAULTS.replicas, 0, 100),
    replicaTimeoutMs: wholeNumber(
      env,
      'SLUICE_REPLICA_TIMEOUT_MS',
      PUBLISH_DEFAULTS.replicaTimeoutMs,
      1,
      60_000,
    ),
  };
}

/**
 * Reads and validates the functions' configuration.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env); // at module scope: fails the cold start on a bad value
 * ```
 */
export function loadConfig(env: Env): SluiceConfig {
  const topic = topicName(env, 'SLUICE_TOPIC', CONFIG_DEFAULTS.topic);
  const group = topicName(env, 'SLUICE_GROUP', CONFIG_DEFAULTS.group);
  const listed = text(env, 'SLUICE_TOPICS');
  const topics =
    listed === undefined
      ? [topic]
      : listed
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '');
  for (const t of topics) {
    if (!isTopicName(t))
      throw new ConfigurationError(
        'SLUICE_TOPICS',
        `SLUICE_TOPICS has ${JSON.stringify(t)}, which does not match ${TOPIC_PATTERN}`,
      );
  }
  if (topics.length === 0) throw new ConfigurationError('SLUICE_TOPICS', 'SLUICE_TOPICS lists no topic');
  const drain = Object.freeze(drainSettings(env));
  return Object.freeze({
    driver: driverConfig(env),
    topic,
    group,
    topics: Object.freeze(topics),
    publishToken: bearerToken(env, 'SLUICE_PUBLISH_TOKEN'),
    adminToken: adminToken(env),
    signingSecrets: signingSecrets(env),
    drain,
    publish: Object.freeze(publishSettings(env, drain, { [topic]: [group] })),
  });
}
