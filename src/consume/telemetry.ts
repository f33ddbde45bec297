/**
 * Spans of a drain (when `@opentelemetry/api` is installed, see core/telemetry.ts): the cycle is a
 * `drain <topic>` span carrying its report's counts, and each handler call runs inside a
 * `process <topic>` consumer span (the current context while it runs) linked to the producer span
 * its message's `traceparent` names, with the messaging attributes — destination, consumer group,
 * message id, delivery count — and its outcome: `acked`, `retried` or `dead-lettered`.
 */

import type { Message } from '../core/envelope.js';
import { isPermanent } from '../core/errors.js';
import {
  failSpan,
  messagingAttributes,
  type OtelApi,
  type OtelAttributes,
  type OtelSpan,
  spanContextOf,
  TRACER_NAME,
} from '../core/telemetry.js';
import { type BatchHandler, brandResolved, type Handler, type ResolvedDrainOptions } from './options.js';
import type { DrainReport } from './report.js';

/** The most links one batch span carries (one per message with a `traceparent`). */
const MAX_LINKS = 128;

function destinationOf<T>(o: ResolvedDrainOptions<T>): string {
  return 'topic' in o.target ? o.target.topic : o.target.stream;
}

/** Runs one drain inside its cycle span, its handler wrapped in consumer spans. */
export async function traceDrain<T>(
  otel: OtelApi,
  o: ResolvedDrainOptions<T>,
  run: (traced: ResolvedDrainOptions<T>) => Promise<DrainReport>,
): Promise<DrainReport> {
  const destination = destinationOf(o);
  const active = otel.context.active();
  const span = otel.trace.getTracer(TRACER_NAME).startSpan(
    `drain ${destination}`,
    {
      kind: otel.SpanKind.INTERNAL,
      attributes: {
        ...messagingAttributes(destination, 'drain', 'receive'),
        'messaging.consumer.group.name': o.group,
      },
    },
    active,
  );
  try {
    const report = await otel.context.with(otel.trace.setSpan(active, span), () =>
      run(tracedOptions(otel, o, destination)),
    );
    span.setAttributes(reportAttributes(report));
    if (report.stoppedBy === 'error') failSpan(otel, span, report.error ?? 'the drain cycle failed');
    return report;
  } catch (error) {
    failSpan(otel, span, error);
    throw error;
  } finally {
    span.end();
  }
}

function reportAttributes(report: DrainReport): OtelAttributes {
  const attributes: OtelAttributes = { 'sluice.stopped_by': report.stoppedBy };
  for (const name of ['read', 'reclaimed', 'acked', 'failed', 'deadLettered', 'durationMs'] as const) {
    attributes[`sluice.${name}`] = report[name];
  }
  if (typeof report.lag === 'number') attributes['sluice.lag'] = report.lag;
  return attributes;
}

/** The options with the handler (or batch handler) wrapped in consumer spans. */
function tracedOptions<T>(
  otel: OtelApi,
  o: ResolvedDrainOptions<T>,
  destination: string,
): ResolvedDrainOptions<T> {
  const tracer = otel.trace.getTracer(TRACER_NAME);
  const base = {
    ...messagingAttributes(destination, 'process', 'process'),
    'messaging.consumer.group.name': o.group,
  };
  /** What a failure leads to, as the drain will decide it. */
  const outcomeOf = (error: unknown, deliveries: number) =>
    isPermanent(error) || deliveries >= o.maxDeliveries ? 'dead-lettered' : 'retried';
  const spanned = <R>(
    span: OtelSpan,
    call: () => R,
    settle: (error: unknown, value?: Awaited<R>) => void,
  ): R => {
    const active = otel.context.active();
    let result: R;
    try {
      result = otel.context.with(otel.trace.setSpan(active, span), call);
    } catch (error) {
      settle(error);
      throw error;
    }
    if (!isThenable(result)) {
      settle(undefined, result as Awaited<R>);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        settle(undefined, value);
        return value;
      },
      (error: unknown) => {
        settle(error);
        throw error;
      },
    ) as R;
  };
  if (o.handler !== undefined) {
    const handler = o.handler;
    const traced: Handler<T> = (message, context) => {
      const producer = spanContextOf(message.traceparent);
      const span = tracer.startSpan(`process ${destination}`, {
        kind: otel.SpanKind.CONSUMER,
        attributes: {
          ...base,
          'messaging.message.id': message.id,
          'sluice.message.deliveries': message.deliveries,
        },
        links: producer === undefined ? [] : [{ context: producer }],
      });
      return spanned(
        span,
        () => handler(message, context),
        (error) => {
          if (error !== undefined) failSpan(otel, span, error);
          span.setAttribute(
            'sluice.outcome',
            error === undefined ? 'acked' : outcomeOf(error, message.deliveries),
          );
          span.end();
        },
      );
    };
    return brandResolved({ ...o, handler: traced, batchHandler: undefined });
  }
  const batchHandler = o.batchHandler as BatchHandler<T>;
  const traced: BatchHandler<T> = (messages, context) => {
    const span = tracer.startSpan(`process ${destination}`, {
      kind: otel.SpanKind.CONSUMER,
      attributes: { ...base, 'messaging.batch.message_count': messages.length },
      links: linksOf(messages),
    });
    return spanned(
      span,
      () => batchHandler(messages, context),
      (error, value) => {
        if (error !== undefined) failSpan(otel, span, error);
        const failed = (value as { failed?: unknown } | undefined)?.failed;
        span.setAttribute(
          'sluice.failed',
          error !== undefined ? messages.length : Array.isArray(failed) ? failed.length : 0,
        );
        span.end();
      },
    );
  };
  return brandResolved({ ...o, handler: undefined, batchHandler: traced });
}

function linksOf<T>(messages: readonly Message<T>[]) {
  const links: { context: NonNullable<ReturnType<typeof spanContextOf>> }[] = [];
  for (const message of messages) {
    const context = spanContextOf(message.traceparent);
    if (context !== undefined) links.push({ context });
    if (links.length >= MAX_LINKS) break;
  }
  return links;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
