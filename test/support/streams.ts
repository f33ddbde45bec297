/**
 * Request bodies that say how much of them was read: a stream that hands out one chunk per read
 * (never ahead of the reader), counts the chunks pulled, and can trickle them out slowly.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface CountedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Chunks handed out so far, and whether the reader cancelled the stream. */
  readonly pulled: { chunks: number; cancelled: boolean };
}

/**
 * A body of `chunks` chunks of `chunkBytes` bytes each (the same buffer every time: a "200 MB" body
 * costs nothing until someone copies it), one chunk per `intervalMs` when given.
 */
export function countedBody(chunkBytes: number, chunks: number, intervalMs = 0): CountedBody {
  const pulled = { chunks: 0, cancelled: false };
  const chunk = new Uint8Array(chunkBytes).fill(0x78); // "xxx…"
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pulled.chunks >= chunks) {
          controller.close();
          return;
        }
        if (intervalMs > 0) await delay(intervalMs);
        if (pulled.cancelled) return;
        pulled.chunks += 1;
        controller.enqueue(chunk);
      },
      cancel() {
        pulled.cancelled = true;
      },
    },
    { highWaterMark: 0 }, // nothing read ahead: a chunk is pulled only when the reader asks
  );
  return { stream, pulled };
}

/** A POST `Request` whose body is `stream` (Node needs `duplex: 'half'` for a streamed body). */
export function streamedRequest(
  url: string,
  stream: ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Request {
  return new Request(url, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
}
