/**
 * The servers a bench run uses: a private redis-server on a free port, and the local Upstash REST
 * server in front of it, in a process of its own (so that its CPU work is not billed to the client
 * being measured, as it would not be with the real Upstash).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../../dev/redis-server.js';

export interface RestEndpoint {
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

export interface BenchServers {
  readonly redis: RedisServer;
  readonly rest: RestEndpoint;
  /** A plain client for setup, INFO and clean-up; never used by what is measured. */
  readonly admin: Redis;
  readonly redisVersion: string;
  /**
   * Registers what a section started on its own (a cluster, child processes) to be stopped with the
   * servers should the run end early (Ctrl-C, an error); returns the function that unregisters it.
   */
  adopt(stop: () => Promise<void>): () => void;
  stop(): Promise<void>;
}

/** The repository's root, from this file or from the bench's compiled bundle (bench/.run.mjs, see start.ts). */
const ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/bench/lib/') ? '../../' : '../', import.meta.url),
);
const REST_SERVER = `${ROOT}dev/upstash-rest-server.ts`;

/** The local REST server in a child process; `delayMs` is added to every request it answers. */
export function startRestChild(redisUrl: string, token: string, delayMs = 0): Promise<RestEndpoint> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      REST_SERVER,
      '--redis-url',
      redisUrl,
      '--token',
      token,
      '--delay-ms',
      String(delayMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({
        url: match[1] as string,
        token,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`REST server exited with ${code}: ${output}`)));
  });
}

export async function startServers(): Promise<BenchServers> {
  // No persistence and no background saving: nothing but the measured work on the server's core.
  const redis = await startRedisServer({ args: ['--hz', '10'] });
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const info = (await admin.info('server')).match(/redis_version:(\S+)/);
  const rest = await startRestChild(redis.url, `bench-${randomUUID()}`);
  const adopted = new Set<() => Promise<void>>();
  return {
    redis,
    rest,
    admin,
    redisVersion: info?.[1] ?? 'unknown',
    adopt(stop) {
      adopted.add(stop);
      return () => adopted.delete(stop);
    },
    async stop() {
      await Promise.allSettled([...adopted].map((stop) => stop()));
      adopted.clear();
      await rest.stop();
      admin.disconnect();
      await redis.stop();
    },
  };
}
