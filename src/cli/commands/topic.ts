/**
 * `sluice topic`: declare a topic (its partition count, the consumer groups that consume it), and
 * show its layout (partitions, their stream keys for `--stream` in the other commands, groups).
 */
import type { Command } from 'commander';
import { type DeclaredGroup, declareTopic } from '../../core/declare.js';
import { isTopicName, TOPIC_PATTERN } from '../../core/keys.js';
import {
  declaredGroupsKey,
  MAX_PARTITIONS,
  partitionCountKey,
  type TopicLayout,
  topicLayout,
} from '../../core/partitions.js';
import { UsageError, wholeNumber, withDriver } from '../context.js';
import { print, printJson, table } from '../terminal.js';

export function topicCommand(program: Command): void {
  const topic = program
    .command('topic')
    .description(
      "declare a topic's partition count and consumer groups, or show its partitions, stream keys and groups",
    );
  topic
    .command('create')
    .description(
      'declare a topic: record its partition count, and create the consumer groups that consume it (before anything is published)',
    )
    .argument('<topic>', 'the topic')
    .option(
      '-p, --partitions <count>',
      `how many partitions (1 to ${MAX_PARTITIONS}); fixed once recorded`,
      wholeNumber(1, MAX_PARTITIONS),
    )
    .option(
      '-g, --group <name>',
      'a consumer group of the topic, created now and by publishers wherever it is missing (repeatable)',
      (value: string, groups: string[]) => [...groups, groupName(value)],
      [] as string[],
    )
    .option(
      '--from-start',
      'a group created over a stream that holds entries starts at the oldest (default: after them)',
    )
    .option('--json', 'print the layout as JSON')
    .addHelpText(
      'after',
      `
The count is recorded in Redis (${partitionCountKey('<topic>')}), the groups in ${declaredGroupsKey('<topic>')};
every publisher and drain reads them. Asking again for the same count is fine; another count fails
(exit 1): changing it is a migration (docs/partitions.md). A group created over a stream that
already holds entries skips them unless --from-start; the output says how many.

Examples:
  sluice topic create orders --group payment-processors --group analytics
  sluice topic create orders --partitions 8 -g payment-processors`,
    )
    .action(
      async (
        name: string,
        flags: { partitions?: number; group: string[]; fromStart?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        if (flags.partitions === undefined && flags.group.length === 0)
          throw new UsageError('topic create needs --partitions <count>, --group <name>, or both');
        const declared = await withDriver(cmd, async (driver) => {
          const result = await declareTopic(driver, topicName(name), {
            partitions: flags.partitions,
            groups: flags.group,
            startId: flags.fromStart ? '0' : '$',
          });
          return { result, layout: await topicLayout(driver, result.topic) };
        });
        show(declared.layout, flags.json, declared.result.groups);
      },
    );
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

function groupName(name: string): string {
  if (!isTopicName(name))
    throw new UsageError(`--group must match ${TOPIC_PATTERN}, got ${JSON.stringify(name)}`);
  return name;
}

function show(layout: TopicLayout, json: boolean | undefined, created: readonly DeclaredGroup[] = []): void {
  const streams = Array.from({ length: layout.partitions }, (_, i) => layout.keys(i).stream);
  if (json) {
    printJson({
      topic: layout.topic,
      partitions: layout.partitions,
      streams,
      groups: layout.groups,
      created,
    });
    return;
  }
  for (const { group, created: made, skipped } of created) {
    print(
      `group ${group}: ${made ? 'created' : 'already existed'}${skipped > 0 ? `; skips the ${skipped} entries already in the stream (--from-start to read them)` : ''}`,
    );
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
  print(`declared groups: ${layout.groups.length === 0 ? 'none' : layout.groups.join(', ')}`);
}
