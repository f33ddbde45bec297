/**
 * OpenTelemetry, when the application has `@opentelemetry/api` (an optional peer dependency): it is
 * loaded on first use by a dynamic import whose name is not a literal, so that no bundler pulls it
 * into a function that does not install it, and nothing is traced when it is missing. Only the few
 * API members sluice calls are typed here (no type import: a consumer without the package still
 * type-checks). With the API but no SDK registered, every span is a no-op.
 */

/** A span's identity, as `@opentelemetry/api` has it. */
export interface OtelSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
}

export type OtelAttributes = Record<string, string | number | boolean>;

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setAttributes(attributes: OtelAttributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: unknown): void;
  end(): void;
}

/** An OpenTelemetry context (opaque). */
export type OtelContext = object;

interface OtelTracer {
  startSpan(
    name: string,
    options?: {
      kind?: number;
      attributes?: OtelAttributes;
      links?: { context: OtelSpanContext; attributes?: OtelAttributes }[];
    },
    context?: OtelContext,
  ): OtelSpan;
}

/** The members of `@opentelemetry/api` sluice uses. */
export interface OtelApi {
  readonly trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getTracerProvider(): { getDelegate?(): unknown };
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
  };
  readonly context: {
    active(): OtelContext;
    with<R>(context: OtelContext, fn: () => R): R;
  };
  readonly SpanKind: { readonly INTERNAL: number; readonly PRODUCER: number; readonly CONSUMER: number };
  readonly SpanStatusCode: { readonly ERROR: number };
  readonly ProxyTracerProvider: new () => { getDelegate(): unknown };
}

/** The package's name, built so that bundlers see no literal module name to follow. */
const API_MODULE = ['@opentelemetry', 'api'].join('/');

let loaded: OtelApi | null | undefined;
let loading: Promise<OtelApi | undefined> | undefined;

/**
 * `@opentelemetry/api`, or undefined when it is not installed: known synchronously after the first
 * call (one import attempt per process), a promise before.
 */
export function telemetry(): OtelApi | undefined | Promise<OtelApi | undefined> {
  if (loaded !== undefined) return loaded ?? undefined;
  loading ??= load().then(
    (module) => {
      const api = (typeof module?.trace === 'object' ? module : module?.default) as OtelApi | undefined;
      loaded = api !== undefined && typeof api.trace?.getTracer === 'function' ? api : null;
      return loaded ?? undefined;
    },
    () => {
      loaded = null;
      return undefined;
    },
  );
  return loading;
}

/**
 * Imports the API as the application resolves it; failing that, requires it as CommonJS does,
 * which also searches NODE_PATH (where a Lambda layer such as ADOT's puts it: /opt/nodejs/node_modules).
 */
async function load(): Promise<Record<string, unknown> | undefined> {
  try {
    return await import(/* @vite-ignore */ API_MODULE);
  } catch {
    const { createRequire } = await import('node:module');
    return createRequire(`${process.cwd()}/`)(API_MODULE) as Record<string, unknown>;
  }
}

/**
 * The API when it is installed *and* an SDK is registered (else every span would be a no-op: sluice
 * then wraps nothing and costs nothing per message). Checked on each call: an SDK registered later
 * is picked up by the next publish or drain.
 */
export async function activeTelemetry(): Promise<OtelApi | undefined> {
  // No SDK has registered a tracer provider (the API keeps its registrations on globalThis): there
  // is nothing to trace, and no import is attempted (a failing one costs a cold start milliseconds).
  if (loaded === undefined && !providerRegistered()) return undefined;
  const found = telemetry();
  const otel = found instanceof Promise ? await found : found;
  if (otel === undefined) return undefined;
  const provider = otel.trace.getTracerProvider();
  const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
  return delegate === new otel.ProxyTracerProvider().getDelegate() ? undefined : otel;
}

/** Where `@opentelemetry/api` 1.x keeps what an SDK registered, its global tracer provider among them. */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** Whether some copy of the API has a tracer provider registered (checked on each call: an SDK may come later). */
function providerRegistered(): boolean {
  const registered = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[OTEL_GLOBAL];
  return registered?.trace !== undefined;
}

/** Replaces the API sluice uses (tests; or an application that bundles its own copy): null turns tracing off. */
export function setTelemetry(api: OtelApi | null): void {
  loaded = api;
  loading = undefined;
}

export const TRACER_NAME = 'sluice';

/** The W3C `traceparent` of a span (version 00). */
export function traceparentOf({ traceId, spanId, traceFlags }: OtelSpanContext): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

const INVALID_TRACE = /^0+$/;

/** True when a span has a real identity (a no-op span without a parent has all zeros). */
export function isValidSpanContext(context: OtelSpanContext): boolean {
  return !INVALID_TRACE.test(context.traceId) && !INVALID_TRACE.test(context.spanId);
}

/** The remote span context a `traceparent` names, or undefined. */
export function spanContextOf(traceparent: string | undefined): OtelSpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const [, traceId, spanId, flags] = traceparent.split('-');
  if (traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  const context = { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & 0xff, isRemote: true };
  return isValidSpanContext(context) ? context : undefined;
}

/** Marks a span failed with `error`. */
export function failSpan(otel: OtelApi, span: OtelSpan, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: otel.SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** The attributes every sluice span carries (OpenTelemetry messaging conventions). */
export function messagingAttributes(destination: string, operation: string, type: string): OtelAttributes {
  return {
    'messaging.system': 'sluice',
    'messaging.destination.name': destination,
    'messaging.operation.name': operation,
    'messaging.operation.type': type,
  };
}
