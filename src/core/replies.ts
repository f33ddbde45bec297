/**
 * The one place that understands Redis replies. Drivers return raw RESP2-shaped replies
 * (arrays, strings, integers, null) and these functions turn them into typed values, so the
 * drivers cannot drift apart in how they read a reply.
 */
import { SluiceError } from './errors.js';

/** A stream entry as Redis returns it: its id and its flat field list (null if the entry was deleted). */
export interface RawEntry {
  readonly id: string;
  readonly fields: readonly string[] | null;
}

/** What a reclaim script did with delayed messages: how many it moved into the stream, when the next is due. */
export interface Promotion {
  readonly promoted: number;
  /** In how many ms the next delayed message is due; absent when none waits. */
  readonly nextDeliveryMs?: number;
}

export interface ReclaimPage extends Promotion {
  /** Where the next page starts (XAUTOCLAIM's cursor); `0-0` when the scan is complete. */
  readonly cursor: string;
  /** Entries claimed by this consumer, with their delivery count (this delivery included). */
  readonly claimed: { readonly entry: RawEntry; readonly deliveries: number }[];
  /** Ids that were pending but no longer exist in the stream (trimmed or deleted). */
  readonly deletedIds: string[];
  /**
   * When the scan is complete: in how many ms the next pending entry can be due — the retry
   * schedule's first, or one another consumer holds (of those the script looked at); absent when
   * none is (or the scan goes on).
   */
  readonly nextDueMs?: number;
}

function unexpected(what: string, reply: unknown): never {
  throw new SluiceError(`Unexpected ${what} reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
}

function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return unexpected(what, value);
}

function asNumber(value: unknown, what: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  return unexpected(what, value);
}

export function parseEntries(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return unexpected('stream entries', reply);
  return reply.map((item): RawEntry => {
    if (!Array.isArray(item)) return unexpected('stream entry', item);
    const [id, fields] = item as [unknown, unknown];
    if (fields !== null && !Array.isArray(fields)) return unexpected('stream entry fields', item);
    return { id: asString(id, 'stream entry id'), fields: fields === null ? null : asStrings(fields) };
  });
}

/** The list itself when every element is a string (the usual case: no copy), else a converted copy. */
function asStrings(list: unknown[]): string[] {
  for (const item of list) {
    if (typeof item !== 'string') return list.map((f) => asString(f, 'field'));
  }
  return list as string[];
}

/** XREADGROUP on one stream: `null` (nothing) or `[[key, entries]]`. */
export function parseReadGroup(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return unexpected('XREADGROUP', reply);
  const entries: RawEntry[] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || stream.length < 2) return unexpected('XREADGROUP stream', stream);
    entries.push(...parseEntries(stream[1]));
  }
  return entries;
}

/**
 * The reclaim script: `[cursor, [[id, deliveries, fields], …], [deletedId, …], nextDueMs,
 * promoted, nextDeliveryMs]` (-1: none).
 */
export function parseReclaim(reply: unknown): ReclaimPage {
  if (!Array.isArray(reply) || reply.length < 6) return unexpected('reclaim', reply);
  const page = {
    cursor: asString(reply[0], 'reclaim cursor'),
    ...parseClaims(reply),
    ...parsePromotion(reply.slice(4)),
  };
  const nextDueMs = asNumber(reply[3], 'reclaim next due');
  return nextDueMs >= 0 ? { ...page, nextDueMs } : page;
}

/** An ordered reclaim page: `waitMs` -1 (nothing left pending), 0 (call again) or the wait until the oldest entry is due. */
export interface OrderedReclaimPage extends Omit<ReclaimPage, 'cursor' | 'nextDueMs'> {
  readonly waitMs: number;
}

/** The ordered reclaim script: `[waitMs, [[id, deliveries, fields], …], [deletedId, …], promoted, nextDeliveryMs]`. */
export function parseOrderedReclaim(reply: unknown): OrderedReclaimPage {
  if (!Array.isArray(reply) || reply.length < 5) return unexpected('ordered reclaim', reply);
  return {
    waitMs: asNumber(reply[0], 'ordered reclaim wait'),
    ...parseClaims(reply),
    ...parsePromotion(reply.slice(3)),
  };
}

/** `[promoted, nextDeliveryMs]` (-1: nothing waits), as the promote script (and the reclaim scripts' tail) answer. */
export function parsePromotion(reply: unknown): Promotion {
  if (!Array.isArray(reply) || reply.length < 2) return unexpected('promote', reply);
  const promoted = asNumber(reply[0], 'promoted');
  const nextDeliveryMs = asNumber(reply[1], 'next delivery');
  return nextDeliveryMs >= 0 ? { promoted, nextDeliveryMs } : { promoted };
}

function parseClaims(reply: unknown[]): Pick<ReclaimPage, 'claimed' | 'deletedIds'> {
  const [, claimed, deleted] = reply as [unknown, unknown, unknown];
  if (!Array.isArray(claimed) || !Array.isArray(deleted)) return unexpected('reclaim', reply);
  return {
    claimed: claimed.map((row) => {
      if (!Array.isArray(row) || row.length < 3) return unexpected('reclaimed entry', row);
      const [entry] = parseEntries([[row[0], row[2]]]) as [RawEntry];
      return { entry, deliveries: asNumber(row[1], 'delivery count') };
    }),
    deletedIds: deleted.map((id) => asString(id, 'deleted id')),
  };
}

export function parseInteger(reply: unknown, what: string): number {
  return asNumber(reply, what);
}

export function parseString(reply: unknown, what: string): string {
  return asString(reply, what);
}

/** A flat `[field, value, field, value, …]` list as a map without a prototype (so `__proto__` is just a field). */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
