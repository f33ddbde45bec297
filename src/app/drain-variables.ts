/**
 * The drain's environment variables, read and checked for form only: whole numbers, a flag, lists.
 * Every function checks them so that a malformed one fails every function alike; the drain alone
 * checks their ranges and combinations (`drain-settings.ts`), with the drain's own validator.
 */

import { ConfigurationError } from '../core/errors.js';
import { type Env, flag, numberList, text } from './env.js';

/** Environment variable → drain option it sets. */
export const DRAIN_VARIABLES = Object.freeze({
  SLUICE_BUDGET_MS: 'budgetMs',
  SLUICE_SAFETY_MARGIN_MS: 'safetyMarginMs',
  SLUICE_VISIBILITY_TIMEOUT_MS: 'visibilityTimeoutMs',
  SLUICE_MAX_DELIVERIES: 'maxDeliveries',
  SLUICE_BATCH_SIZE: 'batchSize',
  SLUICE_BLOCK_MS: 'blockMs',
  SLUICE_CONCURRENCY: 'concurrency',
  SLUICE_PREFETCH: 'prefetch',
  SLUICE_IDLE_EXIT_MS: 'idleExitMs',
  SLUICE_MAX_REDELIVERY_DELAY_MS: 'maxRedeliveryDelayMs',
  SLUICE_HANDLER_TIMEOUT_MS: 'handlerTimeoutMs',
  SLUICE_RETENTION_MS: 'retentionMs',
  SLUICE_MAX_LENGTH: 'maxLength',
  SLUICE_LEASE_MS: 'leaseMs',
  SLUICE_PARTITIONS: 'partitions',
  SLUICE_MAX_PARTITIONS: 'maxPartitions',
} as const);

/** What the drain's variables say, where set. */
export interface DrainVariables {
  /** The numeric options that a variable sets (`budgetMs`, …); the others are absent. */
  readonly numbers: Readonly<Record<string, number>>;
  readonly ordered: boolean;
  readonly assignedPartitions: number[] | undefined;
  readonly retryJitter: string | undefined;
  readonly rateLimit: { readonly perSecond: number } | undefined;
}

/** Reads the drain's variables; a malformed one is a {@link ConfigurationError} naming it. */
export function readDrainVariables(env: Env): DrainVariables {
  return {
    numbers: drainNumbers(env),
    ordered: flag(env, 'SLUICE_ORDERED'),
    assignedPartitions: numberList(env, 'SLUICE_ASSIGNED_PARTITIONS'),
    retryJitter: text(env, 'SLUICE_RETRY_JITTER'),
    rateLimit: rateLimitOf(env),
  };
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

/** The numeric drain variables that are set, each a whole number. */
function drainNumbers(env: Env): Record<string, number> {
  const numbers: Record<string, number> = {};
  for (const [variable, option] of Object.entries(DRAIN_VARIABLES)) {
    const value = text(env, variable);
    if (value === undefined) continue;
    if (!/^\d{1,15}$/.test(value)) {
      throw new ConfigurationError(
        variable,
        `${variable} must be a whole number of ${variable.endsWith('_MS') ? 'milliseconds' : 'units'}, got ${JSON.stringify(value)}`,
      );
    }
    numbers[option] = Number(value);
  }
  return numbers;
}
