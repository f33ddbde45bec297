/**
 * `sluice stats`: per topic and group, length, lag, pending, oldest pending age, consumers, dead
 * letters, and per topic its delayed messages and when the next is due; then from the drain
 * history, per group, drains running, processed / failed / dead-lettered per second and the last
 * drain. A table, `--json` (with each group's `rates`, `history` and `drains`), `--watch`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { Driver } from '../../core/driver.js';
import { isTopicName, TOPIC_PATTERN } from '../../core/keys.js';
import { sleep } from '../../core/signals.js';
import { partitionedTopicStats, type TopicStats } from '../../ops/index.js';
import { interruptSignal, type Target, UsageError, withDriver } from '../context.js';
import { describeFound, discover } from '../discover.js';
import { formatDuration, note, print, printJson, shorten, table } from '../terminal.js';

interface StatsFlags {
  topic?: string[];
  stream?: string[];
  json?: boolean;
  watch?: number | true;
}

const DEFAULT_WATCH_SECONDS = 2;

export function statsCommand(program: Command): void {
  program
    .command('stats')
    .description(
      'length, lag, pending, oldest pending age, consumers, dead letters and delayed messages per topic and group',
    )
    .option(
      '-t, --topic <name...>',
      'topics (default: SLUICE_TOPICS, else SLUICE_TOPIC, else every topic found in Redis)',
    )
    .option('--stream <key...>', 'stream keys used as they are')
    .option('--json', 'print JSON (with --watch: one line per refresh)')
    .option(
      '-w, --watch [seconds]',
      `refresh every few seconds (default ${DEFAULT_WATCH_SECONDS}) until Ctrl-C`,
      (value: string) => {
        const n = Number(value);
        if (!Number.isFinite(n) || n < 0.1 || n > 3_600)
          throw new InvalidArgumentError('Expected seconds from 0.1 to 3600.');
        return n;
      },
    )
    .addHelpText(
      'after',
      `
A partitioned topic has a row per partition and group: orders[3] is partition 3.
Columns: LAG = entries the group has not read yet ("?" when Redis cannot tell), PENDING = read and
not acknowledged, OLDEST = age of the oldest pending message, DEAD = its dead letters,
SCHEDULED = the topic's delayed messages not yet in the stream (every group gets them), NEXT = when
the earliest is due ("due" when its time has come: the next drain of any group moves it in).

The second table comes from the drain history each drain cycle records: RUNNING = drains running
now, PROCESSED/S = messages acknowledged per second over the last 1, 5 and 15 minutes, FAILED/S and
DEAD/S = handler failures left to retry and messages dead-lettered per second over the last minute,
LAST = when the last drain ended, how long it took and why it stopped. --json has each group's
rates, its per-minute history of the last 24 hours and its last drains.

Examples:
  sluice stats -t orders
  sluice stats -t orders payments --watch 5
  sluice stats -t orders --json`,
    )
    .action(async (flags: StatsFlags, cmd: Command) => {
      const named = targetsOf(flags);
      await withDriver(cmd, async (driver) => {
        const targets = named ?? (await everyTopic(driver));
        if (targets.length === 0) return;
        const measure = async () =>
          (
            await Promise.all(
              targets.map((target) => partitionedTopicStats(driver, target, { history: true })),
            )
          ).flat();
        const first = await measure();
        if (flags.topic !== undefined || flags.stream !== undefined) await refuseUnknown(driver, first);
        if (flags.watch === undefined) {
          if (flags.json) printJson(first);
          else print(`${statsTable(first)}\n\n${drainsTable(first)}`);
          return;
        }
        const everyMs = (flags.watch === true ? DEFAULT_WATCH_SECONDS : flags.watch) * 1_000;
        const interrupt = interruptSignal();
        try {
          for (let stats = first; !interrupt.signal.aborted; stats = await measure()) {
            if (flags.json) printJson(stats, true);
            else {
              if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
              print(
                `sluice stats, ${new Date().toISOString()} (every ${everyMs / 1_000}s, Ctrl-C to stop)\n`,
              );
              print(`${statsTable(stats)}\n\n${drainsTable(stats)}`);
              if (!process.stdout.isTTY) print();
            }
            await sleep(everyMs, interrupt.signal);
          }
        } finally {
          interrupt.release();
        }
      });
    });
}

/** Every topic of the Redis, when none is named: said on stderr, with the other streams. */
async function everyTopic(driver: Driver): Promise<Target[]> {
  const found = await discover(driver);
  note(`sluice stats: no --topic given: ${describeFound(found)}`);
  return found.topics.map((topic) => ({ topic }));
}

/** A topic or stream named explicitly that does not exist is a mistake (exit 2), told with what does. */
async function refuseUnknown(driver: Driver, stats: readonly TopicStats[]): Promise<void> {
  const missing = stats.filter((s) => !s.exists && s.partition === undefined);
  if (missing.length === 0) return;
  const names = missing.map((s) =>
    s.topic === null ? `stream ${JSON.stringify(s.stream)}` : `topic ${JSON.stringify(s.topic)}`,
  );
  throw new UsageError(
    `no ${names.join(', no ')} (no stream and no recorded partitions); ${describeFound(await discover(driver))}`,
  );
}

/** What the flags (else SLUICE_TOPICS / SLUICE_TOPIC) name; undefined: nothing (every topic found). */
function targetsOf(flags: StatsFlags): Target[] | undefined {
  const targets: Target[] = [];
  const topics = flags.topic ?? [];
  if (topics.length === 0 && flags.stream === undefined) {
    const listed = process.env.SLUICE_TOPICS?.trim() || process.env.SLUICE_TOPIC?.trim();
    if (listed)
      topics.push(
        ...listed
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      );
  }
  for (const topic of topics) {
    if (!isTopicName(topic))
      throw new UsageError(`--topic must match ${TOPIC_PATTERN}, got ${JSON.stringify(topic)}`);
    targets.push({ topic });
  }
  for (const stream of flags.stream ?? []) {
    if (stream === '') throw new UsageError('--stream must not be empty');
    targets.push({ stream });
  }
  return targets.length === 0 ? undefined : targets;
}

/** The SCHEDULED and NEXT cells of a stream: how many delayed messages wait, and in how long the first is due. */
function scheduledCells(s: TopicStats): string[] {
  if (s.nextDueAt === null) return [String(s.scheduled), '-'];
  const inMs = s.nextDueAt - s.measuredAt;
  return [String(s.scheduled), inMs <= 0 ? 'due' : `in ${formatDuration(inMs)}`];
}

export function statsTable(all: readonly TopicStats[]): string {
  const rows: string[][] = [];
  for (const s of all) {
    const name = s.partition === undefined ? (s.topic ?? s.stream) : `${s.topic}[${s.partition}]`;
    const scheduled = scheduledCells(s);
    if (!s.exists) {
      rows.push([name, '(no stream)', '0', '-', '-', '-', '-', '-', ...scheduled]);
      continue;
    }
    if (s.groups.length === 0)
      rows.push([name, '(no group)', String(s.length), '-', '-', '-', '-', '-', ...scheduled]);
    for (const g of s.groups) {
      rows.push([
        name,
        g.name,
        String(s.length),
        g.lag === null ? '?' : String(g.lag),
        String(g.pending),
        g.oldestPendingAgeMs === null ? '-' : formatDuration(g.oldestPendingAgeMs),
        String(g.consumers),
        String(g.deadLetters),
        ...scheduled,
      ]);
    }
  }
  return table(
    ['TOPIC', 'GROUP', 'LENGTH', 'LAG', 'PENDING', 'OLDEST', 'CONSUMERS', 'DEAD', 'SCHEDULED', 'NEXT'],
    rows,
    [2, 3, 4, 5, 6, 7, 8],
  );
}

/** Messages per second, short: `0`, `0.03`, `2.50`, `120`. */
function rate(perSecond: number): string {
  if (perSecond === 0) return '0';
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(2);
}

/** Per topic and group, from the drain history: running drains, rates, the last drain. */
export function drainsTable(all: readonly TopicStats[]): string {
  const rows: string[][] = [];
  for (const s of all) {
    const name = s.partition === undefined ? (s.topic ?? s.stream) : `${s.topic}[${s.partition}]`;
    for (const g of s.groups) {
      const r = g.rates;
      const last = g.drains?.last ?? null;
      rows.push([
        name,
        g.name,
        String(g.drains?.running ?? 0),
        r === undefined
          ? '-'
          : `${rate(r['1m'].processed)} ${rate(r['5m'].processed)} ${rate(r['15m'].processed)}`,
        r === undefined ? '-' : rate(r['1m'].failed),
        r === undefined ? '-' : rate(r['1m'].deadLettered),
        last === null
          ? '-'
          : `${formatDuration(s.measuredAt - last.endedAt)} ago, took ${formatDuration(last.durationMs)}, ${last.stoppedBy}${last.error === undefined ? '' : `: ${shorten(last.error, 60)}`}`,
      ]);
    }
  }
  return table(
    ['TOPIC', 'GROUP', 'RUNNING', 'PROCESSED/S 1m 5m 15m', 'FAILED/S', 'DEAD/S', 'LAST DRAIN'],
    rows,
    [2, 3, 4, 5],
  );
}
