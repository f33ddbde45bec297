import { InvalidOptionError } from './errors.js';

/** Precise validation messages, in one style: `` Expected `name` to be …, got `value` (type) ``. */
export function describeGot(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  if (value === null) return '`null`';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `\`${String(value)}\` (${typeof value})`;
}

/** Returns an error message when `value` is not an integer in [min, max], else undefined. */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  return `Expected \`${name}\` to be an integer ${range}, got ${describeGot(value)}`;
}

/**
 * The one integer validator for options: returns `value` when it is an integer in [min, max], else
 * throws an {@link InvalidOptionError} naming the option (the message of {@link checkInteger}).
 */
export function integerOption(name: string, value: unknown, min: number, max?: number): number {
  const problem = checkInteger(name, value, min, max);
  if (problem) throw new InvalidOptionError(name, problem);
  return value as number;
}
