/**
 * Runs the `sluice` CLI as a user does: a child process (`node --import tsx src/cli/main.ts …`)
 * with a clean environment (no sluice or Redis setting of the developer's shell), its output and
 * exit code collected.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { redisUrl } from './fixtures.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const main = join(root, 'src/cli/main.ts');
/** tsx's loader by path: a run from another directory (`cwd`) finds it all the same. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** This process's environment without any sluice or Redis setting of the developer's shell. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !name.startsWith('SLUICE_') &&
        !name.startsWith('UPSTASH_') &&
        name !== 'REDIS_URL' &&
        name !== 'REDIS_CLUSTER_NODES',
    ),
  );
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed (closed at once when absent). */
  readonly input?: string;
  /** The environment on top of a clean one; REDIS_URL is the test server's unless replaced. */
  readonly env?: Record<string, string | undefined>;
  /** The working directory (default: the repository's root). */
  readonly cwd?: string;
}

/** The CLI from its source (`node --import tsx src/cli/main.ts`), or through another entry point. */
export function start(
  args: readonly string[],
  options: RunOptions = {},
  entry = ['--import', tsx, main],
): ChildProcess {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? root,
    env: { ...cleanEnv(), REDIS_URL: redisUrl(), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.input ?? '');
  return child;
}

export function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

export function sluice(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return finished(start(args, options));
}
