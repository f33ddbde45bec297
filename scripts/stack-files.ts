/**
 * The files `npm start` leaves in `.sluice/` (git-ignored) for the commands run next to it:
 *
 * - `.sluice/dev.env`: `KEY=value` lines, where the running stack is, for `npm run drain`
 *   (`readEnvFile`; written by scripts/start/env-file.ts).
 * - `.sluice/env`: `source .sluice/env` exports the development tokens the README's curl commands
 *   use (`$SLUICE_PUBLISH_TOKEN`, `$SLUICE_ADMIN_TOKEN`). Kept when the stack stops: the tokens
 *   stay the same from one `npm start` to the next.
 * - `.sluice/stack.json`: where the running stack is (its pid and Redis), for the `sluice` CLI
 *   (src/cli/local-stack.ts). Removed when the stack stops.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStack, STACK_FILE } from '../src/cli/local-stack.js';

/** Reads `KEY=value` lines (`#` comments allowed); none when there is no file. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** The shell file, relative to the project's root. */
export const SHELL_ENV_FILE = join('.sluice', 'env');

/** What `source .sluice/env` exports, in that order. */
export const EXPORTED = ['SLUICE_PUBLISH_TOKEN', 'SLUICE_ADMIN_TOKEN'] as const;

/** `value` as one POSIX shell word, whatever it holds. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Writes `.sluice/env` under `root` (owner-only: it holds tokens). */
export function writeShellEnv(root: string, values: Record<(typeof EXPORTED)[number], string>): string {
  const file = join(root, SHELL_ENV_FILE);
  const lines = [
    "# Written by `npm start` (scripts/start.ts). `source .sluice/env` exports the local stack's",
    '# development tokens for the commands of the README. Local development only.',
    ...EXPORTED.map((name) => `export ${name}=${shellQuote(values[name])}`),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** Writes `.sluice/stack.json` under `root` (owner-only: the Redis URL may hold a password). */
export function writeStackFile(root: string, stack: LocalStack): string {
  const file = join(root, STACK_FILE);
  writeFileSync(file, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** Removes `.sluice/stack.json` under `root` if it is the one of process `pid`. */
export function removeStackFile(root: string, pid: number): void {
  const file = join(root, STACK_FILE);
  if (!existsSync(file)) return;
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalStack>).pid !== pid) return;
  } catch {
    // unreadable: not ours to judge, but of no use to anyone either
  }
  rmSync(file, { force: true });
}
