/** What the platform-neutral HTTP endpoints (publish, ops) share: refusals, JSON answers, header lookup. */
import { describeError, RedisAuthError, RedisUnavailableError, ReplicationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** An answer: status, headers, and the body as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A request that cannot be served, with the status and message to answer. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly message: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** A JSON answer that no cache keeps and no browser sniffs. */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** A header's value, its name matched in any case. */
export function header(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** The request's media type (`Content-Type` without parameters), in lower case; '' when none is sent. */
export function mediaType(headers: Readonly<Record<string, string | undefined>>): string {
  return (header(headers, 'content-type') ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The 415 for a body that is not JSON, naming the type that was sent. */
export function notJson(contentType: string): Refusal {
  return new Refusal(
    415,
    `expected Content-Type: application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`,
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A request body as text: 413 past `maxBodyBytes`, 400 when its bytes are not UTF-8. */
export function bodyText(raw: string | Uint8Array | undefined, maxBodyBytes: number): string {
  const body = raw ?? '';
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > maxBodyBytes) throw new Refusal(413, `body is ${size} bytes; the limit is ${maxBodyBytes}`);
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new Refusal(400, 'body is not valid UTF-8');
  }
}

/** How much of a streamed request body is read, and for how long. */
export interface BodyLimits {
  /** Most bytes read: past them the request is refused (413) and the rest is never read. */
  readonly maxBodyBytes: number;
  /** Longest time to receive the whole body, from the first read: past it the request is refused (408). */
  readonly bodyTimeoutMs: number;
}

/** What a streamed body is given by default to arrive whole: 10 s. */
export const BODY_TIMEOUT_MS = 10_000;

/**
 * Reads a streamed request body (a Web `ReadableStream`, as a `Request` holds it) into bytes, within
 * `limits`: 413 as soon as more than `maxBodyBytes` arrived (or a `Content-Length` says so: then
 * nothing is read), 408 when it is not whole within `bodyTimeoutMs`, 400 when the stream fails. On
 * a refusal the stream is cancelled, so what was not read is never buffered. Decode the bytes with
 * {@link bodyText}.
 */
export async function readBody(
  stream: ReadableStream<Uint8Array> | null,
  contentLength: string | null | undefined,
  limits: BodyLimits,
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const declared = contentLength?.trim();
  if (declared && /^\d+$/.test(declared) && Number(declared) > limits.maxBodyBytes) {
    await stream.cancel().catch(() => {});
    throw new Refusal(413, `body is ${declared} bytes; the limit is ${limits.maxBodyBytes}`);
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Refusal(408, `the body did not arrive within bodyTimeoutMs (${limits.bodyTimeoutMs} ms)`)),
      limits.bodyTimeoutMs,
    );
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([
        reader.read().catch(() => {
          throw new Refusal(400, 'the request body could not be read');
        }),
        expired,
      ]);
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new Refusal(400, 'the request body is not bytes');
      size += value.byteLength;
      if (size > limits.maxBodyBytes) {
        throw new Refusal(413, `body is larger than allowed; the limit is ${limits.maxBodyBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {}); // not awaited: a stalled source may never confirm
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks, size); // a copy: a source may reuse the buffers it handed out
}

/** True when `value` is a JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The answer for an error no refusal caught: 503 with `Retry-After` when Redis is unavailable
 * (logged as a warning), else 500 (logged as an error) — a refused Redis password is one, always:
 * a configuration error that no retry fixes. Never says more than that to the caller.
 */
export function failureAnswer(
  error: unknown,
  what: string,
  retryAfterSeconds: number,
  logger: Pick<Logger, 'warn' | 'error'>,
): HttpAnswer {
  if (error instanceof ReplicationError) {
    logger.warn(`${what} not confirmed by replicas`, { error: describeError(error) });
    return jsonAnswer(
      503,
      { error: `${error.message}; retry with the same idempotency key to publish it only once` },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
  if (error instanceof RedisUnavailableError) {
    logger.warn(`${what} refused: Redis unavailable`, { error: describeError(error) });
    return jsonAnswer(
      503,
      { error: 'Redis is unavailable; retry later' },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
  if (error instanceof RedisAuthError) {
    logger.error(`${what} failed: Redis refused the credentials`, { error: describeError(error) });
    return jsonAnswer(500, {
      error:
        'server misconfigured: Redis refused its credentials (wrong or missing password or token); retrying will not help until they are fixed',
    });
  }
  logger.error(`${what} failed`, { error: describeError(error) });
  return jsonAnswer(500, { error: 'internal error' });
}
