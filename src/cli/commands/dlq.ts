/**
 * `sluice dlq list | show | redrive | purge`: a group's dead letters.
 */
import type { Command } from 'commander';
import {
  type DeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  type RedriveReport,
  redrive,
  showDeadLetter,
} from '../../ops/index.js';
import {
  groupOf,
  groupOption,
  interruptSignal,
  OperationError,
  targetOf,
  targetOptions,
  UsageError,
  wholeNumber,
  withDriver,
} from '../context.js';
import { confirm, note, print, printJson, progressBar, shorten, table } from '../terminal.js';

export function dlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .description("a consumer group's dead letters: list, show, redrive, purge")
    .addHelpText(
      'after',
      `
Dead letters are kept per topic and group, in the stream sluice:{<topic>}:dlq:<group>.`,
    );
  listCommand(dlq);
  showCommand(dlq);
  redriveCommand(dlq);
  purgeCommand(dlq);
}

/** `--topic`/`--stream` and `--group` on a dlq subcommand. */
function withTarget(command: Command): Command {
  return groupOption(targetOptions(command), 'the consumer group whose dead letters these are');
}

function listCommand(dlq: Command): void {
  withTarget(dlq.command('list').description('list dead letters, oldest first'))
    .option('-n, --count <n>', 'at most this many', wholeNumber(1, 10_000), 20)
    .option(
      '--start <id>',
      'from this dead-letter id on (inclusive; "(<id>" exclusive, as the footer prints)',
    )
    .option('--json', 'print JSON: { total, deadLetters, next }')
    .action(async (flags: { count: number; start?: string; json?: boolean }, cmd: Command) => {
      const target = targetOf(cmd);
      const group = groupOf(cmd);
      const page = await withDriver(cmd, (driver) =>
        listDeadLetters(driver, target, group, { count: flags.count, start: flags.start }),
      );
      if (flags.json) {
        printJson(page);
        return;
      }
      if (page.deadLetters.length === 0) {
        note(`no dead letters in ${page.stream}`);
        return;
      }
      print(
        table(
          ['ID', 'DEAD AT', 'REASON', 'DELIVERIES', 'SOURCE ID', 'ERROR'],
          page.deadLetters.map((d) => [
            d.id,
            d.deadAt ?? '-',
            d.reason ?? '-',
            d.deliveries === null ? '-' : String(d.deliveries),
            d.sourceId ?? '-',
            shorten(d.error ?? '-', 60),
          ]),
          [3],
        ),
      );
      note(
        `${page.deadLetters.length} of ${page.total} in ${page.stream}${page.next ? `; next page: --start '${page.next}'` : ''}`,
      );
    });
}

function showCommand(dlq: Command): void {
  withTarget(dlq.command('show').description('show one dead letter: why it died, its fields and payload'))
    .argument('<id>', 'the dead letter id (as `dlq list` prints it)')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
      const target = targetOf(cmd);
      const group = groupOf(cmd);
      const dead = await withDriver(cmd, (driver) => showDeadLetter(driver, target, group, id));
      if (dead === undefined) throw new OperationError(`no dead letter ${id} for group ${group}`);
      if (flags.json) printJson(dead);
      else print(describeDeadLetter(dead));
    });
}

function describeDeadLetter(d: DeadLetter): string {
  const rows: [string, string][] = [
    ['id', d.id],
    ['reason', d.reason ?? '-'],
    ['deliveries', d.deliveries === null ? '-' : String(d.deliveries)],
    ['dead at', d.deadAt ?? '-'],
    ['source', `${d.sourceStream ?? '-'} ${d.sourceId ?? '-'}`],
    ['error', d.error ?? '-'],
    ['format', d.format],
  ];
  if (d.key !== undefined) rows.push(['key', d.key]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (d.format === 'sluice') lines.push('data:', JSON.stringify(d.data, null, 2));
  else lines.push('fields:', JSON.stringify(d.fields, null, 2));
  return lines.join('\n');
}

interface RedriveFlags {
  id?: string[];
  limit?: number;
  rate?: number;
  dryRun?: boolean;
  json?: boolean;
}

function redriveCommand(dlq: Command): void {
  withTarget(
    dlq
      .command('redrive')
      .description('deliver dead letters again, to the group that dead-lettered them only'),
  )
    .option('--id <id...>', 'these dead letters only (default: all, oldest first)')
    .option('--limit <n>', 'at most this many', wholeNumber(1))
    .option('--rate <per-second>', 'at most this many per second', wholeNumber(1))
    .option('--dry-run', 'say what would happen, change nothing')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
How: a dead letter whose original entry is still in the stream goes back into the group's pending
list (same id; the next drain cycle delivers it, delivery count reset). One whose original was
trimmed is appended again, and every other group is moved past it — only when they have read the
whole stream; otherwise it stays ("blocked", with the groups behind named): retry later.
No other group ever sees a redriven message. Exit code 1 when some dead letters were not redriven.`,
    )
    .action(async (flags: RedriveFlags, cmd: Command) => {
      const target = targetOf(cmd);
      const group = groupOf(cmd);
      const bar = progressBar(flags.dryRun ? 'checking' : 'redriving');
      const interrupt = interruptSignal();
      const report = await withDriver(cmd, (driver) =>
        redrive(driver, target, group, {
          ids: flags.id,
          limit: flags.limit,
          ratePerSecond: flags.rate,
          dryRun: flags.dryRun,
          signal: interrupt.signal,
          onProgress: ({ done, total }) => bar.update(done, total),
        }),
      ).finally(() => {
        bar.stop();
        interrupt.release();
      });
      if (flags.json) printJson(report);
      else print(summarise(report));
      const left = report.counts.blocked + report.counts.missing + report.counts.invalid;
      if (!report.dryRun && left > 0) {
        for (const r of report.results) {
          if (r.outcome === 'blocked')
            note(
              `${r.id}: blocked, its source was trimmed and ${r.groupsBehind.join(', ')} still have unread entries`,
            );
          else if (r.outcome === 'missing') note(`${r.id}: no such dead letter`);
          else if (r.outcome === 'invalid')
            note(`${r.id}: not a sluice dead letter (no source id or no fields)`);
        }
        throw new OperationError(`${left} dead letter(s) were not redriven`);
      }
      if (interrupt.signal.aborted) throw new OperationError('interrupted: the rest was not redriven');
    });
}

function summarise(report: RedriveReport): string {
  const c = report.counts;
  const verb = report.dryRun ? 'would redrive' : 'redrove';
  const parts = [
    `${verb} ${report.redriven} dead letter(s) of group ${report.group}`,
    `  back to the group's pending list: ${c.pending}`,
    `  not yet read by the group (dead letter removed): ${c.unread}`,
    `  source trimmed, appended for this group only: ${c.appended}`,
  ];
  if (c.blocked > 0) parts.push(`  blocked (source trimmed, other groups behind): ${c.blocked}`);
  if (c.missing > 0) parts.push(`  missing: ${c.missing}`);
  if (c.invalid > 0) parts.push(`  invalid: ${c.invalid}`);
  return parts.join('\n');
}

function purgeCommand(dlq: Command): void {
  withTarget(dlq.command('purge').description('delete dead letters for good'))
    .option('--id <id...>', 'these dead letters')
    .option('--all', 'every dead letter of the group (asks first, unless --yes)')
    .option('--dry-run', 'count, delete nothing')
    .option('-y, --yes', 'do not ask (needed with --all when stdin is not a terminal)')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        flags: { id?: string[]; all?: boolean; dryRun?: boolean; yes?: boolean; json?: boolean },
        cmd,
      ) => {
        const target = targetOf(cmd);
        const group = groupOf(cmd);
        if ((flags.all === true) === (flags.id !== undefined)) {
          throw new UsageError('give --id <id...> or --all');
        }
        const report = await withDriver(cmd, async (driver) => {
          const plan = await purgeDeadLetters(driver, target, group, {
            ids: flags.id,
            all: flags.all,
            dryRun: true,
          });
          if (flags.dryRun || plan.purged === 0) return { ...plan, dryRun: flags.dryRun === true };
          if (flags.all) {
            const ok = await confirm(
              `delete all ${plan.purged} dead letter(s) in ${plan.deadLetterStream}?`,
              {
                yes: flags.yes,
                what: 'purge --all',
              },
            );
            if (!ok) throw new OperationError('not confirmed: nothing deleted');
          }
          return purgeDeadLetters(driver, target, group, { ids: flags.id, all: flags.all });
        });
        if (flags.json) printJson(report);
        else
          print(
            `${report.dryRun ? 'would delete' : 'deleted'} ${report.purged} dead letter(s) of group ${group}`,
          );
        if (report.missing.length > 0)
          throw new OperationError(`no such dead letter: ${report.missing.join(', ')}`);
      },
    );
}
