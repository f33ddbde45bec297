/**
 * The drain's settings from the environment (`SLUICE_BUDGET_MS`, `SLUICE_BATCH_SIZE`, …): their
 * form checked as every function checks it (`drain-variables.ts`), their ranges and combinations by
 * the drain's own option validator. Only the drain functions load them (`loadConfig`): the publish
 * and ops functions load `loadEndpointConfig`, so their bundles do not hold the drain's validator.
 */

import { DRAIN_DEFAULTS, resolveDrainOptions } from '../consume/options.js';
import { ConfigurationError, InvalidOptionError } from '../core/errors.js';
import { DRAIN_VARIABLES, readDrainVariables } from './drain-variables.js';
import type { Env } from './env.js';

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

/** The drain settings the environment sets, each checked by the drain's own validator. */
export function drainSettings(env: Env): DrainSettings {
  const {
    numbers,
    ordered,
    assignedPartitions,
    retryJitter = DRAIN_DEFAULTS.retryJitter,
    rateLimit,
  } = readDrainVariables(env);
  const settings = { ...numberDefaults(), ...numbers };
  // One validator for options and environment alike; its errors are renamed to the variable.
  try {
    resolveDrainOptions({
      topic: 'x',
      group: 'x',
      handler: () => {},
      ...settings,
      ordered,
      assignedPartitions,
      retryJitter: retryJitter as 'none' | 'full',
      rateLimit,
    });
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const variable = variableOf(error.option);
    throw new ConfigurationError(variable, `${variable}: ${error.message}`);
  }
  return { ...settings, ordered, assignedPartitions, retryJitter, rateLimit } as unknown as DrainSettings;
}

/** The drain's defaults of the options a variable can set (undefined where there is none). */
function numberDefaults(): Record<string, number | undefined> {
  const defaults: Readonly<Record<string, unknown>> = DRAIN_DEFAULTS;
  const settings: Record<string, number | undefined> = {};
  for (const option of Object.values(DRAIN_VARIABLES)) {
    const fallback = defaults[option];
    settings[option] = typeof fallback === 'number' ? fallback : undefined;
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
