/**
 * Reading single environment variables: trimmed text, flags, whole numbers, lists and topic names.
 * A bad value is a {@link ConfigurationError} that names the variable.
 */

import { ConfigurationError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable's value, trimmed; unset or blank is undefined. */
export function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A boolean variable: true/false (also 1/0, yes/no); unset is false. */
export function flag(env: Env, name: string): boolean {
  const value = text(env, name)?.toLowerCase();
  if (value === undefined) return false;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new ConfigurationError(name, `${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** A comma list of whole numbers, e.g. `0,1,5`; unset is undefined. */
export function numberList(env: Env, name: string): number[] | undefined {
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

/** A whole number from `min` to `max`; unset is `fallback`. */
export function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
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

/** A topic (or group) name; unset is `fallback`. */
export function topicName(env: Env, name: string, fallback: string): string {
  const value = text(env, name) ?? fallback;
  if (!isTopicName(value))
    throw new ConfigurationError(name, `${name} must match ${TOPIC_PATTERN}, got ${JSON.stringify(value)}`);
  return value;
}

/** `SLUICE_TOPICS`: a comma list of topic names, blanks dropped; unset is `[fallback]`. */
export function topicList(env: Env, name: string, fallback: string): string[] {
  const listed = text(env, name);
  if (listed === undefined) return [fallback];
  const topics = listed
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of topics) {
    if (!isTopicName(t))
      throw new ConfigurationError(
        name,
        `${name} has ${JSON.stringify(t)}, which does not match ${TOPIC_PATTERN}`,
      );
  }
  if (topics.length === 0) throw new ConfigurationError(name, `${name} lists no topic`);
  return topics;
}
