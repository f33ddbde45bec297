/**
 * Drain throughput over TCP: a sluice cycle against the minimal hand-written loop on the same
 * backlog, interleaved, plus the client's CPU time per message (steadier than wall time on a
 * shared machine) and Redis commands per message from INFO commandstats. A second hand-written
 * loop that also JSON-parses each payload (as sluice does before calling the handler) shows what
 * decoding costs.
 */
import type { BenchContext } from './lib/context.js';
import { type DrainRun, type RawHandler, sluiceDrain, tcpLoop } from './lib/loops.js';
import { callsBetween, commandCalls, fillStream, total } from './lib/redis-tools.js';
import { median, now } from './lib/stats.js';

export type TcpVariant = 'sluice' | 'baseline' | 'baseline+json';

export interface TcpDrainOptions {
  readonly messages: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly handler: () => unknown;
}

export interface TcpRun {
  readonly run: DrainRun;
  readonly calls: Record<string, number>;
  readonly fillMs: number;
  /** Client CPU (user + system) per message, µs. */
  readonly cpuUsPerMessage: number;
}

export interface TcpDrainResult {
  readonly messages: number;
  readonly reps: number;
  readonly perSecond: Record<TcpVariant, number>;
  /** Median of the per-repetition ratios sluice / hand-written. */
  readonly ratio: number;
  /** Median of sluice / hand-written-with-JSON.parse. */
  readonly ratioToParsingLoop: number;
  readonly cpuUsPerMessage: Record<TcpVariant, number>;
  readonly samples: Record<TcpVariant, number[]>;
  readonly sluiceCommands: Record<string, number>;
  readonly baselineCommands: Record<string, number>;
  readonly sluiceCommandsPerMessage: number;
  readonly baselineCommandsPerMessage: number;
}

const parseData: RawHandler = (entry) => {
  const fields = entry[1];
  for (let i = 0; i + 1 < fields.length; i += 2)
    if (fields[i] === 'data') JSON.parse(fields[i + 1] as string);
};

export async function runOnce(
  context: BenchContext,
  which: TcpVariant,
  options: TcpDrainOptions,
): Promise<TcpRun> {
  const { admin } = context.servers;
  const { topic, stream } = context.topic(`drain-${which.replace('+', '-')}`);
  const fillStarted = now();
  await fillStream(admin, stream, options.messages);
  const fillMs = now() - fillStarted;
  const before = await commandCalls(admin);
  const loop = { stream, group: 'bench', batchSize: options.batchSize, concurrency: options.concurrency };
  const { handler } = options;
  const raw: RawHandler =
    which === 'baseline+json'
      ? (entry) => {
          parseData(entry);
          return handler();
        }
      : handler;
  const cpu = process.cpuUsage();
  const run =
    which === 'sluice'
      ? await sluiceDrain(context.tcp, { ...loop, topic, handler })
      : await tcpLoop(context.raw, loop, raw);
  const used = process.cpuUsage(cpu);
  const calls = callsBetween(before, await commandCalls(admin));
  await admin.unlink(stream);
  if (run.messages !== options.messages)
    throw new Error(`${which} drained ${run.messages} of ${options.messages} messages`);
  return {
    run,
    calls,
    fillMs,
    cpuUsPerMessage: (used.user + used.system) / options.messages,
  };
}

export async function benchTcpDrain(
  context: BenchContext,
  options: TcpDrainOptions & { readonly reps: number },
): Promise<TcpDrainResult> {
  const variants: TcpVariant[] = ['sluice', 'baseline', 'baseline+json'];
  const samples: Record<TcpVariant, number[]> = { sluice: [], baseline: [], 'baseline+json': [] };
  const cpu: Record<TcpVariant, number[]> = { sluice: [], baseline: [], 'baseline+json': [] };
  const calls: Partial<Record<TcpVariant, Record<string, number>>> = {};
  for (let rep = 0; rep < options.reps; rep++) {
    // Rotate the order each repetition, so that a slow moment of the machine hits every variant.
    for (let i = 0; i < variants.length; i++) {
      const which = variants[(rep + i) % variants.length] as TcpVariant;
      const result = await runOnce(context, which, options);
      samples[which].push((result.run.messages / result.run.ms) * 1000);
      cpu[which].push(result.cpuUsPerMessage);
      calls[which] = result.calls;
    }
  }
  const ratio = (to: TcpVariant) => median(samples.sluice.map((s, i) => s / (samples[to][i] as number)));
  const medians = (values: Record<TcpVariant, number[]>) =>
    Object.fromEntries(variants.map((v) => [v, median(values[v])])) as Record<TcpVariant, number>;
  const sluiceCommands = calls.sluice ?? {};
  const baselineCommands = calls.baseline ?? {};
  return {
    messages: options.messages,
    reps: options.reps,
    perSecond: medians(samples),
    ratio: ratio('baseline'),
    ratioToParsingLoop: ratio('baseline+json'),
    cpuUsPerMessage: medians(cpu),
    samples,
    sluiceCommands,
    baselineCommands,
    sluiceCommandsPerMessage: total(sluiceCommands) / options.messages,
    baselineCommandsPerMessage: total(baselineCommands) / options.messages,
  };
}

/** One batch size: sluice beside the hand-written loop without (`ratio`) and with JSON.parse (`ratioToParsingLoop`). */
export type SweepPoint = Pick<
  TcpDrainResult,
  'messages' | 'perSecond' | 'ratio' | 'ratioToParsingLoop' | 'cpuUsPerMessage'
> & { readonly batchSize: number };

/** The TCP drain at each batch size, sluice beside both hand-written loops (no-op handler, in order). */
export async function benchBatchSweep(
  context: BenchContext,
  plan: {
    readonly points: readonly { readonly batchSize: number; readonly messages: number }[];
    readonly reps: number;
  },
): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  for (const { batchSize, messages } of plan.points) {
    const r = await benchTcpDrain(context, {
      messages,
      batchSize,
      reps: plan.reps,
      concurrency: 1,
      handler: async () => {},
    });
    points.push({
      batchSize,
      messages,
      perSecond: r.perSecond,
      ratio: r.ratio,
      ratioToParsingLoop: r.ratioToParsingLoop,
      cpuUsPerMessage: r.cpuUsPerMessage,
    });
  }
  return points;
}
