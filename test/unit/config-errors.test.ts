/**
 * Configuration errors, one row per way a variable can be wrong: loadConfig fails the cold start
 * with a ConfigurationError that names the variable, says what was expected and shows what was
 * given (credentials masked). Rows the other config tests do not reach: a forced driver with
 * nothing to connect to, a malformed partition list, drain options that only the drain's validator
 * refuses (renamed to their variable), whole numbers out of range.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { ConfigurationError } from '../../src/core/errors.js';

const BASE = { REDIS_URL: 'redis://127.0.0.1:6379' };

const ROWS: readonly { env: Record<string, string>; variable: string; message: RegExp }[] = [
  {
    env: { SLUICE_DRIVER: 'ioredis' },
    variable: 'REDIS_URL',
    message: /redis:\/\/ or rediss:\/\/ URL, got nothing/,
  },
  {
    env: { SLUICE_DRIVER: 'upstash' },
    variable: 'UPSTASH_REDIS_REST_URL',
    message: /http\(s\):\/\/ URL, got nothing/,
  },
  {
    env: { SLUICE_DRIVER: 'upstash', UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' },
    variable: 'UPSTASH_REDIS_REST_TOKEN',
    message: /UPSTASH_REDIS_REST_TOKEN/,
  },
  {
    env: { SLUICE_DRIVER: 'kafka', ...BASE },
    variable: 'SLUICE_DRIVER',
    message: /"ioredis" or "upstash", got "kafka"/,
  },
  { env: { REDIS_URL: 'http://user:hunter2@h:1' }, variable: 'REDIS_URL', message: /got "http:\/\/\*+@h:1"/ },
  {
    env: { REDIS_CLUSTER_NODES: 'a:1,b:2', ...BASE },
    variable: 'REDIS_CLUSTER_NODES',
    message: /both set/,
  },
  { env: { REDIS_CLUSTER_NODES: 'no-port' }, variable: 'REDIS_CLUSTER_NODES', message: /host:port/ },
  {
    env: { ...BASE, SLUICE_ORDERED: 'maybe' },
    variable: 'SLUICE_ORDERED',
    message: /true or false, got "maybe"/,
  },
  {
    env: { ...BASE, SLUICE_ASSIGNED_PARTITIONS: '0,x' },
    variable: 'SLUICE_ASSIGNED_PARTITIONS',
    message: /SLUICE_ASSIGNED_PARTITIONS/,
  },
  {
    env: { ...BASE, SLUICE_PARTITIONS: '2', SLUICE_ASSIGNED_PARTITIONS: '0,5' },
    variable: 'SLUICE_ASSIGNED_PARTITIONS',
    message: /^SLUICE_ASSIGNED_PARTITIONS: Expected partitions of 0 to 1 \(`partitions` is 2\), got 5/,
  },
  {
    env: { ...BASE, SLUICE_ASSIGNED_PARTITIONS: '0,0' },
    variable: 'SLUICE_ASSIGNED_PARTITIONS',
    message: /^SLUICE_ASSIGNED_PARTITIONS: Expected distinct partitions, got 0 twice/,
  },
  {
    // The validator names `assignedPartitions[0]`: the message still names the variable.
    env: { ...BASE, SLUICE_ASSIGNED_PARTITIONS: '1025' },
    variable: 'SLUICE_ASSIGNED_PARTITIONS',
    message: /^SLUICE_ASSIGNED_PARTITIONS: .*from 0 to 1023/,
  },
  {
    env: { ...BASE, SLUICE_BUDGET_MS: '1.5s' },
    variable: 'SLUICE_BUDGET_MS',
    message: /whole number of milliseconds, got "1.5s"/,
  },
  {
    env: { ...BASE, SLUICE_BATCH_SIZE: '0' },
    variable: 'SLUICE_BATCH_SIZE',
    message: /^SLUICE_BATCH_SIZE: /,
  },
  {
    env: { ...BASE, SLUICE_MAX_DELIVERIES: 'many' },
    variable: 'SLUICE_MAX_DELIVERIES',
    message: /whole number of units/,
  },
  {
    env: { ...BASE, SLUICE_PUBLISH_REPLICAS: '101' },
    variable: 'SLUICE_PUBLISH_REPLICAS',
    message: /SLUICE_PUBLISH_REPLICAS/,
  },
  { env: { ...BASE, SLUICE_TOPIC: 'no spaces' }, variable: 'SLUICE_TOPIC', message: /SLUICE_TOPIC/ },
];

describe('configuration errors name the variable', () => {
  it.each(ROWS)('$variable ← $env', ({ env, variable, message }) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as ConfigurationError).variable).toBe(variable);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('hunter2');
  });

  it('the same environment without the bad variable loads', () => {
    expect(loadConfig(BASE).driver).toEqual({ kind: 'ioredis', url: BASE.REDIS_URL });
  });
});
