/**
 * What `npm run bench -- --profile` runs under `node --cpu-prof`: one workload, repeated, against
 * the redis-server (and REST server) whose addresses the parent passes in the environment.
 *
 *   BENCH_REDIS_URL, BENCH_REST_URL, BENCH_REST_TOKEN; argv[2] = workload name.
 */
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import { lambdaPublishHandler } from '../src/adapters/aws-lambda.js';
import { ioredisDriver } from '../src/drivers/ioredis.js';
import { upstashDriver } from '../src/drivers/upstash.js';
import { publishBatch } from '../src/index.js';
import { streamKeys } from '../src/ops/index.js';
import { httpEvent } from './lib/http-event.js';
import { fetchLoop, type LoopOptions, sdkLoop, sluiceDrain, tcpLoop } from './lib/loops.js';
import { fillStream, orderPayload } from './lib/redis-tools.js';
import { WORKLOADS, type Workload } from './lib/workloads.js';

const noop = async () => {};
/** The batch size profiled (`BENCH_PROFILE_BATCH`, default 100). */
const PROFILE_BATCH = Number(process.env.BENCH_PROFILE_BATCH ?? 100);

async function main(workload: Workload): Promise<void> {
  const redisUrl = process.env.BENCH_REDIS_URL as string;
  const rest = { url: process.env.BENCH_REST_URL as string, token: process.env.BENCH_REST_TOKEN as string };
  const admin = new Redis(redisUrl);
  const tcp = ioredisDriver(redisUrl);
  const raw = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: false });
  const restDriver = upstashDriver(rest);
  const sdk = new UpstashRedis({ ...rest, automaticDeserialization: false, enableTelemetry: false });
  const rounds = workload.startsWith('rest') ? 4 : 10;
  const messages = workload.startsWith('rest') ? 20_000 : 100_000;
  for (let round = 0; round < rounds; round++) {
    const topic = `bench-profile-${round}`;
    const { stream } = streamKeys({ topic });
    const loop: LoopOptions = { stream, group: 'bench', batchSize: PROFILE_BATCH, concurrency: 1 };
    if (workload.startsWith('publish')) {
      const batch = Array.from({ length: 100 }, (_, i) => ({ data: orderPayload(i) }));
      const body = JSON.stringify({ messages: batch });
      const handler = lambdaPublishHandler({ driver: tcp, topics: [topic], token: 'bench-token' });
      for (let i = 0; i < messages / 100; i++) {
        if (workload === 'publish-sluice') await publishBatch(tcp, topic, batch);
        else if (workload === 'publish-http') {
          const response = await handler(httpEvent(topic, body, 'bench-token'));
          if (response.statusCode !== 202) throw new Error(String(response.body));
        } else {
          const pipeline = raw.pipeline();
          for (const message of batch)
            pipeline.xadd(stream, '*', 'sluice', '1', 'data', JSON.stringify(message.data));
          await pipeline.exec();
        }
      }
    } else {
      await fillStream(admin, stream, messages);
      if (workload === 'drain-sluice') await sluiceDrain(tcp, { ...loop, topic, handler: noop });
      else if (workload === 'drain-baseline') await tcpLoop(raw, loop, noop);
      else if (workload === 'rest-sluice') await sluiceDrain(restDriver, { ...loop, topic, handler: noop });
      else if (workload === 'rest-fetch') await fetchLoop(rest, loop, noop);
      else await sdkLoop(sdk, loop, noop);
    }
    await admin.unlink(stream);
  }
  await tcp.close();
  raw.disconnect();
  admin.disconnect();
}

const workload = process.argv[2] as Workload;
if (!WORKLOADS.includes(workload)) throw new Error(`unknown workload ${workload}`);
main(workload).catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
