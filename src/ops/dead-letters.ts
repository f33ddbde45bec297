/**
 * Dead letters: list a group's (paged, oldest or newest first), show one, purge some or all. A dead
 * letter is the original entry's fields with sluice's `dlq.*` stamps appended (`consume/dead-letters.ts`).
 */
import { DEAD_LETTER_FIELDS, type DeadLetterReason } from '../consume/dead-letters.js';
import { type Driver, runScript } from '../core/driver.js';
import { decodeMessage, type Message } from '../core/envelope.js';
import { InvalidOptionError } from '../core/errors.js';
import { fieldsToRecord, parseInteger, parseString, type RawEntry } from '../core/replies.js';
import { streamIdOption } from '../core/stream-ids.js';
import { describeGot, integerOption } from '../core/validate.js';
import { range, rows } from './replies.js';
import { PURGE } from './scripts.js';
import { checkGroup, OPS_DEFAULTS, type OpsTarget, targetKeys } from './target.js';

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
  if (typeof value === 'string' && value.startsWith('('))
    return `(${streamIdOption('start', value.slice(1))}`;
  return streamIdOption('start', value);
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
  const count = integerOption('count', options.count ?? OPS_DEFAULTS.listCount, 1, 10_000);
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
  const exact = streamIdOption('id', id);
  const { entries } = await range(driver, keys.deadLetters(group), exact, exact, 1);
  const [entry] = entries;
  return entry === undefined ? undefined : parseDeadLetter(entry, keys.stream);
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
  const ids = options?.ids?.map((id) => streamIdOption('ids', id));
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
