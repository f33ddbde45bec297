/**
 * `sluice publish`: one message (JSON from an argument, a file or stdin), or a batch of JSON lines.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { encodeMessage, type OutgoingMessage } from '../../core/envelope.js';
import { InvalidMessageError } from '../../core/errors.js';
import { type PublishResult, publish, publishBatch } from '../../core/publish.js';
import { targetOf, targetOptions, UsageError, withDriver } from '../context.js';
import { print, printJson, progressBar } from '../terminal.js';

/** Messages per publish call of a batch: each call is atomic and one round trip. */
const CHUNK = 1_000;

interface PublishFlags {
  file?: string;
  batch?: boolean;
  key?: string;
  idempotencyKey?: string;
  json?: boolean;
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
      'the input is JSON lines, one message per line: {"data": …, "key"?: …, "idempotencyKey"?: …}',
    )
    .option('-k, --key <key>', 'the message key')
    .addOption(
      new Option('-i, --idempotency-key <key>', 'publish once per key within the idempotency window (24 h)'),
    )
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Examples:
  sluice publish -t orders '{"orderId": 42}'
  sluice publish -t orders --file order.json --key customer-7
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
      else for (const r of results) print(r.duplicate ? `${r.id} (duplicate)` : r.id);
    });
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
  };
  encodeMessage(message); // validates the keys, as the publish will
  return message;
}

/** JSON lines → messages, all validated before anything is published (a bad line publishes nothing). */
function parseLines(input: string, flags: PublishFlags): OutgoingMessage[] {
  if (flags.key !== undefined || flags.idempotencyKey !== undefined) {
    throw new UsageError(
      '--key and --idempotency-key apply to one message: with --batch, put them in each line',
    );
  }
  const messages: OutgoingMessage[] = [];
  input.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${i + 1}: `;
    const value = parseJson(line, where);
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      !Object.hasOwn(value, 'data')
    ) {
      throw new InvalidMessageError(
        `${where}expected a message object {"data": …, "key"?: …, "idempotencyKey"?: …}`,
      );
    }
    const { data, key, idempotencyKey, ...rest } = value as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
      throw new InvalidMessageError(`${where}unknown field ${JSON.stringify(unknown[0])}`);
    const message = { data, key, idempotencyKey } as OutgoingMessage;
    encodeMessage(message, where);
    messages.push(message);
  });
  if (messages.length === 0) throw new InvalidMessageError('the batch has no message (no non-empty line)');
  return messages;
}
