/**
 * Counts HTTP requests made with the global `fetch` (which @upstash/redis and the hand-written REST
 * loops use), so REST costs are measured as Upstash bills them: per request.
 */
let requests = 0;
let installed = false;

export function installRequestCounter(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    requests++;
    return original(input, init);
  }) as typeof fetch;
}

export function requestCount(): number {
  return requests;
}
