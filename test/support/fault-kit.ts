/**
 * Shared tools of the fault tests (test/fault): drain children to SIGKILL, Redis state read in one
 * atomic step, a MONITOR that checks every acknowledgement against the processing log, polling
 * with a timeout where there is no event to wait for, and the scale knob.
 *
 * `SLUICE_FAULT_SCALE` (default 1) multiplies message counts and kill counts of the fault tests:
 * 0.5 for a quick run, 3 for a long soak (time limits grow with it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import calculateSlot from 'cluster-key-slot';
import { type Cluster, Redis as IORedis, type Redis } from 'ioredis';
import { afterEach } from 'vitest';
import type { DrainChildConfig } from './drain-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./drain-child.ts', import.meta.url));

/** `SLUICE_FAULT_SCALE`, a positive number; 1 when unset. */
export function faultScale(): number {
  const raw = process.env.SLUICE_FAULT_SCALE;
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0)
    throw new Error(`SLUICE_FAULT_SCALE must be a positive number, got ${raw}`);
  return scale;
}

/** `n` scaled by {@link faultScale}, at least `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * faultScale()));
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  readonly proc: ChildProcess;
  /** `P` lines seen so far (messages whose processing the child recorded). */
  processed: number;
  readonly lines: string[];
  stderr: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Resolves with the first line (already seen or to come) matching; rejects if the child exits first or on timeout. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Stdin mode: sends the config line (after `READY`). */
  start(config: DrainChildConfig): void;
  /** Called for every stdout line from now on. */
  onLine: ((line: string, child: Child) => void) | undefined;
}

const live = new Set<Child>();

/** Every child still running (for afterEach/afterAll cleanup). */
export function liveChildren(): Child[] {
  return [...live];
}

/** SIGKILLs every child still running and waits for their exits. */
export async function killAllChildren(): Promise<void> {
  await Promise.allSettled([...live].map((child) => child.kill()));
}

/**
 * Cleanups for the file's tests: after each test, every child still running is killed, then what
 * the test pushed here runs in reverse order (failures ignored).
 */
export function cleanupsAfterEach(): (() => Promise<unknown> | unknown)[] {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    await killAllChildren();
    for (const cleanup of cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => {});
  });
  return cleanups;
}

/**
 * Starts test/support/drain-child.ts. With a config it starts draining at once; without, it loads
 * and waits (`READY`) for {@link Child.start}.
 */
export function spawnDrainChild(config?: DrainChildConfig): Child {
  return spawnTsx(CHILD, [config ? JSON.stringify(config) : '-']);
}

/** Runs a TypeScript file of this repository in a child node process (tsx), stdout read line by line. */
export function spawnTsx(file: string, args: readonly string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const waiters = new Set<(line: string) => void>();
  const child: Child = {
    proc,
    processed: 0,
    lines: [],
    stderr: '',
    exit,
    onLine: undefined,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exit;
    },
    start(config) {
      proc.stdin?.end(`${JSON.stringify(config)}\n`);
    },
    waitForLine(match, timeoutMs) {
      const seen = child.lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const done = (error: Error | undefined, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(line as string);
        };
        const check = (line: string) => {
          if (match(line)) done(undefined, line);
        };
        const timer = setTimeout(
          () =>
            done(
              new Error(`no matching line from the child after ${timeoutMs} ms; stderr:\n${child.stderr}`),
            ),
          timeoutMs,
        );
        waiters.add(check);
        void exit.then(({ code, signal }) =>
          done(
            new Error(`the child exited (${code ?? signal}) before the line came; stderr:\n${child.stderr}`),
          ),
        );
      });
    },
  };
  live.add(child);
  void exit.then(() => live.delete(child));
  proc.stdin?.on('error', () => {}); // a child killed before reading its stdin
  let buffered = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      child.lines.push(line);
      if (line.startsWith('P ')) child.processed++;
      child.onLine?.(line, child);
      for (const waiter of [...waiters]) waiter(line);
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    child.stderr += chunk;
  });
  return child;
}

// ---------------------------------------------------------------------------------------------
// Redis state

/** Compares stream ids `<ms>-<seq>` numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

export function field(flat: unknown[], name: string): unknown {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

export interface PendingEntry {
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

export interface GroupState {
  readonly lastDeliveredId: string;
  readonly lag: number | null;
  readonly pending: Map<string, PendingEntry>;
}

/** The group's last-delivered id, lag and whole pending list, read in one atomic step. */
export async function groupState(redis: Redis | Cluster, stream: string, group: string): Promise<GroupState> {
  const replies = await redis
    .multi()
    .xinfo('GROUPS', stream)
    .xpending(stream, group, '-', '+', 1_000_000)
    .exec();
  if (!replies) throw new Error('MULTI aborted');
  for (const [error] of replies) if (error) throw error;
  const groups = replies[0]?.[1] as unknown[][];
  const info = groups.find((g) => field(g, 'name') === group);
  if (!info) throw new Error(`no group ${group} on ${stream}`);
  const pendingList = replies[1]?.[1] as [string, string, number, number][];
  const lag = field(info, 'lag');
  return {
    lastDeliveredId: String(field(info, 'last-delivered-id')),
    lag: typeof lag === 'number' ? lag : null,
    pending: new Map(
      pendingList.map(([id, consumer, idleMs, deliveries]) => [id, { consumer, idleMs, deliveries }]),
    ),
  };
}

/** How many times each id was recorded as processed. */
export async function processedCounts(redis: Redis, logKey: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const id of await redis.lrange(logKey, 0, -1)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * "None acknowledged unprocessed", by state: every id at or below the group's last-delivered id
 * that is not pending was acknowledged, so it must already be in the log — or be one of `exempt`
 * (dead-lettered). The log is read after the group state, and processing is recorded before
 * acknowledging: sound. Returns the ids that break it.
 */
export async function ackedButUnprocessed(
  redis: Redis,
  stream: string,
  group: string,
  logKey: string,
  published: readonly string[],
  exempt: ReadonlySet<string> = new Set(),
): Promise<{ violations: string[]; state: GroupState; processed: Map<string, number> }> {
  const state = await groupState(redis, stream, group);
  const processed = await processedCounts(redis, logKey);
  const violations: string[] = [];
  for (const id of published) {
    if (compareIds(id, state.lastDeliveredId) > 0) break; // published ids are in stream order
    if (state.pending.has(id) || exempt.has(id)) continue;
    if (!processed.has(id)) violations.push(id);
  }
  return { violations, state, processed };
}

/** The source ids in a group's dead-letter stream, in order (repeats kept). */
export async function deadLetterSources(redis: Redis, deadLetterKey: string): Promise<string[]> {
  const entries = (await redis.xrange(deadLetterKey, '-', '+')) as [string, string[]][];
  return entries.map(([, fields]) => String(field(fields, 'dlq.source-id')));
}

export interface AckWatch {
  /** Ids RPUSHed to the log. */
  readonly logged: Set<string>;
  /** Ids acknowledged (XACK of the group, scripts included). */
  readonly acked: Set<string>;
  /** How many XACK commands named each id (more than one: acknowledged twice). */
  readonly ackCounts: Map<string, number>;
  /** Ids copied to the dead-letter stream. */
  readonly deadLettered: string[];
  /** Acknowledged with neither a log entry nor a dead letter before: the violations. */
  readonly ackedUnaccounted: string[];
  readonly xackCommands: number;
  /** Resolves once MONITOR has reported everything Redis ran before this call. */
  flush(): Promise<void>;
  close(): void;
}

/**
 * MONITOR over a plain socket: calls `onCommand` with the arguments of every command Redis runs, in
 * execution order, from whichever client (scripts' commands included). Not ioredis's `monitor()`:
 * that one switches to monitor mode a tick after MONITOR's `+OK` is parsed, so a command reported
 * in the same network read as the `+OK` (likely on a busy server) breaks its reply queue.
 */
export async function monitorCommands(
  url: string,
  onCommand: (args: string[]) => void,
): Promise<{ close(): void }> {
  const target = new URL(url);
  const socket = netConnect({ host: target.hostname, port: Number(target.port || 6379) });
  socket.setEncoding('latin1'); // MONITOR escapes every byte outside printable ASCII
  await once(socket, 'connect');
  let buffered = '';
  let started = false;
  const ready = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n'); end !== -1; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!started) {
          if (line === '+OK') {
            started = true;
            resolve();
          } else reject(new Error(`MONITOR refused: ${line}`));
        } else if (line.startsWith('+')) {
          const args = parseMonitorLine(line);
          if (args) onCommand(args);
        }
      }
    });
    socket.once('error', reject);
  });
  socket.write('MONITOR\r\n');
  await ready;
  socket.on('error', () => {});
  return { close: () => socket.destroy() };
}

/** `+1700000000.123456 [0 127.0.0.1:5000] "XACK" "key" …` → the unescaped arguments. */
export function parseMonitorLine(line: string): string[] | undefined {
  const from = line.indexOf('] ');
  if (from < 0) return undefined;
  const args: string[] = [];
  let i = from + 2;
  while (i < line.length) {
    if (line[i] !== '"') {
      i++;
      continue;
    }
    i++;
    const bytes: number[] = [];
    while (i < line.length && line[i] !== '"') {
      if (line[i] === '\\') {
        const next = line[i + 1] ?? '';
        const simple: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8 };
        if (next === 'x') {
          bytes.push(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          bytes.push(simple[next] ?? next.charCodeAt(0));
          i += 2;
        }
        continue;
      }
      bytes.push(line.charCodeAt(i));
      i++;
    }
    i++; // the closing quote
    args.push(Buffer.from(bytes).toString('utf8'));
  }
  return args;
}

/**
 * Watches every command Redis runs (MONITOR), in execution order — whichever client sent it (a
 * child's ioredis, the REST server's pool, a script): the ids RPUSHed to the log, the entries
 * XADDed to the dead-letter stream, and every XACK of the group, each of which must come after the
 * id was logged as processed or dead-lettered.
 */
export async function watchAcks(
  url: string,
  probe: Redis,
  keys: { stream: string; group: string; logKey: string; deadLetterKey?: string },
): Promise<AckWatch> {
  const logged = new Set<string>();
  const acked = new Set<string>();
  const ackCounts = new Map<string, number>();
  const dead = new Set<string>();
  const deadLettered: string[] = [];
  const ackedUnaccounted: string[] = [];
  let xackCommands = 0;
  const sentinels = new Map<string, () => void>();
  const monitor = await monitorCommands(url, (args) => {
    const command = args[0]?.toLowerCase();
    if (command === 'rpush' && args[1] === keys.logKey) {
      for (const id of args.slice(2)) logged.add(id);
    } else if (command === 'xadd' && keys.deadLetterKey !== undefined && args[1] === keys.deadLetterKey) {
      const sourceId = field(args.slice(3), 'dlq.source-id');
      if (typeof sourceId === 'string') {
        dead.add(sourceId);
        deadLettered.push(sourceId);
      }
    } else if (command === 'xack' && args[1] === keys.stream && args[2] === keys.group) {
      xackCommands++;
      for (const id of args.slice(3)) {
        acked.add(id);
        ackCounts.set(id, (ackCounts.get(id) ?? 0) + 1);
        if (!logged.has(id) && !dead.has(id)) ackedUnaccounted.push(id);
      }
    } else if (command === 'echo' && args[1] !== undefined) {
      sentinels.get(args[1])?.();
    }
  });
  return {
    logged,
    acked,
    ackCounts,
    deadLettered,
    ackedUnaccounted,
    get xackCommands() {
      return xackCommands;
    },
    async flush() {
      const token = `sluice-fault-sentinel-${randomUUID()}`;
      const seen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('MONITOR did not report the sentinel')), 5_000);
        sentinels.set(token, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await probe.echo(token);
      await seen;
    },
    close() {
      monitor.close();
    },
  };
}

/**
 * The URL of the master that serves `key` in the cluster of `seeds` (`host:port`): where MONITOR
 * sees a topic's commands (every key of a topic shares its slot).
 */
export async function masterUrlFor(seeds: readonly string[], key: string): Promise<string> {
  const [host = '127.0.0.1', port = '6379'] = (seeds[0] ?? '').split(':');
  const client = new IORedis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const slot = calculateSlot(key);
    const range = (await client.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
    const master = range?.[2];
    if (!master) throw new Error(`no master serves slot ${slot} (${key})`);
    return `redis://${master[0]}:${master[1]}`;
  } finally {
    client.disconnect();
  }
}

/** Polls `condition` every `intervalMs` until it holds; throws after `timeoutMs`. For states no event announces. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until every entry pending in the group has been idle at least `idleMs` (so a cycle now reclaims all of it). */
export function untilAllIdle(redis: Redis, stream: string, group: string, idleMs: number, timeoutMs: number) {
  return until(
    async () => {
      const { pending } = await groupState(redis, stream, group);
      for (const entry of pending.values()) if (entry.idleMs < idleMs) return false;
      return true;
    },
    timeoutMs,
    `every pending entry to be idle ${idleMs} ms`,
  );
}

/** Waits until some entry pending in the group has been idle at least `idleMs`. */
export function untilSomeIdle(
  redis: Redis,
  stream: string,
  group: string,
  idleMs: number,
  timeoutMs: number,
) {
  return until(
    async () => {
      const { pending } = await groupState(redis, stream, group);
      for (const entry of pending.values()) if (entry.idleMs >= idleMs) return true;
      return false;
    },
    timeoutMs,
    `a pending entry to be idle ${idleMs} ms`,
  );
}
