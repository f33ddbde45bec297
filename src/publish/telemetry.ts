/**
 * The producer span of a publish (when `@opentelemetry/api` is installed, see core/telemetry.ts):
 * one `send <topic>` span per call, a child of the message's own `traceparent` when it has one
 * (else of the active span), whose context every message of the call carries as its `traceparent`
 * — so that the consumer span of each message links back to it.
 */
import type { OutgoingMessage } from '../core/envelope.js';
import {
  failSpan,
  isValidSpanContext,
  messagingAttributes,
  type OtelApi,
  spanContextOf,
  TRACER_NAME,
  traceparentOf,
} from '../core/telemetry.js';
import type { PublishResult, PublishTarget } from './options.js';

/** The name a target's spans give its destination: the topic, or the stream key used as it is. */
function destinationName(target: PublishTarget): string {
  if (typeof target === 'string') return target;
  return 'topic' in target ? target.topic : target.stream;
}

/** Runs `publish` inside a producer span, the span's context stamped on every message. */
export async function tracePublish<T>(
  otel: OtelApi,
  target: PublishTarget,
  messages: readonly OutgoingMessage<T>[],
  publish: (messages: OutgoingMessage<T>[]) => Promise<PublishResult[]>,
): Promise<PublishResult[]> {
  // Not a list: the publish refuses it (InvalidMessageError) as it would untraced.
  if (!Array.isArray(messages)) return publish(messages as never);
  const destination = destinationName(target);
  const given = [...new Set(messages.map((m) => m?.traceparent).filter((t) => t !== undefined))];
  const parent = spanContextOf(given[0]);
  const active = otel.context.active();
  const links = given.slice(1, 128).flatMap((t) => {
    const context = spanContextOf(t);
    return context === undefined ? [] : [{ context }];
  });
  const span = otel.trace.getTracer(TRACER_NAME).startSpan(
    `send ${destination}`,
    {
      kind: otel.SpanKind.PRODUCER,
      attributes: {
        ...messagingAttributes(destination, 'publish', 'send'),
        ...(messages.length > 1 ? { 'messaging.batch.message_count': messages.length } : {}),
      },
      links,
    },
    parent === undefined ? active : otel.trace.setSpanContext(active, parent),
  );
  const own = span.spanContext();
  const stamped = isValidSpanContext(own)
    ? messages.map((m) =>
        typeof m === 'object' && m !== null ? { ...m, traceparent: traceparentOf(own) } : m,
      )
    : [...messages];
  try {
    const results = await otel.context.with(otel.trace.setSpan(active, span), () => publish(stamped));
    const [first] = results;
    if (results.length === 1 && first !== undefined) {
      span.setAttribute('messaging.message.id', first.id);
      if (first.partition !== undefined)
        span.setAttribute('messaging.destination.partition.id', String(first.partition));
    }
    span.setAttribute('sluice.duplicates', results.filter((r) => r.duplicate).length);
    return results;
  } catch (error) {
    failSpan(otel, span, error);
    throw error;
  } finally {
    span.end();
  }
}
