/**
 * The loops being compared: one sluice drain cycle, and the minimal hand-written batched loops it
 * is measured against (XREADGROUP COUNT n, the handler per message, one XACK per batch), over TCP
 * (ioredis) and over REST (fetch, or the @upstash/redis SDK).
 */

import type { Redis as UpstashRedis } from '@upstash/redis';
import type { Redis as IoRedis } from 'ioredis';
import { type Driver, drain, type Handler, silentLogger } from '../../src/index.js';
import { now } from './stats.js';

export interface DrainRun {
  readonly messages: number;
  readonly ms: number;
}

/** What a baseline handler is given: the raw entry, as the hand-written loops read it. */
export type RawHandler = (entry: [string, string[]]) => unknown;

export interface LoopOptions {
  readonly stream: string;
  readonly group: string;
  readonly batchSize: number;
  /** Handlers at once within a batch, like sluice's `concurrency`. */
  readonly concurrency: number;
}

/** Runs `handler` over `items` with at most `concurrency` at once (the same per-batch pool sluice uses). */
export async function pool<T>(items: readonly T[], concurrency: number, handler: (item: T) => unknown) {
  if (concurrency === 1) {
    for (const item of items) await handler(item);
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < items.length) await handler(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** One sluice cycle that drains a backlog to empty (`idleExitMs: 0`: the first empty read ends it). */
export async function sluiceDrain(
  driver: Driver,
  options: LoopOptions & { readonly topic: string; readonly handler: Handler; readonly prefetch?: number },
): Promise<DrainRun> {
  const started = now();
  const report = await drain(driver, {
    topic: options.topic,
    group: options.group,
    startId: '0',
    idleExitMs: 0,
    budgetMs: 600_000,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    prefetch: options.prefetch,
    handler: options.handler,
    logger: silentLogger,
  });
  const ms = now() - started;
  if (report.stoppedBy === 'error') throw new Error(`drain failed: ${report.error}`);
  return { messages: report.acked, ms };
}

/** The hand-written TCP loop: XGROUP CREATE, then XREADGROUP COUNT n + one XACK per batch until empty. */
export async function tcpLoop(client: IoRedis, options: LoopOptions, handler: RawHandler): Promise<DrainRun> {
  const { stream, group, batchSize, concurrency } = options;
  const started = now();
  await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  let messages = 0;
  for (;;) {
    const reply = (await client.xreadgroup(
      'GROUP',
      group,
      'bench',
      'COUNT',
      batchSize,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1];
    if (!entries || entries.length === 0) break;
    await pool(entries, concurrency, handler);
    await client.xack(stream, group, ...entries.map((entry) => entry[0]));
    messages += entries.length;
  }
  return { messages, ms: now() - started };
}

/** The hand-written REST loop with plain fetch: base64 response encoding (lossless), decoded with Buffer. */
export async function fetchLoop(
  rest: { readonly url: string; readonly token: string },
  options: LoopOptions,
  handler: RawHandler,
): Promise<DrainRun> {
  const { stream, group, batchSize, concurrency } = options;
  const headers = {
    authorization: `Bearer ${rest.token}`,
    'content-type': 'application/json',
    'upstash-encoding': 'base64',
  };
  const call = async (command: (string | number)[]): Promise<unknown> => {
    const response = await fetch(rest.url, { method: 'POST', headers, body: JSON.stringify(command) });
    const body = (await response.json()) as { result?: unknown; error?: string };
    if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
    return body.result;
  };
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  const started = now();
  await call(['XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM']);
  let messages = 0;
  for (;;) {
    const reply = (await call([
      'XREADGROUP',
      'GROUP',
      group,
      'bench',
      'COUNT',
      batchSize,
      'STREAMS',
      stream,
      '>',
    ])) as [string, [string, string[]][]][] | null;
    const raw = reply?.[0]?.[1];
    if (!raw || raw.length === 0) break;
    const entries = raw.map(([id, fields]): [string, string[]] => [text(id), fields.map(text)]);
    await pool(entries, concurrency, handler);
    await call(['XACK', stream, group, ...entries.map((entry) => entry[0])]);
    messages += entries.length;
  }
  return { messages, ms: now() - started };
}

/** The hand-written REST loop over the @upstash/redis SDK (`exec`), as sluice's driver uses it. */
export async function sdkLoop(
  client: UpstashRedis,
  options: LoopOptions,
  handler: RawHandler,
): Promise<DrainRun> {
  const { stream, group, batchSize, concurrency } = options;
  const started = now();
  await client.exec(['XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM']);
  let messages = 0;
  for (;;) {
    const reply = (await client.exec([
      'XREADGROUP',
      'GROUP',
      group,
      'bench',
      'COUNT',
      String(batchSize),
      'STREAMS',
      stream,
      '>',
    ])) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1];
    if (!entries || entries.length === 0) break;
    await pool(entries, concurrency, handler);
    await client.exec(['XACK', stream, group, ...entries.map((entry) => entry[0])]);
    messages += entries.length;
  }
  return { messages, ms: now() - started };
}
