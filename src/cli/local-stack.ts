/**
 * The local stack `npm start` runs (scripts/start.ts), as the CLI finds it: `.sluice/stack.json`
 * in the working directory or one above it, written when the stack is up and removed when it stops.
 * It is used only when it is alive: its process runs and its Redis answers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { maskCredentials } from '../core/errors.js';

/** Where the stack file is, relative to the project's root. */
export const STACK_FILE = join('.sluice', 'stack.json');

/** What `.sluice/stack.json` holds. */
export interface LocalStack {
  /** The `npm start` process. */
  readonly pid: number;
  /** The stack's Redis (the private redis-server, or REDIS_URL's); absent over a real Upstash database or a cluster. */
  readonly redisUrl?: string;
  /** The publish URL of the first topic. */
  readonly publishUrl: string;
  readonly topics: readonly string[];
  readonly topic: string;
  readonly group: string;
}

/** A stack that answers, or why the one found does not. */
export type Discovery =
  | {
      readonly found: 'alive';
      readonly stack: LocalStack & { readonly redisUrl: string };
      readonly file: string;
    }
  | { readonly found: 'stale'; readonly problem: string; readonly file: string }
  | { readonly found: 'none' };

/** The nearest `.sluice/stack.json` from `cwd` up to the filesystem's root. */
function nearestStackFile(cwd: string): string | undefined {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const file = join(dir, STACK_FILE);
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether process `pid` runs (one of another user counts: it cannot be signalled, but it is there). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts TCP connections at the URL's host and port, within `timeoutMs`. */
function answers(url: string, timeoutMs: number): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(parsed.port || 6379);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The running local stack seen from `cwd`, if any. */
export async function discoverLocalStack(cwd: string, timeoutMs = 1_000): Promise<Discovery> {
  const file = nearestStackFile(cwd);
  if (file === undefined) return { found: 'none' };
  let stack: Partial<LocalStack>;
  try {
    stack = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalStack>;
  } catch (error) {
    return { found: 'stale', file, problem: `${file} cannot be read: ${(error as Error).message}` };
  }
  if (typeof stack.pid !== 'number' || !isAlive(stack.pid)) {
    return {
      found: 'stale',
      file,
      problem: `${file} names npm start process ${stack.pid}, which is not running`,
    };
  }
  if (typeof stack.redisUrl !== 'string') {
    return {
      found: 'stale',
      file,
      problem: `the local stack (pid ${stack.pid}) runs against a Redis the CLI cannot reach directly (an Upstash database or a Redis Cluster): set its variables`,
    };
  }
  if (!(await answers(stack.redisUrl, timeoutMs))) {
    return {
      found: 'stale',
      file,
      problem: `the local stack's Redis at ${maskCredentials(stack.redisUrl)} does not answer`,
    };
  }
  return { found: 'alive', file, stack: stack as LocalStack & { redisUrl: string } };
}
