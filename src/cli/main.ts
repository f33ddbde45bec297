#!/usr/bin/env node
/**
 * `sluice`: the command line. Connection from `--redis-url`, else from the environment as the
 * functions read it (`REDIS_URL`, `REDIS_CLUSTER_NODES`, or `UPSTASH_REDIS_REST_URL` +
 * `UPSTASH_REDIS_REST_TOKEN`, `SLUICE_DRIVER`). Results on stdout, notes and errors on stderr.
 *
 * Exit codes: 0 done; 1 the operation failed (or did not do all it was asked); 2 bad usage, input
 * or configuration; 3 Redis unavailable (unreachable, or stopped answering: retrying later may
 * help); 4 Redis refused the credentials (wrong or missing password or REST token: a configuration
 * error, retrying will not help).
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { dlqCommand } from './commands/dlq.js';
import { drainCommand } from './commands/drain.js';
import { publishCommand } from './commands/publish.js';
import { replayCommand } from './commands/replay.js';
import { statsCommand } from './commands/stats.js';
import { tailCommand } from './commands/tail.js';
import { topicCommand } from './commands/topic.js';
import { describeFailure, EXIT, exitCodeOf } from './context.js';

/** The same path from src/cli/ and from dist/cli/. */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('durable, Kafka-like publish/consume on Redis Streams: operate topics from the command line')
    .version(version, '-V, --version')
    .option(
      '--redis-url <url>',
      'Redis to use, redis:// or rediss:// (default: REDIS_URL, REDIS_CLUSTER_NODES, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN)',
    )
    // Every command below inherits these: errors come back here as exceptions (for the exit codes).
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 operation failed, 2 bad usage or input, 3 Redis unavailable, 4 Redis refused the credentials.
Run \`sluice <command> --help\` for the options of each command.`,
    );
  publishCommand(program);
  drainCommand(program);
  statsCommand(program);
  dlqCommand(program);
  replayCommand(program);
  tailCommand(program);
  topicCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    const message = describeFailure(error);
    if (message !== undefined) process.stderr.write(`sluice: ${message}\n`);
    return exitCodeOf(error);
  }
}

// Exit explicitly: a connection being closed (or retrying) must not hold the process.
process.exit(await main(process.argv));
