/**
 * The waker seam (event-driven draining): how a publish, or a drain with backlog, starts another
 * drain through the platform's own way to start a function — an asynchronous Lambda Invoke, a
 * request to a Vercel drain route kept alive past the response, a QStash message. Whether to wake
 * is decided in Redis (`wake-scripts.ts`); a waker only delivers the request. A failed wake loses
 * nothing: the messages wait for the next wake or the schedule.
 */

/** Why a drain is woken. */
export type WakeReason = 'publish' | 'backlog' | 'successor';

/** What a woken drain is asked to do: drain `group` on `topic` (one partition of it, if given). */
export interface WakeRequest {
  /** The topic (only a topic's drains are woken: a stream used as it is has no route to name it). */
  readonly topic: string;
  readonly stream: string;
  readonly group: string;
  /** The partition, on a partitioned topic. */
  readonly partition?: number;
  /** The id the woken drain runs under: it was counted among the group's drains when it was woken. */
  readonly drainId: string;
  readonly reason: WakeReason;
}

/** Starts a drain somewhere. Resolves once the platform accepted the request (not once the drain ran). */
export interface Waker {
  readonly name: string;
  wake(request: WakeRequest): Promise<void>;
}

/** The payload a woken drain receives (an Invoke payload, a request body, a QStash message body). */
export interface WakePayload {
  readonly sluice: 'wake';
  readonly topic: string;
  readonly group: string;
  readonly partition?: number;
  readonly drainId: string;
  readonly reason: WakeReason;
}

export function wakePayload(request: WakeRequest): WakePayload {
  return {
    sluice: 'wake',
    topic: request.topic,
    group: request.group,
    ...(request.partition === undefined ? {} : { partition: request.partition }),
    drainId: request.drainId,
    reason: request.reason,
  };
}

const DRAIN_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Longest wait for a waker, whatever it is: past it the wake is abandoned (and logged). */
export const WAKE_TIMEOUT_MS = 2_000;

/** `waker.wake(request)`, abandoned after {@link WAKE_TIMEOUT_MS}: a slow platform never holds a publish or a drain. */
export async function wakeWithin(
  waker: Waker,
  request: WakeRequest,
  timeoutMs = WAKE_TIMEOUT_MS,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the ${waker.name} waker did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([waker.wake(request), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A wake payload, checked (the request that carries it may come from anywhere); `undefined` when it is none. */
export function wakePayloadOf(value: unknown): WakePayload | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.sluice !== 'wake') return undefined;
  const ok =
    typeof v.group === 'string' &&
    typeof v.drainId === 'string' &&
    DRAIN_ID.test(v.drainId) &&
    typeof v.topic === 'string' &&
    (v.partition === undefined || (Number.isInteger(v.partition) && (v.partition as number) >= 0)) &&
    (v.reason === 'publish' || v.reason === 'backlog' || v.reason === 'successor');
  return ok ? (v as unknown as WakePayload) : undefined;
}

/**
 * A waker that calls `start` with each request, without waiting for what it starts: for tests, and
 * for a process that runs its drains itself (the local stack's drain loop). `start`'s failures are
 * reported to `onError`.
 */
export function functionWaker(
  start: (request: WakeRequest) => Promise<unknown> | unknown,
  onError: (error: unknown, request: WakeRequest) => void = () => {},
): Waker {
  return {
    name: 'function',
    async wake(request) {
      void Promise.resolve()
        .then(() => start(request))
        .catch((error: unknown) => onError(error, request));
    },
  };
}
