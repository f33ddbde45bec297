/**
 * Graceful shutdown for a process that drains: an AbortSignal that the first SIGTERM or SIGINT
 * aborts, to pass as `drain`'s `signal`. The drain then stops taking work, lets running handlers
 * finish within `shutdownGraceMs`, acknowledges what finished, gives back what never started and
 * resolves its report with `stoppedBy: "signal"`. A second signal ends the process at once.
 */
import { constants } from 'node:os';
import { describeGot } from '../core/validate.js';
import { fail } from './option-checks.js';

export interface ShutdownSignalOptions {
  /**
   * The process signals that start the shutdown.
   * @default ['SIGTERM', 'SIGINT']
   */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * What a second signal does (while the drain shuts down).
   * @default exits the process at once, with code 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)
   */
  readonly onSecondSignal?: (signal: NodeJS.Signals) => void;
}

export interface ShutdownSignal {
  /** Aborted by the first of the signals (its reason: a `DOMException` named `AbortError`). */
  readonly signal: AbortSignal;
  /** The signal received first, once one was. */
  readonly received: NodeJS.Signals | undefined;
  /** 128 + the received signal's number (the shell's convention), once one was received. */
  readonly exitCode: number | undefined;
  /** Removes the listeners: the signals have their default effect again (ending the process). */
  dispose(): void;
}

/** The shell's exit code for a process ended by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * An AbortSignal for `drain`'s `signal` that the first SIGTERM or SIGINT (or `signals`) aborts; a
 * second one ends the process at once (`onSecondSignal`). Call `dispose()` once the drain returned.
 * Where the runtime has no process signals (an edge runtime), the signal never aborts.
 *
 * @example
 * ```ts
 * const shutdown = shutdownSignal();
 * const report = await drain(driver, { topic: 'orders', group: 'billing', handler, signal: shutdown.signal });
 * shutdown.dispose();
 * process.exitCode = report.stoppedBy === 'signal' ? shutdown.exitCode : 0;
 * ```
 */
export function shutdownSignal(options: ShutdownSignalOptions = {}): ShutdownSignal {
  const signals = signalsOption(options.signals);
  const onSecondSignal = options.onSecondSignal ?? ((signal) => process.exit(signalExitCode(signal)));
  if (typeof onSecondSignal !== 'function') {
    fail(
      'onSecondSignal',
      `Expected \`onSecondSignal\` to be a function, got ${describeGot(onSecondSignal)}`,
    );
  }
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const host = typeof process === 'object' && typeof process?.on === 'function' ? process : undefined;
  const listener = (signal: NodeJS.Signals) => {
    if (received !== undefined) return onSecondSignal(signal);
    received = signal;
    controller.abort(new DOMException(`the process received ${signal}`, 'AbortError'));
  };
  for (const signal of signals) host?.on(signal, listener);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === undefined ? undefined : signalExitCode(received);
    },
    dispose() {
      for (const signal of signals) host?.off(signal, listener);
    },
  };
}

function signalsOption(value: unknown): readonly NodeJS.Signals[] {
  if (value === undefined) return ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(value) || value.length === 0) {
    fail(
      'signals',
      `Expected \`signals\` to be a non-empty array of signal names, got ${describeGot(value)}`,
    );
  }
  for (const name of value) {
    if (
      typeof name !== 'string' ||
      !(name in constants.signals) ||
      name === 'SIGKILL' ||
      name === 'SIGSTOP'
    ) {
      fail(
        'signals',
        `Expected \`signals\` to hold catchable signal names like "SIGTERM", got ${describeGot(name)}`,
      );
    }
  }
  return [...new Set(value as NodeJS.Signals[])];
}
