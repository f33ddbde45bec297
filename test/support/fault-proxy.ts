/**
 * An in-process TCP fault proxy for tests: listens on a free loopback port and forwards every
 * connection to a target port (a redis-server), until told to misbehave.
 *
 * - `cut()`: destroys every open connection, both sides (as a reset would); new ones are accepted.
 * - `stall()`: stops forwarding both ways, keeping every socket open; bytes are held, not lost, and
 *   flow again on `heal()` (like a network that pauses and then retransmits). New connections are
 *   accepted and held the same way.
 * - `blackhole()`: keeps accepting connections and keeps them open, but drops every byte, both
 *   ways, new connections included (the peer never hears back). A byte stream with holes in it is
 *   no longer a protocol stream, so `heal()` destroys the connections that lost bytes (as TCP would
 *   reset them eventually) and forwards again on connections made afterwards.
 * - `heal()`: back to forwarding.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type FaultMode = 'forward' | 'stall' | 'blackhole';

export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly mode: FaultMode;
  /** Client connections open right now. */
  readonly connections: number;
  /** Client connections accepted since the start. */
  readonly accepted: number;
  cut(): void;
  stall(): void;
  blackhole(): void;
  heal(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes held while stalled, per direction. */
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
  /** Bytes were dropped on this pair: it cannot carry a protocol any more. */
  damaged: boolean;
  upstreamReady: boolean;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  let mode: FaultMode = 'forward';
  let accepted = 0;
  const pairs = new Set<Pair>();

  const destroy = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const flush = (pair: Pair) => {
    if (!pair.upstreamReady) return;
    for (const chunk of pair.toUpstream.splice(0)) pair.upstream.write(chunk);
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
  };

  /** Bytes from `from`, bound for `to` (held in `held` while stalled). */
  const relay = (pair: Pair, chunk: Buffer, to: Socket, held: Buffer[], upstreamBound: boolean) => {
    if (mode === 'blackhole') {
      pair.damaged = true;
      return;
    }
    if (mode === 'stall' || (upstreamBound && !pair.upstreamReady) || held.length > 0) {
      held.push(chunk);
      return;
    }
    to.write(chunk);
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    accepted++;
    const upstream = tcpConnect({ host: targetHost, port: targetPort, noDelay: true });
    const pair: Pair = {
      client,
      upstream,
      toUpstream: [],
      toClient: [],
      damaged: false,
      upstreamReady: false,
    };
    pairs.add(pair);
    // A connection accepted into the black hole never gets a word through, even after heal().
    if (mode === 'blackhole') pair.damaged = true;
    upstream.once('connect', () => {
      pair.upstreamReady = true;
      if (mode === 'forward') flush(pair);
    });
    client.on('data', (chunk: Buffer) => relay(pair, chunk, upstream, pair.toUpstream, true));
    upstream.on('data', (chunk: Buffer) => relay(pair, chunk, client, pair.toClient, false));
    const end = () => destroy(pair);
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fault proxy has no address');
  const port = address.port;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      for (const pair of [...pairs]) destroy(pair);
    },
    stall() {
      mode = 'stall';
    },
    blackhole() {
      mode = 'blackhole';
      for (const pair of pairs) {
        // What was held is dropped too.
        if (pair.toUpstream.length > 0 || pair.toClient.length > 0) pair.damaged = true;
        pair.toUpstream.length = 0;
        pair.toClient.length = 0;
      }
    },
    heal() {
      mode = 'forward';
      for (const pair of [...pairs]) {
        if (pair.damaged) destroy(pair);
        else flush(pair);
      }
    },
    close() {
      for (const pair of [...pairs]) destroy(pair);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
