/**
 * Waking a drain through Upstash QStash: a message published to the drain URL (QStash then calls it
 * with its signature, which the QStash drain adapter checks). The drain id doubles as QStash's
 * deduplication id, so a wake QStash retries starts one drain.
 */
import { InvalidOptionError, SluiceError } from '../core/errors.js';
import { type Waker, wakePayload } from '../core/waker.js';

export interface QStashWakerOptions {
  /** `QSTASH_TOKEN`. */
  readonly token: string;
  /** The drain route's absolute URL (the QStash drain adapter's). */
  readonly drainUrl: string;
  /** QStash's API. @default 'https://qstash.upstash.io' (`QSTASH_URL`) */
  readonly qstashUrl?: string;
  /** Longest wait for QStash to accept the message. @default 3000 */
  readonly timeoutMs?: number;
  /** What sends the request. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export function qstashWaker(options: QStashWakerOptions): Waker {
  const { token, drainUrl, qstashUrl = 'https://qstash.upstash.io', timeoutMs = 3_000 } = options;
  if (typeof token !== 'string' || token.length === 0)
    throw new InvalidOptionError('token', 'qstashWaker needs `token` (QSTASH_TOKEN)');
  if (typeof drainUrl !== 'string' || !/^https?:\/\//.test(drainUrl))
    throw new InvalidOptionError(
      'drainUrl',
      `qstashWaker needs the drain route's absolute URL, got ${JSON.stringify(drainUrl)}`,
    );
  const send = options.fetch ?? globalThis.fetch;
  const endpoint = `${qstashUrl.replace(/\/+$/, '')}/v2/publish/${drainUrl}`;
  return {
    name: 'qstash',
    async wake(request) {
      const response = await send(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'upstash-deduplication-id': request.drainId,
        },
        body: JSON.stringify(wakePayload(request)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) throw new SluiceError(`QStash refused the wake: ${response.status}`);
    },
  };
}
