/**
 * `sluice drain`: one drain cycle now, with a handler module given by path; the DrainReport as
 * JSON on stdout at the end.
 */
import { type Command, Option } from 'commander';
import { type DrainReport, drain } from '../../consume/drain.js';
import { DRAIN_DEFAULTS, type DrainOptions } from '../../consume/options.js';
import { shutdownSignal } from '../../consume/shutdown.js';
import type { LogFields, Logger } from '../../core/logger.js';
import { EXIT, groupOf, groupOption, targetOf, targetOptions, wholeNumber, withDriver } from '../context.js';
import { type Counted, countedHandling, loadHandler } from '../handler-module.js';
import { note, printJson, progressBar } from '../terminal.js';

/** The CLI stops a cycle that finds nothing for this long (the functions run their whole budget). */
const CLI_IDLE_EXIT_MS = 2_000;

interface DrainFlags {
  handler: string;
  budgetMs?: number;
  visibilityTimeoutMs?: number;
  maxRedeliveryDelayMs?: number;
  retryJitter?: 'none' | 'full';
  handlerTimeoutMs?: number;
  maxDeliveries?: number;
  batchSize?: number;
  blockMs?: number;
  concurrency?: number;
  prefetch?: number;
  idleExitMs: number;
  idleExit: boolean;
  startId?: '$' | '0';
  trim: boolean;
  retentionMs?: number;
  maxLength?: number;
  verbose?: boolean;
  ordered?: boolean;
  shutdownGraceMs?: number;
}

/** `--flag <n>`, defaulting to the environment variable the functions read. */
function numberOption(flags: string, description: string, variable: string, min = 1): Option {
  return new Option(flags, description).env(variable).argParser(wholeNumber(min));
}

export function drainCommand(program: Command): void {
  const command = program
    .command('drain')
    .description('run one drain cycle now, with a handler module, and print its report as JSON');
  groupOption(targetOptions(command))
    .requiredOption(
      '--handler <path>',
      'an ES module exporting the handler as `handler` (or default): (message, { signal, deadline }) => …, or a batch handler as `batchHandler`: (messages, { signal, deadline }) => { failed } | undefined',
    )
    .addOption(
      numberOption('--budget-ms <ms>', 'longest the cycle may run (default 50000)', 'SLUICE_BUDGET_MS'),
    )
    .addOption(
      numberOption(
        '--visibility-timeout-ms <ms>',
        'idle time before a pending message is reclaimed (default 30000)',
        'SLUICE_VISIBILITY_TIMEOUT_MS',
      ),
    )
    .addOption(
      numberOption(
        '--max-redelivery-delay-ms <ms>',
        'cap of the redelivery back-off (default 600000)',
        'SLUICE_MAX_REDELIVERY_DELAY_MS',
      ),
    )
    .addOption(
      new Option('--retry-jitter <mode>', 'jitter on the back-off of a failed message (default none)')
        .choices(['none', 'full'])
        .env('SLUICE_RETRY_JITTER'),
    )
    .addOption(
      numberOption(
        '--handler-timeout-ms <ms>',
        'longest run of one handler call',
        'SLUICE_HANDLER_TIMEOUT_MS',
      ),
    )
    .addOption(
      numberOption(
        '--max-deliveries <n>',
        'deliveries before dead-lettering (default 5)',
        'SLUICE_MAX_DELIVERIES',
      ),
    )
    .addOption(numberOption('--batch-size <n>', 'entries per read (default 100)', 'SLUICE_BATCH_SIZE'))
    .addOption(
      numberOption('--block-ms <ms>', 'longest wait of one blocking read (default 1000)', 'SLUICE_BLOCK_MS'),
    )
    .addOption(
      numberOption('--concurrency <n>', 'handlers running at once (default 1)', 'SLUICE_CONCURRENCY'),
    )
    .addOption(
      numberOption(
        '--prefetch <batches>',
        'batches read ahead while the ones before run (default 1; 0: none)',
        'SLUICE_PREFETCH',
      ),
    )
    .addOption(
      numberOption(
        '--idle-exit-ms <ms>',
        'end the cycle once nothing has arrived for this long',
        'SLUICE_IDLE_EXIT_MS',
        0,
      ).default(CLI_IDLE_EXIT_MS),
    )
    .option('--no-idle-exit', 'run until the budget even when the stream is idle')
    .option(
      '--ordered',
      'ordered draining: one drain per partition at a time (a lease), no message before an earlier one of its partition is done',
    )
    .addOption(
      new Option(
        '--start-id <id>',
        'where a group created now starts: $ (new messages) or 0 (history)',
      ).choices(['$', '0']),
    )
    .option('--no-trim', 'do not trim the stream at the end of the cycle')
    .addOption(
      numberOption(
        '--retention-ms <ms>',
        'keep acknowledged entries this long (default 3600000)',
        'SLUICE_RETENTION_MS',
        0,
      ),
    )
    .addOption(numberOption('--max-length <n>', 'hard cap of the stream length', 'SLUICE_MAX_LENGTH'))
    .addOption(
      numberOption(
        '--shutdown-grace-ms <ms>',
        'after SIGTERM or SIGINT, how long running handlers may finish (default 5000)',
        'SLUICE_SHUTDOWN_GRACE_MS',
        0,
      ),
    )
    .option('-v, --verbose', 'log info and debug lines too (JSON, on stderr)')
    .addHelpText(
      'after',
      `
The report (JSON) goes to stdout; logs (JSON lines) and the progress bar to stderr.
Exit code 1 when the cycle stopped on an error, 3 when Redis was unavailable.

SIGTERM or SIGINT (Ctrl-C) shuts the cycle down: no more reads; running handlers may finish
within --shutdown-grace-ms, then their signal fires (they stay pending); what finished is
acknowledged, what never started is given back (delivery count restored); the report
(stoppedBy "signal") is printed, and the exit code is 128 + the signal's number: 143 for SIGTERM,
130 for SIGINT. A second signal exits at once with that code, without a report.

Example:
  sluice drain -t orders -g billing --handler ./dist/billing-handler.js --budget-ms 10000`,
    )
    .action(async (flags: DrainFlags, cmd: Command) => {
      const target = targetOf(cmd);
      const group = groupOf(cmd);
      const handling = await loadHandler(flags.handler);
      const bar = progressBar('draining');
      const logger = stderrLogger(flags.verbose ? 'debug' : 'warn', bar.stop);
      // Counted as the cycle will count them (the report's names), for the progress bar.
      const { handling: counting, counted } = countedHandling(
        handling,
        flags.maxDeliveries ?? DRAIN_DEFAULTS.maxDeliveries,
      );
      // --partition drains that one partition of a partitioned topic (all of them without it).
      const place =
        'topic' in target && target.partition !== undefined
          ? { topic: target.topic, assignedPartitions: [target.partition] }
          : target;
      const options: DrainOptions = {
        ...place,
        ordered: flags.ordered,
        group,
        ...counting,
        logger,
        budgetMs: flags.budgetMs,
        visibilityTimeoutMs: flags.visibilityTimeoutMs,
        maxRedeliveryDelayMs: flags.maxRedeliveryDelayMs,
        retryJitter: flags.retryJitter,
        handlerTimeoutMs: flags.handlerTimeoutMs,
        maxDeliveries: flags.maxDeliveries,
        batchSize: flags.batchSize,
        blockMs: flags.blockMs,
        concurrency: flags.concurrency,
        prefetch: flags.prefetch,
        idleExitMs: flags.idleExit ? flags.idleExitMs : undefined,
        startId: flags.startId,
        trim: flags.trim,
        retentionMs: flags.retentionMs,
        maxLength: flags.maxLength,
        shutdownGraceMs: flags.shutdownGraceMs,
      };
      const { report, signalExitCode } = await drainShownAndStoppable(cmd, options, bar, counted);
      printJson(report);
      note(reportSummary(report));
      if (report.stoppedBy === 'signal') process.exitCode = signalExitCode ?? EXIT.failed;
      if (report.stoppedBy === 'error') {
        note(`sluice drain: the cycle stopped on an error: ${report.error}`);
        process.exitCode = report.error?.startsWith('RedisUnavailableError')
          ? EXIT.unavailable
          : report.error?.startsWith('RedisAuthError')
            ? EXIT.credentials
            : EXIT.failed;
      }
    });
}

/**
 * The drain, its progress bar ticking, shut down gracefully by the first SIGTERM or SIGINT (the
 * exit code then is 128 + the signal's number); a second one exits at once.
 */
async function drainShownAndStoppable(
  cmd: Command,
  options: DrainOptions,
  bar: ReturnType<typeof progressBar>,
  counted: Counted,
): Promise<{ report: DrainReport; signalExitCode: number | undefined }> {
  const budgetMs = options.budgetMs ?? DRAIN_DEFAULTS.budgetMs;
  const startedAt = Date.now();
  const ticker = setInterval(
    () =>
      bar.update(
        Date.now() - startedAt,
        budgetMs,
        `acked ${counted.acked}, failed ${counted.failed}, deadLettered ${counted.deadLettered}`,
      ),
    100,
  );
  const shutdown = shutdownSignal();
  shutdown.signal.addEventListener('abort', () => {
    clearInterval(ticker);
    bar.stop();
    note(`sluice drain: got ${shutdown.received}; stopping (again to exit at once)`);
  });
  const report = await withDriver(cmd, (driver) =>
    drain(driver, { ...options, signal: shutdown.signal }),
  ).finally(() => {
    shutdown.dispose();
    clearInterval(ticker);
    bar.stop();
  });
  return { report, signalExitCode: shutdown.exitCode };
}

/** The report in one line for the person at the terminal (stderr), in the report's own words. */
export function reportSummary(report: DrainReport): string {
  const counts = (['read', 'reclaimed', 'acked', 'failed', 'deadLettered', 'lostToTrim'] as const)
    .map((name) => `${name} ${report[name]}`)
    .join(', ');
  return `sluice drain: ${counts}; stoppedBy ${report.stoppedBy} after ${report.durationMs} ms`;
}

/** JSON lines on stderr from `minLevel` up; clears the progress bar's line first. */
function stderrLogger(minLevel: 'debug' | 'warn', clearLine: () => void): Logger {
  const write =
    (level: keyof Logger, shown: boolean) =>
    (message: string, fields?: LogFields): void => {
      if (!shown) return;
      clearLine();
      process.stderr.write(
        `${JSON.stringify({ level, time: new Date().toISOString(), message, ...fields })}\n`,
      );
    };
  const verbose = minLevel === 'debug';
  return {
    debug: write('debug', verbose),
    info: write('info', verbose),
    warn: write('warn', true),
    error: write('error', true),
  };
}
