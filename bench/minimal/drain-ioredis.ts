/**
 * The minimal drain function over ioredis that sluice's aws/drain is weighed against (bundle size,
 * cold start): a client at module scope, XGROUP CREATE (BUSYGROUP is fine), then XREADGROUP COUNT
 * + one XACK per batch until a read comes back empty (no BLOCK: like sluice's cycle with
 * `idleExitMs: 0`, it ends on the first empty read), each payload JSON-parsed. No reclaim, no dead
 * letters, no deadline: what a hand-written function does before it needs any of them.
 */
import { Redis } from 'ioredis';

const stream = process.env.MINIMAL_STREAM ?? 'orders';
const group = process.env.SLUICE_GROUP ?? 'payment-processors';
const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });

export async function handler(): Promise<{ read: number }> {
  try {
    await client.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
  } catch (error) {
    if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
  }
  let read = 0;
  for (;;) {
    const reply = (await client.xreadgroup(
      'GROUP',
      group,
      'minimal',
      'COUNT',
      100,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) return { read };
    for (const [, fields] of entries) JSON.parse(fields[fields.indexOf('data') + 1] ?? 'null');
    await client.xack(stream, group, ...entries.map(([id]) => id));
    read += entries.length;
  }
}
