/** What the platform-neutral HTTP endpoints (publish, ops) share: refusals, JSON answers, header lookup. */
import { describeError, RedisUnavailableError, ReplicationError } from './errors.js';
import type { Logger } from './logger.js';

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

/** True when `value` is a JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The answer for an error no refusal caught: 503 with `Retry-After` when Redis is unavailable
 * (logged as a warning), else 500 (logged as an error). Never says more than that to the caller.
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
  logger.error(`${what} failed`, { error: describeError(error) });
  return jsonAnswer(500, { error: 'internal error' });
}
