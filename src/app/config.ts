/**
 * Configuration of the ready-made functions, read from the environment and validated at cold
 * start. A bad value fails with a {@link ConfigurationError} that names the variable. Reading one
 * variable is in `env.ts`, the driver's variables in `driver-config.ts`, the secrets in
 * `credentials.ts`.
 */

import { DRAIN_DEFAULTS, resolveDrainOptions } from '../consume/options.js';
import { ConfigurationError, InvalidOptionError } from '../core/errors.js';
import { PUBLISH_DEFAULTS } from '../publish/options.js';
import { adminToken, bearerToken, signingSecrets } from './credentials.js';
import { type DriverConfig, driverConfig } from './driver-config.js';
import { type Env, flag, numberList, text, topicList, topicName, wholeNumber } from './env.js';
import { type WakeSettings, wakeSettings } from './wake-settings.js';

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
  /** `SLUICE_RETRY_JITTER`: `none` or `full` jitter on the back-off of a failed message. */
  readonly retryJitter: 'none' | 'full';
  /** `SLUICE_RATE_LIMIT_PER_SECOND`: messages per second over every drain of the group; unset: no limit. */
  readonly rateLimit: { readonly perSecond: number } | undefined;
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
  /** `SLUICE_MAX_DELAY_MS`: the longest delay a published message may ask for (`delayMs`, `deliverAt`). */
  readonly maxDelayMs: number;
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
  /** Event-driven draining (`wake-settings.ts`). */
  readonly wake: WakeSettings;
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

/** The drain settings the environment sets, each checked by the drain's own validator. */
function drainSettings(env: Env): DrainSettings {
  const settings = drainNumbers(env);
  const ordered = flag(env, 'SLUICE_ORDERED');
  const assignedPartitions = numberList(env, 'SLUICE_ASSIGNED_PARTITIONS');
  const retryJitter = (text(env, 'SLUICE_RETRY_JITTER') ?? DRAIN_DEFAULTS.retryJitter) as 'none' | 'full';
  const rateLimit = rateLimitOf(env);
  // One validator for options and environment alike; its errors are renamed to the variable.
  try {
    resolveDrainOptions({
      topic: 'x',
      group: 'x',
      handler: () => {},
      ...settings,
      ordered,
      assignedPartitions,
      retryJitter,
      rateLimit,
    });
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const variable = variableOf(error.option);
    throw new ConfigurationError(variable, `${variable}: ${error.message}`);
  }
  return { ...settings, ordered, assignedPartitions, retryJitter, rateLimit } as unknown as DrainSettings;
}

/** `SLUICE_RATE_LIMIT_PER_SECOND`: a positive number (decimals allowed), or unset. */
function rateLimitOf(env: Env): { readonly perSecond: number } | undefined {
  const value = text(env, 'SLUICE_RATE_LIMIT_PER_SECOND');
  if (value === undefined) return undefined;
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(value))
    throw new ConfigurationError(
      'SLUICE_RATE_LIMIT_PER_SECOND',
      `SLUICE_RATE_LIMIT_PER_SECOND must be a number of messages per second, got ${JSON.stringify(value)}`,
    );
  return { perSecond: Number(value) };
}

/** The numeric drain settings: the defaults, overridden by the variables that are set. */
function drainNumbers(env: Env): Record<string, number | undefined> {
  const defaults: Readonly<Record<string, unknown>> = DRAIN_DEFAULTS;
  const settings: Record<string, number | undefined> = {};
  for (const option of Object.values(DRAIN_VARIABLES)) {
    const fallback = defaults[option];
    settings[option] = typeof fallback === 'number' ? fallback : undefined;
  }
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
  return settings;
}

/** The variable that sets a drain option (`assignedPartitions[2]` → `SLUICE_ASSIGNED_PARTITIONS`). */
function variableOf(optionPath: string): string {
  const option = optionPath.replace(/\[\d+\]$/, '');
  if (option === 'ordered') return 'SLUICE_ORDERED';
  if (option === 'assignedPartitions') return 'SLUICE_ASSIGNED_PARTITIONS';
  if (option === 'retryJitter') return 'SLUICE_RETRY_JITTER';
  if (option.startsWith('rateLimit')) return 'SLUICE_RATE_LIMIT_PER_SECOND';
  return Object.entries(DRAIN_VARIABLES).find(([, name]) => name === option)?.[0] ?? optionPath;
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
    maxDelayMs: wholeNumber(
      env,
      'SLUICE_MAX_DELAY_MS',
      PUBLISH_DEFAULTS.maxDelayMs,
      0,
      Number.MAX_SAFE_INTEGER,
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
  const topics = topicList(env, 'SLUICE_TOPICS', topic);
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
    wake: wakeSettings(env),
  });
}
