/**
 * A child process that runs drain cycles, for the crash tests (test/fault): the parent kills it with
 * SIGKILL at a point of its choosing and checks what Redis holds afterwards.
 *
 * Run: `node --import tsx test/support/drain-child.ts '<config JSON>'` (cwd: the repository root),
 * or with `-` instead of the JSON: the child loads everything, prints `READY`, and reads its config
 * as one JSON line from stdin — so a parent can start the next child while the current one drains,
 * and hand it its config the moment it is needed.
 *
 * The handler records every message it processed durably, *before* it returns (so before the cycle
 * can acknowledge it): an awaited `RPUSH <logKey> <id>` on its own connection, straight to Redis
 * (`recordUrl`) whatever driver the cycle uses. That list is the evidence of processing the parent
 * checks acknowledgements against. A message whose data has `poison: true` is never processed: its
 * handler always throws (it ends in the dead-letter stream after `maxDeliveries`).
 *
 * Protocol on stdout, one line each:
 * - `READY` — (stdin mode) loaded, waiting for the config line;
 * - `P <id> <deliveries>` — the message's processing was recorded; the handler is about to return;
 * - `F <id> <deliveries>` — the handler is about to throw for a poison message;
 * - `S <id> <deliveries>` — the handler started on a message whose data has `slow: true`, and will
 *   not finish before the cycle's deadline (it waits for the cycle's abort signal, then throws);
 * - `PHASE read` — (with `trace`) the cycle's reclaim phase is over: its first read is being sent;
 * - `K <point>` — the child reached its `killAt` point and froze there (the whole process, at once,
 *   synchronously), waiting for the parent's SIGKILL;
 * - `R <report JSON>` — a cycle ended (the child runs `cycles` cycles, then exits 0).
 * Logs and errors go to stderr.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { drain } from '../../src/consume/drain.js';
import { DEAD_LETTER, RELEASE, TIDY } from '../../src/core/cycle-scripts.js';
import type { Driver } from '../../src/core/driver.js';
import type { Logger } from '../../src/core/logger.js';
import { PROMOTE, RECLAIM, RETRY } from '../../src/core/schedule-scripts.js';
import { CREATE_GROUPS, PUBLISH } from '../../src/core/scripts.js';
import { ioredisClusterDriver, ioredisDriver } from '../../src/drivers/ioredis.js';
import { upstashDriver } from '../../src/drivers/upstash.js';
import { runChildMain } from './child-main.js';
import { seededRandom } from './seeded-random.js';

/** Driver operations a kill can be placed at (scripts by name). */
export type KillOp =
  | 'group'
  | 'read'
  | 'ack'
  | 'reclaim'
  | 'retry'
  | 'dead-letter'
  | 'release'
  | 'tidy'
  | 'publish';

/**
 * Where the child freezes (and says `K …`) so that the parent's SIGKILL lands exactly there:
 * - a driver operation, `before` it is sent or `after` its reply came back (Redis did it; the cycle
 *   never learns), the `nth` time it happens (in `phase`, when given);
 * - `handler-start`: the `nth` handler call, before it does anything (delivered, unprocessed);
 * - `handler-done`: the `nth` handler call, after its processing was recorded and before it returns
 *   (processed, not acknowledged: between the handler and the acknowledgement).
 * The reclaim phase is everything before the cycle's first read; the read phase the rest.
 */
export type KillPoint =
  | {
      readonly op: KillOp;
      readonly when: 'before' | 'after';
      readonly nth: number;
      readonly phase?: 'reclaim' | 'read';
    }
  | {
      readonly op: 'handler-start' | 'handler-done';
      readonly nth: number;
      readonly phase?: 'reclaim' | 'read';
    };

export interface DrainChildConfig {
  /** The redis-server (`redis://…`): the cycle's own driver unless `driver` is `upstash`, and the recorder. */
  readonly url: string;
  /**
   * Which driver the cycle uses. @default 'ioredis'. With `ioredis-cluster`, `url` is the master that
   * serves the topic's slot (the recorder's log key shares it).
   */
  readonly driver?: 'ioredis' | 'upstash' | 'ioredis-cluster';
  /** Seed nodes (`host:port`), for the `ioredis-cluster` driver. */
  readonly clusterNodes?: readonly string[];
  /** The REST server, for the `upstash` driver. */
  readonly restUrl?: string;
  readonly restToken?: string;
  readonly topic: string;
  readonly group: string;
  /** The list the handler RPUSHes each processed message id to. */
  readonly logKey: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxRedeliveryDelayMs?: number;
  readonly maxDeliveries: number;
  readonly budgetMs: number;
  readonly blockMs: number;
  readonly idleExitMs?: number;
  /** Each message's handler first waits a random 0..workMs ms (0: only a tick). */
  readonly workMs: number;
  /** Seed of those waits (the parent draws it from its seeded PRNG, so a run replays). @default 0 */
  readonly workSeed?: number;
  /** Cycles to run before exiting. @default 1 */
  readonly cycles?: number;
  /** Print `PHASE read` when the reclaim phase is over. */
  readonly trace?: boolean;
  /** Freeze here for the parent's SIGKILL. */
  readonly killAt?: KillPoint;
}

function line(text: string): void {
  // stdout is a pipe: writes are synchronous on Linux, so the parent sees lines in order and at once.
  process.stdout.write(`${text}\n`);
}

const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => process.stderr.write(`warn ${message} ${JSON.stringify(fields)}\n`),
  error: (message, fields) => process.stderr.write(`error ${message} ${JSON.stringify(fields)}\n`),
};

/** Stops the whole process where it stands (no timer, no socket, no promise moves on) until SIGKILL comes. */
function freeze(label: string): never {
  line(`K ${label}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
  // Nobody killed us (the parent is gone): leave without doing anything more.
  process.exit(3);
}

function describePoint(point: KillPoint): string {
  const at = point.phase ? `@${point.phase}` : '';
  return 'when' in point ? `${point.op}-${point.when}${at}#${point.nth}` : `${point.op}${at}#${point.nth}`;
}

const SCRIPTS = new Map<string, KillOp>([
  [CREATE_GROUPS.sha1, 'group'],
  [CREATE_GROUPS.source, 'group'],
  [RECLAIM.sha1, 'reclaim'],
  [PROMOTE.sha1, 'reclaim'],
  [RETRY.sha1, 'retry'],
  [DEAD_LETTER.sha1, 'dead-letter'],
  [RELEASE.sha1, 'release'],
  [TIDY.sha1, 'tidy'],
  [PUBLISH.sha1, 'publish'],
  [RECLAIM.source, 'reclaim'],
  [PROMOTE.source, 'reclaim'],
  [RETRY.source, 'retry'],
  [DEAD_LETTER.source, 'dead-letter'],
  [RELEASE.source, 'release'],
  [TIDY.source, 'tidy'],
  [PUBLISH.source, 'publish'],
]);

/** Where the cycle is, and the kill point's trigger. */
class Tracker {
  phase: 'reclaim' | 'read' = 'reclaim';
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly point: KillPoint | undefined,
    private readonly trace: boolean,
  ) {}

  /** Counts one occurrence of `op`/`when` in the current phase; freezes if it is the kill point. */
  hit(op: string, when?: 'before' | 'after'): void {
    const point = this.point;
    if (!point || point.op !== op || (point.phase !== undefined && point.phase !== this.phase)) return;
    if ('when' in point && point.when !== when) return;
    const key = `${op}/${when ?? ''}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n === point.nth) freeze(describePoint(point));
  }

  enterRead(): void {
    if (this.phase === 'read') return;
    this.phase = 'read';
    if (this.trace) line('PHASE read');
  }

  reset(): void {
    this.phase = 'reclaim';
  }
}

/** `driver`, with every operation reported to `tracker` before it is sent and after its reply. */
function traced(driver: Driver, tracker: Tracker): Driver {
  const around = async <R>(op: string, send: () => Promise<R>): Promise<R> => {
    tracker.hit(op, 'before');
    const reply = await send();
    tracker.hit(op, 'after');
    return reply;
  };
  return {
    ...driver, // whatever else the driver has, as it is
    readGroup: (args) => {
      tracker.enterRead();
      // A read carrying the acknowledgements a batch left is a read: the `ack` points are the
      // acknowledgements sent on their own, as handlers finish.
      return around('read', () => driver.readGroup(args));
    },
    ack: (...args) => around('ack', () => driver.ack(...args)),
    add: (...args) => around('add', () => driver.add(...args)),
    evalSha: (sha1, keys, args) =>
      around(SCRIPTS.get(sha1) ?? 'script', () => driver.evalSha(sha1, keys, args)),
    eval: (source, keys, args) =>
      around(SCRIPTS.get(source) ?? 'script', () => driver.eval(source, keys, args)),
    close: () => driver.close(),
  };
}

async function readConfig(): Promise<DrainChildConfig> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: drain-child.ts <config JSON> | -');
  if (raw !== '-') return JSON.parse(raw) as DrainChildConfig;
  line('READY');
  const input = createInterface({ input: process.stdin });
  for await (const text of input) {
    input.close();
    return JSON.parse(text) as DrainChildConfig;
  }
  throw new Error('stdin closed before a config line came');
}

function createDriver(config: DrainChildConfig): Driver {
  if ((config.driver ?? 'ioredis') === 'ioredis') return ioredisDriver(config.url);
  if (config.driver === 'ioredis-cluster') {
    if (!config.clusterNodes?.length) throw new Error('drain-child: ioredis-cluster needs clusterNodes');
    return ioredisClusterDriver(config.clusterNodes);
  }
  return upstashDriver({ url: config.restUrl, token: config.restToken, requestTimeoutMs: 5_000 });
}

async function main(): Promise<void> {
  const config = await readConfig();
  const tracker = new Tracker(config.killAt, config.trace ?? false);
  const inner = createDriver(config);
  const driver = config.killAt || config.trace ? traced(inner, tracker) : inner;
  const work = seededRandom('drain-child/work', config.workSeed ?? 0);
  const recorder = new Redis(config.url, { maxRetriesPerRequest: 1 });
  recorder.on('error', () => {});
  try {
    for (let cycle = 0; cycle < (config.cycles ?? 1); cycle++) {
      tracker.reset();
      const report = await drain(driver, {
        topic: config.topic,
        group: config.group,
        startId: '0',
        concurrency: config.concurrency,
        batchSize: config.batchSize,
        visibilityTimeoutMs: config.visibilityTimeoutMs,
        maxRedeliveryDelayMs: config.maxRedeliveryDelayMs,
        maxDeliveries: config.maxDeliveries,
        budgetMs: config.budgetMs,
        blockMs: config.blockMs,
        idleExitMs: config.idleExitMs,
        consumerPrefix: 'crash-child',
        logger: stderrLogger,
        handler: async (message, { signal }) => {
          tracker.hit('handler-start');
          const data = message.data as { slow?: boolean; poison?: boolean } | null;
          if (data?.slow) {
            line(`S ${message.id} ${message.deliveries}`);
            // Never finishes on its own: it is still running when the parent kills this process.
            await new Promise((_, reject) => {
              if (signal.aborted) reject(signal.reason);
              signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            });
          }
          await sleep(config.workMs > 0 ? work.int(config.workMs + 1) : 0);
          if (data?.poison) {
            line(`F ${message.id} ${message.deliveries}`);
            throw new Error(`poison message ${message.id}`);
          }
          await recorder.rpush(config.logKey, message.id);
          line(`P ${message.id} ${message.deliveries}`);
          tracker.hit('handler-done');
        },
      });
      line(`R ${JSON.stringify(report)}`);
    }
  } finally {
    await driver.close();
    await recorder.quit().catch(() => recorder.disconnect());
  }
}

runChildMain('drain-child', main);
