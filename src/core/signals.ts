/** Waiting under an AbortSignal: the handler's time limit, and races that end when a signal fires. */
import { HandlerTimeoutError } from './errors.js';

/**
 * The signal one handler call gets: the cycle's, and when `timeoutMs` is set, also fired after that
 * long. `release()` clears the timer (no timer outlives its handler call).
 */
export function handlerLimit(cycleSignal: AbortSignal, timeoutMs: number | undefined) {
  if (timeoutMs === undefined) return { signal: cycleSignal, timedOut: () => false, release: () => {} };
  const controller = new AbortController();
  let expired = false;
  const forward = () => controller.abort(cycleSignal.reason);
  cycleSignal.addEventListener('abort', forward, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new HandlerTimeoutError(timeoutMs));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => expired && !cycleSignal.aborted,
    release: () => {
      clearTimeout(timer);
      cycleSignal.removeEventListener('abort', forward);
    },
  };
}

/** Settles as `promise` does, or rejects with the signal's reason if it aborts first. */
export function untilSettledOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => {}); // a late rejection is nobody's to handle
      return reject(signal.reason);
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Resolves when `promise` settles or `signal` aborts, whichever comes first. */
export function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
