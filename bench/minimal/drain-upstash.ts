/**
 * The minimal drain function over @upstash/redis that sluice's aws/drain-upstash is weighed against
 * (bundle size, cold start): the same loop as drain-ioredis.ts over REST, without BLOCK (REST cannot
 * block): XGROUP CREATE, then XREADGROUP COUNT + one XACK per batch until a read comes back empty.
 */
import { Redis } from '@upstash/redis';

const stream = process.env.MINIMAL_STREAM ?? 'orders';
const group = process.env.SLUICE_GROUP ?? 'payment-processors';
const client = new Redis({
  url: process.env.UPSTASH_REDIS_REST_URL ?? '',
  token: process.env.UPSTASH_REDIS_REST_TOKEN ?? '',
  automaticDeserialization: false,
  enableTelemetry: false,
});

export async function handler(): Promise<{ read: number }> {
  try {
    await client.exec(['XGROUP', 'CREATE', stream, group, '$', 'MKSTREAM']);
  } catch (error) {
    if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
  }
  let read = 0;
  for (;;) {
    const reply = (await client.exec([
      'XREADGROUP',
      'GROUP',
      group,
      'minimal',
      'COUNT',
      '100',
      'STREAMS',
      stream,
      '>',
    ])) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) return { read };
    for (const [, fields] of entries) JSON.parse(fields[fields.indexOf('data') + 1] ?? 'null');
    await client.exec(['XACK', stream, group, ...entries.map(([id]) => id)]);
    read += entries.length;
  }
}
