/**
 * Publishing throughput: sluice's batch publish (one script call per batch) and its HTTP publish
 * handler (the Lambda function's handler, body already serialised) against raw pipelined XADD of
 * the same fields; and one message at a time, publish() against a bare XADD.
 */
import { lambdaPublishHandler } from '../src/adapters/aws-lambda.js';
import { type OutgoingMessage, publish, publishBatch } from '../src/index.js';
import type { BenchContext } from './lib/context.js';
import { httpEvent } from './lib/http-event.js';
import { orderPayload } from './lib/redis-tools.js';
import { median, now } from './lib/stats.js';

export interface PublishResult {
  readonly batchSize: number;
  readonly messages: number;
  readonly perSecond: { readonly library: number; readonly http: number; readonly raw: number };
  readonly libraryRatio: number;
  readonly httpRatio: number;
  readonly samples: { readonly library: number[]; readonly http: number[]; readonly raw: number[] };
  readonly single: { readonly library: number; readonly raw: number; readonly ratio: number };
}

type Variant = 'library' | 'http' | 'raw';
const TOKEN = 'bench-publish-token';

export async function benchPublish(
  context: BenchContext,
  options: { readonly batchSize: number; readonly messages: number; readonly reps: number },
): Promise<PublishResult> {
  const { batchSize, messages, reps } = options;
  const { topic, stream } = context.topic('publish');
  const batch: OutgoingMessage[] = Array.from({ length: batchSize }, (_, i) => ({ data: orderPayload(i) }));
  // The caller serialises its request; the handler's own work starts from the text.
  const event = httpEvent(topic, JSON.stringify({ messages: batch }), TOKEN);
  const handler = lambdaPublishHandler({ driver: context.tcp, topics: [topic], token: TOKEN });
  const batches = Math.ceil(messages / batchSize);

  const variants: Record<Variant, () => Promise<void>> = {
    library: async () => {
      await publishBatch(context.tcp, topic, batch);
    },
    http: async () => {
      const response = await handler(event);
      if (response.statusCode !== 202) throw new Error(`publish handler answered ${response.statusCode}`);
    },
    raw: async () => {
      const pipeline = context.raw.pipeline();
      for (const message of batch)
        pipeline.xadd(stream, '*', 'sluice', '1', 'data', JSON.stringify(message.data));
      const results = await pipeline.exec();
      if (results?.some(([error]) => error)) throw new Error('pipelined XADD failed');
    },
  };
  const runVariant = async (variant: Variant): Promise<number> => {
    const started = now();
    for (let i = 0; i < batches; i++) await variants[variant]();
    const ms = now() - started;
    await context.servers.admin.unlink(stream);
    return ((batches * batchSize) / ms) * 1000;
  };

  const samples: Record<Variant, number[]> = { library: [], http: [], raw: [] };
  const order: Variant[] = ['library', 'http', 'raw'];
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < order.length; i++) {
      const variant = order[(rep + i) % order.length] as Variant;
      samples[variant].push(await runVariant(variant));
    }
  }
  const ratio = (variant: Variant) => median(samples[variant].map((s, i) => s / (samples.raw[i] as number)));

  // One at a time: a round trip each, both ways.
  const singles = Math.max(500, Math.floor(messages / 20));
  const single: Record<'library' | 'raw', number[]> = { library: [], raw: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of rep % 2 === 0 ? (['library', 'raw'] as const) : (['raw', 'library'] as const)) {
      const started = now();
      for (let i = 0; i < singles; i++) {
        if (variant === 'library') await publish(context.tcp, topic, { data: orderPayload(i) });
        else await context.raw.xadd(stream, '*', 'sluice', '1', 'data', JSON.stringify(orderPayload(i)));
      }
      single[variant].push((singles / (now() - started)) * 1000);
      await context.servers.admin.unlink(stream);
    }
  }

  return {
    batchSize,
    messages: batches * batchSize,
    perSecond: { library: median(samples.library), http: median(samples.http), raw: median(samples.raw) },
    libraryRatio: ratio('library'),
    httpRatio: ratio('http'),
    samples,
    single: {
      library: median(single.library),
      raw: median(single.raw),
      ratio: median(single.library.map((s, i) => s / (single.raw[i] as number))),
    },
  };
}
