/**
 * Terminal output: lines on stdout (results) and stderr (notes), a progress bar drawn with `\r` on
 * a TTY only, a plain table formatter, durations, and the confirmation prompt.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from './context.js';

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A note for the person at the terminal: stderr, so stdout stays clean for results. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function printJson(value: unknown, compact = false): void {
  print(compact ? JSON.stringify(value) : JSON.stringify(value, null, 2));
}

export interface ProgressBar {
  /** Draws `done` of `total`, with an optional note after the figures (at most 10 redraws a second). */
  update(done: number, total: number, detail?: string): void;
  /** Clears the bar's line. */
  stop(): void;
}

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

/** A progress bar on stderr when it is a terminal; nothing at all otherwise (logs, pipes, CI). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = now;
      const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
      const filled = Math.round(ratio * BAR_WIDTH);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
      const percent = `${Math.floor(ratio * 100)}`.padStart(3);
      stream.write(`\r${label} ${bar} ${percent}% ${detail ?? `${done}/${total}`}\x1b[K`);
      drawn = true;
    },
    stop() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** Columns padded to their widest cell; `right` columns (numbers) aligned right. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `850ms`, `12s`, `3m04s`, `2h05m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3_600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h${pad(Math.floor((s % 3_600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3_600))}h`;
}

/** Text cut to `max` characters on one line. */
export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * Asks before a change that cannot be undone: `--yes` answers for the user; without it, a terminal
 * is asked (y/N), and anything else (a script, CI) is refused — a usage error, nothing changed.
 */
export async function confirm(
  question: string,
  options: { yes: boolean | undefined; what: string },
): Promise<boolean> {
  if (options.yes === true) return true;
  if (!process.stdin.isTTY) {
    throw new UsageError(`${options.what} needs confirmation: pass --yes (stdin is not a terminal)`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
