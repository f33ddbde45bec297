/**
 * What a Redis holds, for a CLI run without a topic: the sluice topics (a partitioned topic once,
 * under its name) and the other streams (foreign keys, usable with `--stream`). Found with SCAN, a
 * page per round trip, so a large keyspace is walked without blocking Redis.
 */
import { type Driver, defineScript, runScript } from '../core/driver.js';
import { KEY_PREFIX } from '../core/keys.js';
import { parseString } from '../core/replies.js';
import { UsageError } from './context.js';

/** One SCAN page of keys of a type: `[cursor, keys]`. ARGV: cursor, pattern, count, type. */
const SCAN_PAGE = defineScript(
  'sluice-cli-scan',
  `return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3], 'TYPE', ARGV[4])`,
);

const PAGE_SIZE = 1_000;
/** Foreign streams named in a message, at most. */
const MAX_LISTED = 20;

export interface Found {
  /** sluice topics, sorted; a partitioned topic once. */
  readonly topics: readonly string[];
  /** Other streams (not a sluice topic's stream nor a dead-letter stream), sorted. */
  readonly streams: readonly string[];
}

async function scan(driver: Driver, pattern: string, type: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const reply = (await runScript(driver, SCAN_PAGE, [], [cursor, pattern, PAGE_SIZE, type])) as unknown[];
    cursor = parseString(reply[0], 'scan cursor');
    for (const key of (reply[1] as unknown[]) ?? []) keys.push(parseString(key, 'scan key'));
  } while (cursor !== '0');
  return keys;
}

/** `sluice:{orders}` → `orders`; `sluice:{orders#3}` (a partition) → `orders`; anything else → undefined. */
function topicOfKey(key: string): string | undefined {
  const match = /^sluice:\{([A-Za-z0-9._-]{1,100})(#[0-9.]+)?\}$/.exec(key);
  return match?.[1];
}

/** The topics and streams of the Redis behind `driver`. Not on a Redis Cluster (a script sees one node). */
export async function discover(driver: Driver): Promise<Found> {
  if (driver.name === 'ioredis-cluster') {
    throw new UsageError(
      'on a Redis Cluster the CLI cannot list topics (each master holds some): give --topic <name>',
    );
  }
  const [streams, counts] = await Promise.all([
    scan(driver, '*', 'stream'),
    scan(driver, `${KEY_PREFIX}:{*}:partitions`, 'string'),
  ]);
  const topics = new Set<string>();
  const foreign: string[] = [];
  for (const key of streams) {
    const topic = topicOfKey(key);
    if (topic !== undefined) topics.add(topic);
    else if (!key.startsWith(`${KEY_PREFIX}:{`)) foreign.push(key);
  }
  for (const key of counts) {
    const topic = topicOfKey(key.slice(0, -':partitions'.length));
    if (topic !== undefined) topics.add(topic);
  }
  return { topics: [...topics].sort(), streams: foreign.sort() };
}

/** The topics found, for a message: `orders, payments` or a note that there are none. */
export function describeFound(found: Found): string {
  const topics = found.topics.length > 0 ? `topics: ${found.topics.join(', ')}` : 'no sluice topic';
  const shown = found.streams.slice(0, MAX_LISTED).join(', ');
  const more = found.streams.length > MAX_LISTED ? ` and ${found.streams.length - MAX_LISTED} more` : '';
  const streams = found.streams.length > 0 ? `; other streams (--stream): ${shown}${more}` : '';
  return `${topics}${streams}`;
}
