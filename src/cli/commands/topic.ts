/**
 * `sluice topic`: declare a topic's partition count, and show its layout (partitions and their
 * stream keys, for `--stream` in the other commands).
 */
import type { Command } from 'commander';
import { isTopicName, TOPIC_PATTERN } from '../../core/keys.js';
import { MAX_PARTITIONS, partitionCountKey, type TopicLayout, topicLayout } from '../../core/partitions.js';
import { UsageError, wholeNumber, withDriver } from '../context.js';
import { print, printJson, table } from '../terminal.js';

export function topicCommand(program: Command): void {
  const topic = program
    .command('topic')
    .description("declare a topic's partition count, or show its partitions and their stream keys");
  topic
    .command('create')
    .description('record the partition count of a topic (before anything is published to it)')
    .argument('<topic>', 'the topic')
    .requiredOption(
      '-p, --partitions <count>',
      `how many partitions (1 to ${MAX_PARTITIONS}); fixed once recorded`,
      wholeNumber(1, MAX_PARTITIONS),
    )
    .option('--json', 'print the layout as JSON')
    .addHelpText(
      'after',
      `
The count is recorded in Redis (${partitionCountKey('<topic>')}); every publisher and drain reads it.
Asking again for the same count is fine; another count fails (exit 1): changing it is a migration
(README, "Partitions").

Examples:
  sluice topic create orders --partitions 8`,
    )
    .action(async (name: string, flags: { partitions: number; json?: boolean }, cmd: Command) => {
      const layout = await withDriver(cmd, (driver) =>
        topicLayout(driver, topicName(name), flags.partitions),
      );
      show(layout, flags.json);
    });
  topic
    .command('show')
    .description('the partition count of a topic and the stream key of each partition')
    .argument('<topic>', 'the topic')
    .option('--json', 'print the layout as JSON')
    .action(async (name: string, flags: { json?: boolean }, cmd: Command) => {
      const layout = await withDriver(cmd, (driver) => topicLayout(driver, topicName(name)));
      show(layout, flags.json);
    });
}

function topicName(name: string): string {
  if (!isTopicName(name))
    throw new UsageError(`<topic> must match ${TOPIC_PATTERN}, got ${JSON.stringify(name)}`);
  return name;
}

function show(layout: TopicLayout, json: boolean | undefined): void {
  const streams = Array.from({ length: layout.partitions }, (_, i) => layout.keys(i).stream);
  if (json) {
    printJson({ topic: layout.topic, partitions: layout.partitions, streams });
    return;
  }
  print(
    `${layout.topic}: ${layout.partitions === 1 ? '1 partition (a plain topic)' : `${layout.partitions} partitions`}`,
  );
  print(
    table(
      ['PARTITION', 'STREAM'],
      streams.map((stream, i) => [String(i), stream]),
    ),
  );
}
