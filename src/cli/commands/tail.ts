/**
 * `sluice tail`: follow new messages without joining a group (nothing acknowledged, no group
 * affected), until Ctrl-C or `--limit`.
 */
import type { Command } from 'commander';
import type { Message } from '../../core/envelope.js';
import { tail } from '../../ops/index.js';
import { interruptSignal, targetOf, targetOptions, wholeNumber, withDriver } from '../context.js';
import { note, print } from '../terminal.js';

interface TailFlags {
  from: string;
  limit?: number;
  json?: boolean;
}

export function tailCommand(program: Command): void {
  const command = program
    .command('tail')
    .description('print new messages as they are published, without joining a consumer group');
  targetOptions(command)
    .option('--from <id>', 'start after this entry id ($ = only messages published from now on)', '$')
    .option('-n, --limit <n>', 'stop after this many messages', wholeNumber(1))
    .option('--json', 'one JSON object per message')
    .addHelpText(
      'after',
      `
Each line: <id> <publish time> [key=<key>] <payload as JSON> (a foreign entry: its fields as JSON).

Examples:
  sluice tail -t orders
  sluice tail -t orders --from 0 --limit 10 --json`,
    )
    .action(async (flags: TailFlags, cmd: Command) => {
      const target = targetOf(cmd);
      const interrupt = interruptSignal();
      try {
        await withDriver(cmd, async (driver) => {
          let count = 0;
          const messages = tail(driver, target, {
            from: flags.from,
            signal: interrupt.signal,
            onStart: (afterId) => note(`tailing after ${afterId} (Ctrl-C to stop)`),
          });
          for await (const message of messages) {
            print(flags.json ? JSON.stringify(message) : line(message));
            if (flags.limit !== undefined && ++count >= flags.limit) break;
          }
        });
      } finally {
        interrupt.release();
      }
    });
}

function line(m: Message): string {
  const time = new Date(m.publishedAt).toISOString();
  const key = m.key === undefined ? '' : ` key=${m.key}`;
  const body = m.format === 'sluice' ? JSON.stringify(m.data) : JSON.stringify(m.fields);
  return `${m.id} ${time}${key} ${body}`;
}
