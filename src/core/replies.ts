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

export interface PendingInfo {
  readonly id: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

export interface AutoClaimPage {
  /** Where the next XAUTOCLAIM call starts; `0-0` when the scan is complete. */
  readonly cursor: string;
  readonly entries: RawEntry[];
  /** Ids that were pending but no longer exist in the stream (trimmed or deleted): Redis dropped them from the pending list. */
  readonly deletedIds: string[];
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
    return {
      id: asString(id, 'stream entry id'),
      fields: fields === null ? null : (fields as unknown[]).map((f) => asString(f, 'field')),
    };
  });
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

/** XAUTOCLAIM: `[cursor, entries, deletedIds]` (Redis 7; 6.2 has no third element). */
export function parseAutoClaim(reply: unknown): AutoClaimPage {
  if (!Array.isArray(reply) || reply.length < 2) return unexpected('XAUTOCLAIM', reply);
  const [cursor, entries, deleted] = reply as [unknown, unknown, unknown];
  // An entry deleted between XADD and claim may come back with null fields on older servers.
  const all = parseEntries(entries);
  const deletedIds = Array.isArray(deleted) ? deleted.map((id) => asString(id, 'deleted id')) : [];
  for (const entry of all) if (entry.fields === null) deletedIds.push(entry.id);
  return {
    cursor: asString(cursor, 'XAUTOCLAIM cursor'),
    entries: all.filter((entry) => entry.fields !== null),
    deletedIds,
  };
}

/** XPENDING extended form: `[[id, consumer, idleMs, deliveries], …]`. */
export function parsePending(reply: unknown): PendingInfo[] {
  if (!Array.isArray(reply)) return unexpected('XPENDING', reply);
  return reply.map((row): PendingInfo => {
    if (!Array.isArray(row) || row.length < 4) return unexpected('XPENDING row', row);
    return {
      id: asString(row[0], 'pending id'),
      consumer: asString(row[1], 'pending consumer'),
      idleMs: asNumber(row[2], 'pending idle time'),
      deliveries: asNumber(row[3], 'delivery count'),
    };
  });
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
