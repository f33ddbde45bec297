/**
 * OpenTelemetry (`@opentelemetry/api` installed, an SDK registered with the in-memory exporter):
 * a publish is a producer span whose context each message stores as its `traceparent`; each
 * handler call is a consumer span linked to it, with the messaging attributes and its outcome; a
 * drain cycle is a span with its report's counts. Over every driver.
 */
import * as otelApi from '@opentelemetry/api';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { PermanentError, RetryLaterError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { fieldsToRecord } from '../../src/core/replies.js';
import { type OtelApi, setTelemetry } from '../../src/core/telemetry.js';
import { publishBatch } from '../../src/publish/batch.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic } from '../support/fixtures.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

/** Drain settings of group `g` that end soon after the topic runs dry. */
const quick = (topic: string) =>
  ({ topic, group: 'g', budgetMs: 3_000, blockMs: 20, idleExitMs: 50, logger: silentLogger }) as const;

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const traceparentOf = (span: ReadableSpan) =>
  `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

describe.each(DRIVERS)('OpenTelemetry over $name', (kind) => {
  const redis = kind.redis();
  const driver = kind.create();

  async function fieldsOf(topic: string, id: string): Promise<Record<string, string>> {
    const [[, fields]] = (await redis.xrange(streamKeys({ topic }).stream, id, id)) as [[string, string[]]];
    return fieldsToRecord(fields);
  }

  it('a publish is a producer span whose context the message carries', async () => {
    const topic = randomTopic('otel');
    const { id } = await publish(driver, topic, { data: { n: 1 } });
    const [span] = spans(`send ${topic}`);
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'sluice',
      'messaging.destination.name': topic,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.message.id': id,
    });
    expect((await fieldsOf(topic, id)).traceparent).toBe(traceparentOf(span as ReadableSpan));
  });

  it('a publish given a traceparent is its child; a batch is one span, every message carrying it', async () => {
    const topic = randomTopic('otel');
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { id } = await publish(driver, topic, { data: 1, traceparent: given });
    const [child] = spans(`send ${topic}`);
    expect(child?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(child?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect((await fieldsOf(topic, id)).traceparent).toBe(traceparentOf(child as ReadableSpan));

    exporter.reset();
    const results = await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
    const [batch] = spans(`send ${topic}`);
    expect(batch?.attributes['messaging.batch.message_count']).toBe(3);
    for (const r of results)
      expect((await fieldsOf(topic, r.id)).traceparent).toBe(traceparentOf(batch as ReadableSpan));
  });

  it('each handler call is a consumer span linked to its producer, with its outcome; the cycle is a span', async () => {
    const topic = randomTopic('otel');
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '$', 'MKSTREAM');
    const ids = (
      await publishBatch(driver, topic, [{ data: 'ok' }, { data: 'later' }, { data: 'never' }])
    ).map((r) => r.id);
    const [producer] = spans(`send ${topic}`);
    const report = await drain(driver, {
      ...quick(topic),
      handler: (message) => {
        if (message.data === 'later') throw new RetryLaterError(60_000);
        if (message.data === 'never') throw new PermanentError('bad');
      },
    });
    expect(report).toMatchObject({ acked: 1, failed: 1, deadLettered: 1 });
    const consumers = spans(`process ${topic}`);
    expect(consumers.map((s) => s.attributes['messaging.message.id'])).toEqual(ids);
    expect(consumers.map((s) => s.attributes['sluice.outcome'])).toEqual([
      'acked',
      'retried',
      'dead-lettered',
    ]);
    for (const span of consumers) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.attributes).toMatchObject({
        'messaging.system': 'sluice',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': 'g',
        'messaging.operation.type': 'process',
        'sluice.message.deliveries': 1,
      });
      expect(span.links.map((l) => l.context.spanId)).toEqual([producer?.spanContext().spanId]);
    }
    expect(consumers[0]?.status.code).toBe(0);
    expect(consumers[2]?.status).toMatchObject({ code: 2, message: 'bad' });
    const [cycle] = spans(`drain ${topic}`);
    expect(cycle?.attributes).toMatchObject({
      'messaging.consumer.group.name': 'g',
      'sluice.read': 3,
      'sluice.acked': 1,
      'sluice.failed': 1,
      'sluice.deadLettered': 1,
      'sluice.stopped_by': 'idle',
    });
  });

  it('a batch handler call is one consumer span linked to every producer', async () => {
    const topic = randomTopic('otel');
    await redis.xgroup('CREATE', streamKeys({ topic }).stream, 'g', '$', 'MKSTREAM');
    await publish(driver, topic, { data: 1 });
    await publish(driver, topic, { data: 2 });
    const producers = spans(`send ${topic}`).map((s) => s.spanContext().spanId);
    await drain(driver, {
      ...quick(topic),
      batchHandler: (messages) => ({ failed: [{ id: (messages[1] as { id: string }).id }] }),
    });
    const [span] = spans(`process ${topic}`);
    expect(span?.attributes).toMatchObject({ 'messaging.batch.message_count': 2, 'sluice.failed': 1 });
    expect(span?.links.map((l) => l.context.spanId)).toEqual(producers);
  });
});

describe('setTelemetry', () => {
  const kind = DRIVERS[0] as (typeof DRIVERS)[number];
  const driver = kind.create();
  const redis = kind.redis();

  it('null turns tracing off (nothing stamped), an API object turns it back on', async () => {
    const topic = randomTopic('otel');
    setTelemetry(null);
    try {
      await publish(driver, topic, { data: 1 });
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      setTelemetry(otelApi as unknown as OtelApi);
    }
    await publish(driver, topic, { data: 2 });
    expect(spans(`send ${topic}`)).toHaveLength(1);
  });

  it('the API without an SDK traces nothing and stamps nothing; an SDK registered later is used', async () => {
    const topic = randomTopic('otel');
    trace.disable();
    try {
      const { id } = await publish(driver, topic, { data: 1 });
      const [[, fields]] = (await redis.xrange(streamKeys({ topic }).stream, id, id)) as [[string, string[]]];
      expect(fields).not.toContain('traceparent');
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
    await publish(driver, topic, { data: 2 });
    expect(spans(`send ${topic}`)).toHaveLength(1);
  });
});
