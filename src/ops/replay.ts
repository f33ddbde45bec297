/**
 * Replay: reset a group's position so that it reads the stream again from an id or a time on, like
 * Kafka's offset reset.
 */
import { type Driver, runScript } from '../core/driver.js';
import { InvalidOptionError } from '../core/errors.js';
import { parseInteger, parseString } from '../core/replies.js';
import { normaliseStreamId, previousId, streamIdOption } from '../core/stream-ids.js';
import { describeGot } from '../core/validate.js';
import { optionalInteger, rows, withGroup } from './replies.js';
import { REPLAY } from './scripts.js';
import { checkGroup, OPS_DEFAULTS, type OpsTarget, targetKeys } from './target.js';

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
  const id = streamIdOption('from', from);
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
