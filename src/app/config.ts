/**
 * Configuration of the ready-made functions, read from the environment and validated at cold
 * start. A bad value fails with a {@link ConfigurationError} that names the variable. Reading one
 * variable is in `env.ts`, the driver's variables in `driver-config.ts`, the secrets in
 * `credentials.ts`, the drain's settings in `drain-settings.ts`.
 *
 * The drain functions load {@link loadConfig}, the publish and ops functions
 * {@link loadEndpointConfig}: it checks the form of the drain's variables (a malformed one fails
 * every function alike) but not their ranges and combinations, so the drain's option validator
 * stays out of their bundles.
 */

import { MAX_PARTITIONS } from '../core/partitions.js';
import { PUBLISH_DEFAULTS } from '../publish/options.js';
import { adminToken, bearerToken, signingSecrets } from './credentials.js';
import { type DrainSettings, drainSettings } from './drain-settings.js';
import { readDrainVariables } from './drain-variables.js';
import { type DriverConfig, driverConfig } from './driver-config.js';
import { type Env, text, topicList, topicName, wholeNumber } from './env.js';
import { type WakeSettings, wakeSettings } from './wake-settings.js';

export type { DrainSettings } from './drain-settings.js';

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

/** What every function reads: all but the drain's settings. */
export interface EndpointConfig {
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
  readonly publish: PublishSettings;
  /** Event-driven draining (`wake-settings.ts`). */
  readonly wake: WakeSettings;
}

/** The whole configuration: what every function reads and the drain's settings. */
export interface SluiceConfig extends EndpointConfig {
  readonly drain: DrainSettings;
}

export const CONFIG_DEFAULTS = Object.freeze({ topic: 'orders', group: 'payment-processors' });

/** `SLUICE_PARTITIONS`, which the drain reads too (and checks further, see `drain-settings.ts`). */
function partitionsOf(env: Env): number | undefined {
  if (text(env, 'SLUICE_PARTITIONS') === undefined) return undefined;
  return wholeNumber(env, 'SLUICE_PARTITIONS', 1, 1, MAX_PARTITIONS);
}

function publishSettings(env: Env, groups: PublishSettings['groups']): PublishSettings {
  return {
    groups,
    partitions: partitionsOf(env),
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

interface Names {
  readonly topic: string;
  readonly group: string;
  readonly topics: readonly string[];
}

function namesOf(env: Env): Names {
  const topic = topicName(env, 'SLUICE_TOPIC', CONFIG_DEFAULTS.topic);
  const group = topicName(env, 'SLUICE_GROUP', CONFIG_DEFAULTS.group);
  return { topic, group, topics: Object.freeze(topicList(env, 'SLUICE_TOPICS', topic)) };
}

function endpointConfig(env: Env, names: Names): EndpointConfig {
  readDrainVariables(env); // a malformed drain variable fails every function alike
  return {
    driver: driverConfig(env),
    ...names,
    publishToken: bearerToken(env, 'SLUICE_PUBLISH_TOKEN'),
    adminToken: adminToken(env),
    signingSecrets: signingSecrets(env),
    publish: Object.freeze(publishSettings(env, { [names.topic]: [names.group] })),
    wake: wakeSettings(env),
  };
}

/**
 * Reads and validates the functions' configuration: the drain's settings included.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env); // at module scope: fails the cold start on a bad value
 * ```
 */
export function loadConfig(env: Env): SluiceConfig {
  const names = namesOf(env);
  const drain = Object.freeze(drainSettings(env));
  return Object.freeze({ ...endpointConfig(env, names), drain });
}

/**
 * The configuration of a function that does not drain (publish, ops): {@link loadConfig} without
 * the drain's settings, which it neither reads nor checks.
 */
export function loadEndpointConfig(env: Env): EndpointConfig {
  return Object.freeze(endpointConfig(env, namesOf(env)));
}
