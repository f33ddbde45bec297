/**
 * Reading the operations' script replies: rows, optional values, a missing group named, and one
 * page of a stream through the RANGE script.
 */
import { type Driver, runScript } from '../core/driver.js';
import { GroupNotFoundError, RedisReplyError, SluiceError } from '../core/errors.js';
import type { StreamKeys } from '../core/keys.js';
import { parseEntries, parseInteger, parseString, type RawEntry } from '../core/replies.js';
import { RANGE } from './scripts.js';

/** Script replies name a missing group with NOGROUP: say which. */
export async function withGroup<R>(keys: StreamKeys, group: string, run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RedisReplyError && error.code === 'NOGROUP')
      throw new GroupNotFoundError(keys.stream, group);
    throw error;
  }
}

function unexpected(what: string, reply: unknown): never {
  throw new SluiceError(`Unexpected ${what} reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
}

export function rows(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) return unexpected(what, reply);
  return reply;
}

export function optionalString(value: unknown, what: string): string | null {
  return value === null || value === undefined ? null : parseString(value, what);
}

export function optionalInteger(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : parseInteger(value, what);
}

/** One page of a stream through the range script: its length and entries. */
export async function range(
  driver: Driver,
  key: string,
  start: string,
  end: string,
  count: number,
  rev = false,
): Promise<{ length: number; entries: RawEntry[] }> {
  const args = [start, end, count, ...(rev ? ['rev'] : [])];
  const reply = rows(await runScript(driver, RANGE, [key], args), 'range');
  return { length: parseInteger(reply[0], 'length'), entries: parseEntries(reply[1]) };
}
