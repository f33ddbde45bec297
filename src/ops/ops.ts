/**
 * Operations: inspect and repair a topic. Statistics per group, dead letters (list, show, redrive,
 * purge), replay (reset a group's position, like Kafka's offset reset) and tail (follow new
 * messages without joining a group).
 *
 * Platform-neutral, over any {@link Driver}: every call is one Lua script on one topic's keys
 * (`ops-scripts.ts`), atomic and one round trip, so the driver interface needs nothing new; only
 * `tail` uses the driver's optional `read` (a blocking XREAD on TCP), and polls through a script
 * without it. Results are plain JSON-serialisable objects (for a CLI, an HTTP endpoint, a log).
 */
import { DEAD_LETTER_FIELDS, type DeadLetterReason } from '../consume/dead-letters.js';
import { type Driver, runScript } from '../core/driver.js';
import { decodeMessage, idTime, type Message } from '../core/envelope.js';
import { GroupNotFoundError, InvalidOptionError, RedisReplyError, SluiceError } from '../core/errors.js';
import { isTopicName, type StreamKeys, streamKeys, TOPIC_PATTERN } from '../core/keys.js';
import { topicLayout } from '../core/partitions.js';
import {
  fieldsToRecord,
  parseEntries,
  parseInteger,
  parseReadGroup,
  parseString,
  type RawEntry,
} from '../core/replies.js';
import { sleep } from '../core/signals.js';
import { checkInteger, describeGot } from '../core/validate.js';
import { LAST_ID, PURGE, RANGE, REDRIVE, REPLAY, STATS } from './scripts.js';

/**
 * A topic name, `{ topic }` — with `partition` for one partition of a partitioned topic — or
 * `{ stream }` for a stream key used as it is.
 */
export type OpsTarget =
  | string
  | { readonly topic: string; readonly partition?: number | undefined }
  | { readonly stream: string };

export const OPS_DEFAULTS = Object.freeze({
  /** Dead letters per page of `listDeadLetters`. */
  listCount: 100,
  /** Dead letters per redrive script call. */
  redriveBatchSize: 100,
  /**
   * Where Redis cannot tell a lag (or a replay's size) itself, entries are counted up to this many;
   * past it the figure is unknown (`lag: null`) or a lower bound (`exact: false`).
   */
  countLimit: 10_000,
  /** Entries per read of `tail`. */
  tailBatchSize: 100,
  /** Longest blocking read of `tail` (drivers that can block): also how long an abort may take to be noticed. */
  tailBlockMs: 1_000,
  /** Longest wait between two polls of `tail` on drivers that cannot block (from 50 ms, doubling). */
  tailMaxPollDelayMs: 1_000,
});

const FIRST_POLL_DELAY_MS = 50;
/** Redis's largest sequence number: `<ms>-<MAX_SEQ>` is the last possible id of a millisecond. */
const MAX_SEQ = 18_446_744_073_709_551_615n;
const STREAM_ID = /^(\d{1,20})(?:-(\d{1,20}))?$/;

function keysOf(target: OpsTarget): StreamKeys {
  if (typeof target === 'string') return streamKeys({ topic: target });
  return streamKeys('stream' in target ? { stream: target.stream } : { topic: target.topic });
}

/**
 * The keys of the stream an operation works on. A partitioned topic's operations work on one
 * partition at a time: `partition` must name it (and must not be given for a plain topic, but 0).
 */
async function targetKeys(driver: Driver, target: OpsTarget): Promise<StreamKeys> {
  const plain = keysOf(target); // validates the name before anything is sent
  const topic = topicOf(target);
  if (topic === null) return plain;
  const partition = typeof target === 'object' && 'topic' in target ? target.partition : undefined;
  const layout = await topicLayout(driver, topic);
  if (partition === undefined) {
    if (layout.partitions === 1) return plain;
    throw new InvalidOptionError(
      'partition',
      `topic ${JSON.stringify(topic)} has ${layout.partitions} partitions: name one (\`partition\`, 0 to ${layout.partitions - 1})`,
    );
  }
  const problem = checkInteger('partition', partition, 0, layout.partitions - 1);
  if (problem)
    throw new InvalidOptionError(
      'partition',
      `${problem} (topic ${JSON.stringify(topic)} has ${layout.partitions})`,
    );
  return layout.keys(partition);
}

function topicOf(target: OpsTarget): string | null {
  if (typeof target === 'string') return target;
  return 'topic' in target ? target.topic : null;
}

function checkGroup(group: unknown): asserts group is string {
  if (!isTopicName(group)) {
    throw new InvalidOptionError(
      'group',
      `Expected \`group\` to match ${TOPIC_PATTERN}, got ${describeGot(group)}`,
    );
  }
}

function integer(name: string, value: unknown, fallback: number, min: number, max?: number): number {
  if (value === undefined) return fallback;
  const problem = checkInteger(name, value, min, max);
  if (problem) throw new InvalidOptionError(name, problem);
  return value as number;
}

/** A stream id normalised to `<ms>-<seq>` (no leading zeros), or undefined when `text` is not one. */
export function normaliseStreamId(text: string): string | undefined {
  const match = STREAM_ID.exec(text);
  if (!match) return undefined;
  const ms = BigInt(match[1] as string);
  const seq = BigInt(match[2] ?? '0');
  if (ms > MAX_SEQ || seq > MAX_SEQ) return undefined;
  return `${ms}-${seq}`;
}

function streamId(name: string, value: unknown): string {
  const id = typeof value === 'string' ? normaliseStreamId(value) : undefined;
  if (id === undefined) {
    throw new InvalidOptionError(
      name,
      `Expected \`${name}\` to be a stream id (<ms>-<seq> or <ms>), got ${describeGot(value)}`,
    );
  }
  return id;
}

/** The id just before `id` (`<ms>-<seq>`): what a group's last-delivered id must be for `id` to be read next. */
function previousId(id: string): string {
  const [ms, seq] = id.split('-').map((part) => BigInt(part)) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX_SEQ}`;
  return '0-0';
}

/** Script replies name a missing group with NOGROUP: say which. */
async function withGroup<R>(keys: StreamKeys, group: string, run: () => Promise<R>): Promise<R> {
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

function rows(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) return unexpected(what, reply);
  return reply;
}

function optionalString(value: unknown, what: string): string | null {
  return value === null || value === undefined ? null : parseString(value, what);
}

function optionalInteger(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : parseInteger(value, what);
}

// ---------------------------------------------------------------------------------------------
// Statistics

export interface GroupStats {
  readonly name: string;
  /** Entries in the stream the group has not read yet; null when Redis cannot tell and there are more than `countLimit`. */
  readonly lag: number | null;
  /** Entries read by the group and not acknowledged yet. */
  readonly pending: number;
  /** The oldest pending entry, null when nothing is pending. */
  readonly oldestPendingId: string | null;
  /** How long ago the oldest pending entry was published (from its id). */
  readonly oldestPendingAgeMs: number | null;
  /** How long since the oldest pending entry was last delivered (XPENDING idle time). */
  readonly oldestPendingIdleMs: number | null;
  /** Consumers the group knows (each drain cycle is one; the tidy phase removes idle, empty ones). */
  readonly consumers: number;
  readonly lastDeliveredId: string;
  /** Redis's logical read counter (7.0+); null when unknown. */
  readonly entriesRead: number | null;
  /** Entries in the group's dead-letter stream. */
  readonly deadLetters: number;
}

export interface TopicStats {
  /** The topic, or null for a stream key used as it is. */
  readonly topic: string | null;
  readonly stream: string;
  /** False when the stream does not exist (nothing was ever published, or it was deleted). */
  readonly exists: boolean;
  readonly length: number;
  readonly firstId: string | null;
  readonly lastId: string | null;
  /** The stream's last generated id (the last entry's, unless it was deleted). */
  readonly lastGeneratedId: string | null;
  readonly groups: readonly GroupStats[];
  /** Redis's clock when measured (ms since the epoch): ages are relative to it. */
  readonly measuredAt: number;
  /** The partition, for one partition of a partitioned topic (see {@link partitionedTopicStats}). */
  readonly partition?: number;
}

/**
 * Length, and per group: lag, pending, oldest pending age, consumers, dead letters — one script,
 * one round trip.
 *
 * @example
 * ```ts
 * const { groups } = await topicStats(driver, 'orders');
 * for (const g of groups) console.log(g.name, g.lag, g.pending, g.deadLetters);
 * ```
 */
export async function topicStats(driver: Driver, target: OpsTarget): Promise<TopicStats> {
  const keys = await targetKeys(driver, target);
  const prefix = keys.deadLetters('');
  const reply = rows(
    await runScript(driver, STATS, [keys.stream], [prefix, OPS_DEFAULTS.countLimit]),
    'stats',
  );
  return parseStats(topicOf(target), keys.stream, reply);
}

/**
 * {@link topicStats} for every stream of a target: one per partition of a partitioned topic (each
 * with its `partition`), else the one stream. One round trip per stream, side by side.
 *
 * @example
 * ```ts
 * for (const s of await partitionedTopicStats(driver, 'orders')) console.log(s.partition, s.length);
 * ```
 */
export async function partitionedTopicStats(driver: Driver, target: OpsTarget): Promise<TopicStats[]> {
  const topic = topicOf(target);
  if (topic === null) return [await topicStats(driver, target)];
  if (typeof target === 'object' && 'partition' in target && target.partition !== undefined) {
    return [{ ...(await topicStats(driver, target)), partition: target.partition }];
  }
  keysOf(target); // validates the name before anything is sent
  const layout = await topicLayout(driver, topic);
  if (layout.partitions === 1) return [await topicStats(driver, target)];
  return Promise.all(
    Array.from({ length: layout.partitions }, async (_, partition) => {
      const stats = await topicStats(driver, { stream: layout.keys(partition).stream });
      return { ...stats, topic, partition };
    }),
  );
}

function parseStats(topic: string | null, stream: string, reply: unknown[]): TopicStats {
  const measuredAt = parseInteger(reply[0], 'stats time');
  if (parseInteger(reply[1], 'stats exists') === 0) {
    return {
      topic,
      stream,
      exists: false,
      length: 0,
      firstId: null,
      lastId: null,
      lastGeneratedId: null,
      groups: [],
      measuredAt,
    };
  }
  const groups = rows(reply[6], 'stats groups').map((row): GroupStats => {
    const g = rows(row, 'stats group');
    const oldestPendingId = optionalString(g[6], 'oldest pending id');
    return {
      name: parseString(g[0], 'group name'),
      consumers: parseInteger(g[1], 'consumers'),
      pending: parseInteger(g[2], 'pending'),
      lastDeliveredId: parseString(g[3], 'last-delivered-id'),
      entriesRead: optionalInteger(g[4], 'entries-read'),
      lag: optionalInteger(g[5], 'lag'),
      oldestPendingId,
      oldestPendingAgeMs: oldestPendingId === null ? null : Math.max(0, measuredAt - idTime(oldestPendingId)),
      oldestPendingIdleMs: optionalInteger(g[7], 'oldest pending idle'),
      deadLetters: parseInteger(g[8], 'dead letters'),
    };
  });
  return {
    topic,
    stream,
    exists: true,
    length: parseInteger(reply[2], 'length'),
    firstId: optionalString(reply[3], 'first id'),
    lastId: optionalString(reply[4], 'last id'),
    lastGeneratedId: optionalString(reply[5], 'last generated id'),
    groups,
    measuredAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Dead letters

/** A dead letter: the original message and why it was given up on. */
export interface DeadLetter {
  /** Its id in the dead-letter stream. */
  readonly id: string;
  /** Why: `permanent` or `max-deliveries` (null on an entry sluice did not stamp). */
  readonly reason: DeadLetterReason | null;
  /** The last error, `Name: message`. */
  readonly error: string | null;
  /** Deliveries it had when it was dead-lettered. */
  readonly deliveries: number | null;
  /** The id of the original entry in the source stream. */
  readonly sourceId: string | null;
  readonly sourceStream: string | null;
  /** When it was dead-lettered (ISO 8601). */
  readonly deadAt: string | null;
  /** The original entry's fields, without the `dlq.*` stamps. */
  readonly fields: Readonly<Record<string, string>>;
  /** `sluice` when the original was published through sluice (then `data` is its payload), else `foreign`. */
  readonly format: Message['format'];
  readonly data: unknown;
  readonly key: string | undefined;
}

export interface DeadLetterPage {
  /** The dead-letter stream's key. */
  readonly stream: string;
  readonly group: string;
  /** Dead letters in the stream in all. */
  readonly total: number;
  /** Oldest first, or newest first when asked (`order: 'newest'`). */
  readonly deadLetters: readonly DeadLetter[];
  /** Pass as `start` for the next page; null when this page reached the end. */
  readonly next: string | null;
}

export interface ListDeadLettersOptions {
  /**
   * Most dead letters to return.
   * @default 100
   */
  readonly count?: number;
  /**
   * The first id (inclusive), or `(<id>` (exclusive, as `next` gives).
   * @default the oldest, or the newest with `order: 'newest'`
   */
  readonly start?: string;
  /**
   * `newest` pages from the newest dead letter back to the oldest.
   * @default 'oldest'
   */
  readonly order?: 'oldest' | 'newest';
}

const STAMPED = new Set<string>(Object.values(DEAD_LETTER_FIELDS));

/** A dead-letter entry, split into the original fields and the stamps sluice appended after them. */
export function parseDeadLetter(entry: RawEntry, stream: string): DeadLetter {
  const all = entry.fields ?? [];
  let end = all.length - (all.length % 2);
  while (end >= 2 && STAMPED.has(all[end - 2] as string)) end -= 2;
  const stamps = fieldsToRecord(all.slice(end));
  const original = all.slice(0, end);
  const sourceId = stamps[DEAD_LETTER_FIELDS.sourceId] ?? null;
  const deliveries = Number(stamps[DEAD_LETTER_FIELDS.deliveries]);
  const message = decodeMessage(
    stamps[DEAD_LETTER_FIELDS.sourceStream] ?? stream,
    {
      id: sourceId ?? entry.id,
      fields: original,
    },
    0,
  );
  return {
    id: entry.id,
    reason: (stamps[DEAD_LETTER_FIELDS.reason] as DeadLetterReason | undefined) ?? null,
    error: stamps[DEAD_LETTER_FIELDS.error] ?? null,
    deliveries:
      Number.isFinite(deliveries) && stamps[DEAD_LETTER_FIELDS.deliveries] !== undefined ? deliveries : null,
    sourceId,
    sourceStream: stamps[DEAD_LETTER_FIELDS.sourceStream] ?? null,
    deadAt: stamps[DEAD_LETTER_FIELDS.deadAt] ?? null,
    fields: message.fields,
    format: message.format,
    data: message.data,
    key: message.key,
  };
}

function rangeStart(value: unknown, first: '-' | '+' = '-'): string {
  if (value === undefined || value === first) return first;
  if (typeof value === 'string' && value.startsWith('(')) return `(${streamId('start', value.slice(1))}`;
  return streamId('start', value);
}

/** One page of a stream through the range script: its length and entries. */
async function range(driver: Driver, key: string, start: string, end: string, count: number, rev = false) {
  const args = [start, end, count, ...(rev ? ['rev'] : [])];
  const reply = rows(await runScript(driver, RANGE, [key], args), 'range');
  return { length: parseInteger(reply[0], 'length'), entries: parseEntries(reply[1]) };
}

/**
 * A page of a group's dead letters, oldest first (or newest first), with their parsed `dlq.*` stamps.
 *
 * @example
 * ```ts
 * let page = await listDeadLetters(driver, 'orders', 'billing', { count: 50 });
 * while (page.next) page = await listDeadLetters(driver, 'orders', 'billing', { start: page.next });
 * ```
 */
export async function listDeadLetters(
  driver: Driver,
  target: OpsTarget,
  group: string,
  options: ListDeadLettersOptions = {},
): Promise<DeadLetterPage> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const count = integer('count', options.count, OPS_DEFAULTS.listCount, 1, 10_000);
  const stream = keys.deadLetters(group);
  if (options.order !== undefined && options.order !== 'oldest' && options.order !== 'newest')
    throw new InvalidOptionError(
      'order',
      `Expected \`order\` to be oldest or newest, got ${describeGot(options.order)}`,
    );
  const rev = options.order === 'newest';
  const [first, last] = rev ? (['+', '-'] as const) : (['-', '+'] as const);
  // One more than asked tells whether there is a next page.
  const { length, entries } = await range(
    driver,
    stream,
    rangeStart(options.start, first),
    last,
    count + 1,
    rev,
  );
  const page = entries.slice(0, count);
  return {
    stream,
    group,
    total: length,
    deadLetters: page.map((entry) => parseDeadLetter(entry, keys.stream)),
    next: entries.length > count ? `(${(page[page.length - 1] as RawEntry).id}` : null,
  };
}

/** One dead letter by its id in the dead-letter stream; undefined when there is none. */
export async function showDeadLetter(
  driver: Driver,
  target: OpsTarget,
  group: string,
  id: string,
): Promise<DeadLetter | undefined> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const exact = streamId('id', id);
  const { entries } = await range(driver, keys.deadLetters(group), exact, exact, 1);
  const [entry] = entries;
  return entry === undefined ? undefined : parseDeadLetter(entry, keys.stream);
}

/**
 * What became of one dead letter:
 * - `pending`: back in the group's pending list (its source entry is still in the stream); the
 *   next drain cycle's reclaim phase delivers it again, same id, fresh delivery count;
 * - `unread`: the group had not read its source entry yet (a replay moved it back): it will;
 * - `appended`: the source entry was trimmed, so the original fields were appended as a new
 *   entry, and every other group (all had read the whole stream) was moved past it;
 * - `blocked`: source trimmed and other groups (`groupsBehind`) still have unread entries: left
 *   as a dead letter, try again once they have caught up;
 * - `missing`: no such dead letter; `invalid`: it has no source id or no original fields.
 */
export type RedriveOutcome = 'pending' | 'unread' | 'appended' | 'blocked' | 'missing' | 'invalid';

export interface RedriveResult {
  /** The dead letter's id. */
  readonly id: string;
  readonly outcome: RedriveOutcome;
  readonly sourceId: string | null;
  /** The new entry's id (`appended`, not in a dry run). */
  readonly newId: string | null;
  /** The other groups with unread entries (`blocked`). */
  readonly groupsBehind: readonly string[];
}

export interface RedriveReport {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly group: string;
  readonly dryRun: boolean;
  /** Dead letters redriven (or, in a dry run, that would be): `pending` + `unread` + `appended`. */
  readonly redriven: number;
  /** Per outcome. */
  readonly counts: Readonly<Record<RedriveOutcome, number>>;
  readonly results: readonly RedriveResult[];
}

export interface RedriveProgress {
  /** Dead letters handled so far. */
  readonly done: number;
  /** How many will be handled in all (the dead letters there were, capped by `limit`). */
  readonly total: number;
}

export interface RedriveOptions {
  /** These dead letters only (ids in the dead-letter stream). Default: from the oldest on. */
  readonly ids?: readonly string[];
  /** At most this many. Default: all. */
  readonly limit?: number;
  /** Decide, report, write nothing. @default false */
  readonly dryRun?: boolean;
  /** At most this many dead letters per second. Default: no limit. */
  readonly ratePerSecond?: number;
  /**
   * Dead letters per script call (each call is atomic).
   * @default 100
   */
  readonly batchSize?: number;
  /** Aborting stops after the batch under way. */
  readonly signal?: AbortSignal;
  /** Called after each batch. */
  readonly onProgress?: (progress: RedriveProgress) => void;
}

/**
 * Puts dead letters back so that only the group that dead-lettered them gets them again — never
 * by adding them to the stream for every group (see {@link RedriveOutcome} and the REDRIVE script).
 * The group must exist ({@link GroupNotFoundError} otherwise).
 *
 * @example
 * ```ts
 * const report = await redrive(driver, 'orders', 'billing', { dryRun: true });
 * console.log(report.counts); // { pending: 12, appended: 1, blocked: 0, … }
 * ```
 */
export async function redrive(
  driver: Driver,
  target: OpsTarget,
  group: string,
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const dryRun = options.dryRun === true;
  const limit = integer('limit', options.limit, Number.MAX_SAFE_INTEGER, 1);
  const batchSize = integer('batchSize', options.batchSize, OPS_DEFAULTS.redriveBatchSize, 1, 1_000);
  const rate = integer('ratePerSecond', options.ratePerSecond, 0, 1);
  const ids = options.ids?.map((id) => streamId('ids', id));
  const deadLetterStream = keys.deadLetters(group);
  // A fresh consumer per call holds what it re-pends, until the drain reclaims it (the drain's tidy
  // phase removes it once it holds nothing).
  const consumer = `sluice-redrive-${globalThis.crypto.randomUUID().slice(0, 8)}`;
  const step = Math.min(batchSize, rate || batchSize);
  const results: RedriveResult[] = [];
  const startedAt = Date.now();

  const runBatch = async (batch: readonly string[]) => {
    const reply = await withGroup(keys, group, () =>
      runScript(
        driver,
        REDRIVE,
        [keys.stream, deadLetterStream],
        [group, consumer, dryRun ? 1 : 0, ...batch],
      ),
    );
    for (const row of rows(reply, 'redrive')) {
      const r = rows(row, 'redrive result');
      const behind = optionalString(r[4], 'groups behind');
      results.push({
        id: parseString(r[0], 'dead letter id'),
        outcome: parseString(r[1], 'redrive outcome') as RedriveOutcome,
        sourceId: optionalString(r[2], 'source id'),
        newId: optionalString(r[3], 'new id'),
        groupsBehind: behind === null ? [] : behind.split(','),
      });
    }
  };
  /** Waits until the rate allows the next batch (not after the last one). */
  const pace = async (more: boolean) => {
    if (rate > 0 && more)
      await sleep(startedAt + (results.length / rate) * 1000 - Date.now(), options.signal);
  };

  if (ids !== undefined) {
    const chosen = ids.slice(0, limit);
    for (let i = 0; i < chosen.length && !options.signal?.aborted; i += step) {
      await runBatch(chosen.slice(i, i + step));
      options.onProgress?.({ done: results.length, total: chosen.length });
      await pace(i + step < chosen.length);
    }
  } else {
    let start = '-';
    let total: number | undefined;
    let more = true;
    while (more && !options.signal?.aborted) {
      const want = Math.min(step, limit - results.length);
      const page = await range(driver, deadLetterStream, start, '+', want);
      total ??= Math.min(page.length, limit);
      if (page.entries.length === 0) break;
      const batch = page.entries.map((e) => e.id);
      await runBatch(batch);
      start = `(${batch[batch.length - 1]}`;
      more = page.entries.length === want && results.length < limit;
      options.onProgress?.({ done: results.length, total: Math.max(total, results.length) });
      await pace(more);
    }
  }

  // Nothing to redrive still needs the group to exist: an empty call checks it.
  if (results.length === 0 && !options.signal?.aborted) await runBatch([]);

  const counts: Record<RedriveOutcome, number> = {
    pending: 0,
    unread: 0,
    appended: 0,
    blocked: 0,
    missing: 0,
    invalid: 0,
  };
  for (const r of results) counts[r.outcome]++;
  return {
    stream: keys.stream,
    deadLetterStream,
    group,
    dryRun,
    redriven: counts.pending + counts.unread + counts.appended,
    counts,
    results,
  };
}

export interface PurgeOptions {
  /** Delete these dead letters (ids in the dead-letter stream). Give this or `all`. */
  readonly ids?: readonly string[];
  /** Delete every dead letter of the group. */
  readonly all?: boolean;
  /** Count, delete nothing. @default false */
  readonly dryRun?: boolean;
}

export interface PurgeReport {
  readonly deadLetterStream: string;
  readonly group: string;
  readonly dryRun: boolean;
  /** Dead letters deleted (or that would be). */
  readonly purged: number;
  /** Ids asked for that were not there. */
  readonly missing: readonly string[];
}

/** Deletes dead letters for good: some by id, or all of a group's. */
export async function purgeDeadLetters(
  driver: Driver,
  target: OpsTarget,
  group: string,
  options: PurgeOptions,
): Promise<PurgeReport> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const all = options?.all === true;
  const ids = options?.ids?.map((id) => streamId('ids', id));
  if (all === (ids !== undefined))
    throw new InvalidOptionError('ids', 'Expected exactly one of `ids` and `all`');
  if (ids !== undefined && ids.length === 0) throw new InvalidOptionError('ids', 'Expected at least one id');
  const dryRun = options.dryRun === true;
  const deadLetterStream = keys.deadLetters(group);
  const reply = rows(
    await runScript(driver, PURGE, [deadLetterStream], [dryRun ? 1 : 0, all ? 'all' : 'ids', ...(ids ?? [])]),
    'purge',
  );
  return {
    deadLetterStream,
    group,
    dryRun,
    purged: parseInteger(reply[0], 'purged'),
    missing: rows(reply[1], 'purge missing').map((id) => parseString(id, 'missing id')),
  };
}

// ---------------------------------------------------------------------------------------------
// Replay

/** Where a replay starts: a stream id (`<ms>-<seq>` or `<ms>`), a time, or `$` (the end: skip everything). */
export type ReplayFrom = string | Date;

export interface ReplayOptions {
  /** Measure, change nothing. @default false */
  readonly dryRun?: boolean;
}

export interface ReplayReport {
  readonly stream: string;
  readonly group: string;
  readonly dryRun: boolean;
  /** The first id the group reads again (inclusive), or `$`. */
  readonly from: string;
  readonly previousLastDeliveredId: string;
  /** The group's position now (or, in a dry run, after the replay). */
  readonly lastDeliveredId: string;
  /** Entries the group will read (again) from its new position. */
  readonly entries: number;
  /** False when `entries` is only a lower bound (more than `countLimit` entries on both sides of `from`). */
  readonly exact: boolean;
  /** Redis's read counter as set, so that its lag stays exact; null when it could not be known. */
  readonly entriesRead: number | null;
  /** The group's pending entries: a replay leaves them pending. */
  readonly pending: number;
  /** The stream's length. */
  readonly length: number;
}

/**
 * Parses a replay start as an operator writes it: `$`, a stream id (`1700000000000-0`,
 * `1700000000000`), or an ISO 8601 time (`2024-05-01T12:00:00Z`, `2024-05-01`).
 */
export function parseReplayFrom(text: string): ReplayFrom {
  const trimmed = text.trim();
  if (trimmed === '$') return '$';
  if (normaliseStreamId(trimmed) !== undefined) return trimmed;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(trimmed)) {
    const time = new Date(trimmed);
    if (!Number.isNaN(time.getTime())) return time;
  }
  throw new InvalidOptionError(
    'from',
    `Expected \`from\` to be a stream id (<ms>-<seq>), an ISO 8601 time or "$", got ${describeGot(text)}`,
  );
}

function replayStart(from: ReplayFrom): { from: string; position: string } {
  if (from instanceof Date) {
    const ms = from.getTime();
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError(
        'from',
        `Expected \`from\` to be a valid time after 1970, got ${String(from)}`,
      );
    }
    const id = `${ms}-0`;
    return { from: id, position: previousId(id) };
  }
  if (from === '$') return { from: '$', position: '$' };
  const id = streamId('from', from);
  return { from: id, position: previousId(id) };
}

/**
 * Resets a group's position so that it reads the stream again from `from` on (inclusive) — like
 * Kafka's offset reset by datetime. Entries the group holds pending stay pending. Refuses a group
 * that does not exist ({@link GroupNotFoundError}).
 *
 * @example
 * ```ts
 * const plan = await replay(driver, 'orders', 'billing', new Date('2024-05-01T12:00:00Z'), { dryRun: true });
 * console.log(`${plan.entries} entries will be delivered again`);
 * ```
 */
export async function replay(
  driver: Driver,
  target: OpsTarget,
  group: string,
  from: ReplayFrom,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const keys = await targetKeys(driver, target);
  checkGroup(group);
  const start = replayStart(from);
  const dryRun = options.dryRun === true;
  const reply = rows(
    await withGroup(keys, group, () =>
      runScript(
        driver,
        REPLAY,
        [keys.stream],
        [group, start.from, start.position, dryRun ? 1 : 0, OPS_DEFAULTS.countLimit],
      ),
    ),
    'replay',
  );
  return {
    stream: keys.stream,
    group,
    dryRun,
    from: start.from,
    previousLastDeliveredId: parseString(reply[0], 'previous position'),
    lastDeliveredId: parseString(reply[1], 'position'),
    entries: parseInteger(reply[2], 'entries'),
    exact: parseInteger(reply[3], 'exact') === 1,
    entriesRead: optionalInteger(reply[4], 'entries-read'),
    pending: parseInteger(reply[5], 'pending'),
    length: parseInteger(reply[6], 'length'),
  };
}

// ---------------------------------------------------------------------------------------------
// Tail

export interface TailOptions {
  /** `$`: only what is published from now on; an id: the entries after it (exclusive). @default '$' */
  readonly from?: string;
  /** Ends the iteration (within `blockMs` on drivers that block). */
  readonly signal?: AbortSignal;
  /** Entries per read. @default 100 */
  readonly batchSize?: number;
  /** Longest blocking read (drivers that can block). @default 1000 */
  readonly blockMs?: number;
  /** Longest wait between polls (drivers that cannot block). @default 1000 */
  readonly maxPollDelayMs?: number;
  /** Called once, with the id after which the tail reads, before the first read. */
  readonly onStart?: (afterId: string) => void;
}

/**
 * Follows new messages of a stream without joining a consumer group: nothing is acknowledged or
 * left pending, no group sees any difference. A blocking XREAD where the driver can block, polling
 * with back-off (50 ms doubling to `maxPollDelayMs`) where it cannot. `deliveries` is 0.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * for await (const message of tail(driver, 'orders', { signal: controller.signal })) console.log(message.data);
 * ```
 */
export async function* tail(
  driver: Driver,
  target: OpsTarget,
  options: TailOptions = {},
): AsyncGenerator<Message, void, undefined> {
  const keys = await targetKeys(driver, target);
  const batchSize = integer('batchSize', options.batchSize, OPS_DEFAULTS.tailBatchSize, 1, 10_000);
  const blockMs = integer('blockMs', options.blockMs, OPS_DEFAULTS.tailBlockMs, 1);
  const maxPollDelayMs = integer(
    'maxPollDelayMs',
    options.maxPollDelayMs,
    OPS_DEFAULTS.tailMaxPollDelayMs,
    1,
  );
  const { signal } = options;
  let cursor =
    options.from === undefined || options.from === '$'
      ? parseString(await runScript(driver, LAST_ID, [keys.stream], []), 'last id')
      : streamId('from', options.from);
  options.onStart?.(cursor);
  const blocking = driver.read !== undefined && driver.capabilities.blocking;
  let pollDelayMs = FIRST_POLL_DELAY_MS;
  while (!signal?.aborted) {
    // XREAD replies have XREADGROUP's shape.
    const entries = driver.read
      ? parseReadGroup(
          await driver.read({
            stream: keys.stream,
            afterId: cursor,
            count: batchSize,
            blockMs: blocking ? blockMs : undefined,
          }),
        )
      : (await range(driver, keys.stream, `(${cursor}`, '+', batchSize)).entries;
    if (entries.length === 0) {
      if (!blocking) {
        await sleep(pollDelayMs, signal);
        pollDelayMs = Math.min(pollDelayMs * 2, maxPollDelayMs);
      }
      continue;
    }
    pollDelayMs = FIRST_POLL_DELAY_MS;
    for (const entry of entries) {
      cursor = entry.id;
      if (entry.fields !== null) yield decodeMessage(keys.stream, entry, 0);
    }
  }
}
