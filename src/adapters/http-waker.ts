/**
 * Waking a drain over HTTP: a `POST` of the wake payload to a drain route, with its bearer secret
 * (on Vercel: the cron drain route and `CRON_SECRET`). The route answers at once (`202`) and runs
 * the drain after its answer (Vercel's `waitUntil`), so a wake costs the caller one short request.
 * The caller's own `waitUntil`, when given, keeps the request alive past the caller's response.
 */
import { InvalidOptionError, SluiceError } from '../core/errors.js';
import { type Waker, wakePayload } from '../core/waker.js';

export interface HttpWakerOptions {
  /** The drain route's absolute URL, e.g. `https://my-app.vercel.app/api/drain`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer …` (the route's `CRON_SECRET`). */
  readonly token: string;
  /** Longest wait for the route to answer. @default 3000 */
  readonly timeoutMs?: number;
  /**
   * Keeps the request alive past the caller's response (Vercel: `waitUntil` from
   * `@vercel/functions`). Given: `wake` resolves at once and the request goes on in the background.
   * Unset: `wake` resolves when the route answered.
   */
  readonly waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
  /** What sends the request. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Where a background wake's failure goes (with `waitUntil`). @default console.warn */
  readonly onError?: (error: unknown) => void;
}

export function httpWaker(options: HttpWakerOptions): Waker {
  const {
    url,
    token,
    timeoutMs = 3_000,
    waitUntil,
    onError = (e) => console.warn('sluice: wake failed', e),
  } = options;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new InvalidOptionError(
      'url',
      `httpWaker needs the drain route's absolute URL, got ${JSON.stringify(url)}`,
    );
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new InvalidOptionError('token', 'httpWaker needs the drain route’s secret (`token`)');
  }
  const send = options.fetch ?? globalThis.fetch;
  const post = async (body: string) => {
    const response = await send(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok)
      throw new SluiceError(`the drain route ${url} answered the wake with ${response.status}`);
  };
  return {
    name: 'http',
    async wake(request) {
      const sent = post(JSON.stringify(wakePayload(request)));
      if (waitUntil === undefined) return sent;
      waitUntil(sent.catch(onError));
    },
  };
}
