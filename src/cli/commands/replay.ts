/**
 * `sluice replay`: reset a group's position to an id or a time (Kafka's offset reset by datetime),
 * after a confirmation, or as a dry run.
 */
import type { Command } from 'commander';
import { parseReplayFrom, type ReplayReport, replay } from '../../ops/index.js';
import { groupOf, groupOption, OperationError, targetOf, targetOptions, withDriver } from '../context.js';
import { confirm, note, print, printJson } from '../terminal.js';

interface ReplayFlags {
  from: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

export function replayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description("reset a group's position so that it reads the stream again from an id or a time");
  groupOption(targetOptions(command), 'the consumer group to move (it must exist)')
    .requiredOption(
      '--from <id|time>',
      'the first entry to deliver again: a stream id (1700000000000-0), an ISO 8601 time (2024-05-01T12:00:00Z), or $ (the end: skip everything)',
    )
    .option('--dry-run', 'say how many entries would be delivered again, change nothing')
    .option('-y, --yes', 'do not ask (needed when stdin is not a terminal)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Entries from --from on (inclusive) are delivered to the group again by its next drain cycles; other
groups are not affected; entries the group holds pending stay pending. Handlers must be idempotent.

Examples:
  sluice replay -t orders -g billing --from 2024-05-01T12:00:00Z --dry-run
  sluice replay -t orders -g billing --from 1714564800000-0 --yes`,
    )
    .action(async (flags: ReplayFlags, cmd: Command) => {
      const target = targetOf(cmd);
      const group = groupOf(cmd);
      const from = parseReplayFrom(flags.from);
      const report = await withDriver(cmd, async (driver) => {
        const plan = await replay(driver, target, group, from, { dryRun: true });
        if (flags.dryRun) return plan;
        note(describe(plan));
        const ok = await confirm(`move group ${group} of ${plan.stream}?`, {
          yes: flags.yes,
          what: 'replay',
        });
        if (!ok) throw new OperationError('not confirmed: the group was not moved');
        return replay(driver, target, group, from);
      });
      if (flags.json) printJson(report);
      else print(describe(report));
    });
}

function describe(r: ReplayReport): string {
  const count = r.exact ? String(r.entries) : `more than ${r.entries - 1}`;
  const when = r.dryRun ? 'would move' : 'moved';
  const lines = [
    `group ${r.group} of ${r.stream}: ${when} from ${position(r.previousLastDeliveredId)} to ${position(r.lastDeliveredId)}`,
    r.from === '$'
      ? '  it skips to the end of the stream: only new messages are delivered'
      : `  ${count} of ${r.length} entries from ${r.from} on ${r.dryRun ? 'would be' : 'will be'} delivered again`,
  ];
  if (r.pending > 0) lines.push(`  ${r.pending} pending entries stay pending`);
  return lines.join('\n');
}

/** The largest sequence number of a stream id: `<ms>-18446744073709551615` is "just before `<ms+1>-0`". */
const LAST_SEQUENCE = '18446744073709551615';

/**
 * A group's position (its last-delivered id) as a person reads it: the next entry it gets comes
 * after this, with the time the id stands for.
 */
export function position(id: string): string {
  const [ms, sequence] = id.split('-');
  if (id === '0-0') return 'the start of the stream';
  const time = (at: number) => (Number.isSafeInteger(at) ? ` (${new Date(at).toISOString()})` : '');
  if (sequence === LAST_SEQUENCE) return `just before ${Number(ms) + 1}-0${time(Number(ms) + 1)}`;
  return `just after ${id}${time(Number(ms))}`;
}
