/**
 * `sluice publish`: one message (JSON from an argument, a file or stdin), or a batch of JSON lines.
 */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { deliveryOf, encodeMessage, type OutgoingMessage } from '../../core/envelope.js';
import { InvalidMessageError } from '../../core/errors.js';
import { Refusal } from '../../http/answers.js';
import { messageOfJson, PUBLISH_ENDPOINT_DEFAULTS } from '../../http/publish-endpoint.js';
import { publishBatch } from '../../publish/batch.js';
import { PUBLISH_DEFAULTS, type PublishResult } from '../../publish/options.js';
import { publish } from '../../publish/publish.js';
import { type Target, targetOf, targetOptions, UsageError, withDriver } from '../context.js';
import { formatDuration, note, print, printJson, progressBar } from '../terminal.js';

/** Messages per publish call of a batch: each call is atomic and one round trip. */
const CHUNK = 1_000;

interface PublishFlags {
  file?: string;
  batch?: boolean;
  key?: string;
  idempotencyKey?: string;
  delayMs?: number;
  deliverAt?: number;
  json?: boolean;
}

/** `--delay-ms`: a whole number of milliseconds (the publish checks its limit). */
function delayMsFlag(value: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new InvalidArgumentError('Expected a whole number of milliseconds.');
  return Number(value);
}

/** `--deliver-at`: ms since the epoch, or an ISO 8601 time (`2030-01-01T09:00:00Z`). */
function deliverAtFlag(value: string): number {
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms))
    throw new InvalidArgumentError('Expected ms since the epoch or an ISO 8601 time (2030-01-01T09:00:00Z).');
  return ms;
}

export function publishCommand(program: Command): void {
  const command = program
    .command('publish')
    .description('publish one message, or a batch of JSON lines')
    .argument('[data]', 'the payload as JSON (quote a string: \'"hello"\'); else --file, else stdin');
  targetOptions(command)
    .option('-f, --file <path>', 'read the input from a file ("-" = stdin)')
    .option(
      '--batch',
      'the input is JSON lines, one message per line: {"data": …, "key"?: …, "idempotencyKey"?: …, "delayMs"?: …, "deliverAt"?: …}',
    )
    .option('-k, --key <key>', 'the message key')
    .addOption(
      new Option('-i, --idempotency-key <key>', 'publish once per key within the idempotency window (24 h)'),
    )
    .option('--delay-ms <ms>', 'deliver after this many milliseconds (at most 7 days)', delayMsFlag)
    .option(
      '--deliver-at <time>',
      'deliver at this time: ms since the epoch or ISO 8601 (at most 7 days ahead)',
      deliverAtFlag,
    )
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
A batch's lines are checked as the publish endpoint checks a body; nothing is published if one is
refused. It ends with a summary on stderr; the ids go to stdout, one per line, when stdout is not a
terminal (on a terminal: --json prints them). A delayed message has no stream id yet: its schedule
id is printed, with when it is due; a drain moves it into the stream once due.

Examples:
  sluice publish -t orders '{"orderId": 42}'
  sluice publish -t orders --file order.json --key customer-7
  sluice publish -t reminders '{"orderId": 42}' --delay-ms 3600000
  sluice publish -t reminders '{"orderId": 42}' --deliver-at 2030-01-01T09:00:00Z
  cat orders.jsonl | sluice publish -t orders --batch`,
    )
    .action(async (data: string | undefined, flags: PublishFlags, cmd: Command) => {
      const target = targetOf(cmd);
      if ('partition' in target && target.partition !== undefined)
        throw new UsageError(
          'publish routes by --key on a partitioned topic: --partition is not for publish',
        );
      const input = await readInput(data, flags.file);
      const messages = flags.batch ? parseLines(input, flags) : [single(input, flags)];
      const startedAt = Date.now();
      const results: PublishResult[] = await withDriver(cmd, async (driver) => {
        if (!flags.batch) return [await publish(driver, target, messages[0] as OutgoingMessage)];
        const bar = progressBar('publishing');
        const published: PublishResult[] = [];
        try {
          for (let i = 0; i < messages.length; i += CHUNK) {
            published.push(...(await publishBatch(driver, target, messages.slice(i, i + CHUNK))));
            bar.update(published.length, messages.length);
          }
        } finally {
          bar.stop();
        }
        return published;
      });
      if (flags.json) printJson(flags.batch ? results : results[0]);
      // On a terminal a batch's ids would scroll past by the thousand: the summary says what happened.
      else if (!flags.batch || !process.stdout.isTTY) for (const r of results) print(resultLine(r));
      if (flags.batch) note(batchSummary(results, target, Date.now() - startedAt));
    });
}

/** A result as printed: its id, whether it was a duplicate, when a delayed one is due. */
function resultLine(r: PublishResult): string {
  const notes = [
    ...(r.scheduled ? [`scheduled for ${new Date(r.deliverAt as number).toISOString()}`] : []),
    ...(r.duplicate ? ['duplicate'] : []),
  ];
  return notes.length === 0 ? r.id : `${r.id} (${notes.join(', ')})`;
}

/** The one line a batch always ends with (stderr): how many, where, how long, duplicates. */
export function batchSummary(results: readonly PublishResult[], target: Target, durationMs: number): string {
  const duplicates = results.filter((r) => r.duplicate).length;
  const scheduled = results.filter((r) => r.scheduled && !r.duplicate).length;
  const where = 'stream' in target ? `stream ${target.stream}` : `topic ${target.topic}`;
  const ids = process.stdout.isTTY ? '; ids with --json, or pipe the output' : '';
  return `sluice publish: published ${results.length - duplicates} of ${results.length} messages to ${where} in ${formatDuration(durationMs)}${
    duplicates > 0
      ? ` (${duplicates} duplicates of earlier messages with the same idempotency key, not written again)`
      : ''
  }${scheduled > 0 ? ` (${scheduled} scheduled for later delivery)` : ''}${ids}`;
}

async function readInput(data: string | undefined, file: string | undefined): Promise<string> {
  if (data !== undefined && file !== undefined)
    throw new UsageError('give the data as an argument or --file, not both');
  if (data !== undefined) return data;
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --file ${file}: ${(error as Error).message}`);
    }
  }
  if (file === undefined && process.stdin.isTTY) {
    throw new UsageError('no data: give it as an argument, with --file <path>, or on stdin');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidMessageError(
      `${where}is not JSON (${(error as Error).message}); to publish a string, quote it: '"text"'`,
    );
  }
}

function single(input: string, flags: PublishFlags): OutgoingMessage {
  if (input.trim() === '') throw new InvalidMessageError('the data is empty');
  const message = {
    data: parseJson(input, 'the data '),
    key: flags.key,
    idempotencyKey: flags.idempotencyKey,
    delayMs: flags.delayMs,
    deliverAt: flags.deliverAt,
  };
  encodeMessage(message); // validates the keys, as the publish will
  deliveryOf(message, PUBLISH_DEFAULTS.maxDelayMs, Date.now()); // and the delay
  return message;
}

/** JSON lines → messages, all validated before anything is published (a bad line publishes nothing). */
function parseLines(input: string, flags: PublishFlags): OutgoingMessage[] {
  if ([flags.key, flags.idempotencyKey, flags.delayMs, flags.deliverAt].some((f) => f !== undefined)) {
    throw new UsageError(
      '--key, --idempotency-key, --delay-ms and --deliver-at apply to one message: with --batch, put them in each line',
    );
  }
  const messages: OutgoingMessage[] = [];
  input.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${i + 1}: `;
    try {
      // The publish endpoint's own check of a message: the same refusals, in the same words.
      messages.push(messageOfJson(parseJson(line, where), where, PUBLISH_ENDPOINT_DEFAULTS));
    } catch (error) {
      if (error instanceof Refusal) throw new InvalidMessageError(error.message);
      throw error;
    }
  });
  if (messages.length === 0) throw new InvalidMessageError('the batch has no message (no non-empty line)');
  return messages;
}
