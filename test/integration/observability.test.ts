import { describe, expect, it } from 'vitest';
import { lambdaDrainHandler, lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, lambdaContext, randomTopic } from '../support/fixtures.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe.each(DRIVERS)('observability over $name', (kind) => {
  const redis = kind.redis();

  const driver = kind.create();

  async function arrange() {
    const topic = randomTopic();
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '$', 'MKSTREAM');
    return topic;
  }

  it('carries the W3C traceparent from publish to the handler', async () => {
    const topic = await arrange();
    await publish(driver, topic, { data: 1, traceparent });
    await publish(driver, topic, { data: 2 });
    const seen: Message[] = [];
    await drain(driver, {
      topic,
      group: 'g',
      blockMs: 20,
      idleExitMs: 50,
      logger: silentLogger,
      handler: (m) => void seen.push(m),
    });
    expect(seen.map((m) => m.traceparent)).toEqual([traceparent, undefined]);
    await expect(publish(driver, topic, { data: 3, traceparent: 'not-a-trace' })).rejects.toThrow(
      /traceparent/,
    );
  });

  it('the publish endpoint takes the traceparent header; an invalid one is ignored, not refused', async () => {
    const topic = await arrange();
    const endpoint = lambdaPublishHandler({ driver, topics: [topic], token: 't', logger: silentLogger });
    const post = (headers: Record<string, string>) =>
      endpoint({
        headers: { authorization: 'Bearer t', 'content-type': 'application/json', ...headers },
        pathParameters: { topic },
        requestContext: { http: { method: 'POST' } },
        body: JSON.stringify({ messages: [{ data: 1 }, { data: 2 }] }),
        isBase64Encoded: false,
      } as unknown as Parameters<typeof endpoint>[0]);
    expect((await post({ traceparent })).statusCode).toBe(202);
    expect((await post({ traceparent: '00-0000-bad' })).statusCode).toBe(202);
    const seen: Message[] = [];
    await drain(driver, {
      topic,
      group: 'g',
      blockMs: 20,
      idleExitMs: 50,
      logger: silentLogger,
      handler: (m) => void seen.push(m),
    });
    expect(seen.map((m) => m.traceparent)).toEqual([traceparent, traceparent, undefined, undefined]);
  });

  it('the Lambda drain writes one CloudWatch EMF line per cycle', async () => {
    const topic = await arrange();
    await publish(driver, topic, { data: 'x' });
    const lines: string[] = [];
    const handler = lambdaDrainHandler({
      driver,
      topic,
      group: 'g',
      blockMs: 20,
      idleExitMs: 50,
      logger: silentLogger,
      metrics: (line) => lines.push(line),
      handler: () => {},
    });
    const report = await handler({}, lambdaContext(5_000));
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0] as string);
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Sluice',
      Dimensions: [['Topic', 'Group']],
    });
    expect(emf._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'Duration', Unit: 'Milliseconds' });
    expect(emf).toMatchObject({
      Topic: report.stream,
      Group: 'g',
      Processed: 1,
      Failed: 0,
      DeadLettered: 0,
      Lag: 0,
      Duration: report.durationMs,
    });
    // Every metric named in the directive has a value on the line.
    for (const { Name } of emf._aws.CloudWatchMetrics[0].Metrics) expect(typeof emf[Name]).toBe('number');
  });
});
