/**
 * Starts private redis-server processes on free loopback ports, for tests (which kill, restart
 * and cut them) and for the local stack. Never touches a shared Redis.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Port to listen on; a free one when omitted. */
  readonly port?: number;
  /** Data folder; a fresh temporary one (removed on stop) when omitted. */
  readonly dir?: string;
  /** Append-only persistence with `appendfsync always`. @default false */
  readonly appendOnly?: boolean;
  /** Extra `redis-server` arguments. */
  readonly args?: readonly string[];
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly pid: number | undefined;
  /** Graceful stop (SHUTDOWN via SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** kill -9, waits for exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data folder (once it has exited); concurrent calls share one start. */
  restart(): Promise<void>;
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Ports for servers are taken below the kernel's ephemeral range (where outgoing connections get
 * their local ports): a server killed and restarted on its port must find it still free, and an
 * outgoing socket of any process may take a just-freed ephemeral port. Random within the range, so
 * that test processes side by side rarely try the same one; never twice in one process. The cluster
 * bus port (port + 10000) stays below the ephemeral range as well, and is checked free too.
 */
const SERVER_PORTS = { from: 12_000, to: 22_000 };
/** A cluster node also listens on its port + 10000 (the cluster bus): that one must be free too. */
const BUS_OFFSET = 10_000;
const handedOut = new Set<number>();

/** A port below the ephemeral range that nothing listens on right now, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = SERVER_PORTS.from + Math.floor(Math.random() * (SERVER_PORTS.to - SERVER_PORTS.from));
    if (handedOut.has(port)) continue;
    if ((await canListen(port)) && (await canListen(port + BUS_OFFSET))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${SERVER_PORTS.from} and ${SERVER_PORTS.to} after 200 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--loglevel',
    'notice',
    ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.args ?? []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(
              'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
            )
          : error,
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  mkdirSync(dir, { recursive: true });
  let child = await launch(port, dir, options);
  let restarting: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child.pid;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    restart() {
      // Callers racing to restart (a handler and the test around it) share one launch: a second
      // redis-server on the same port would fail to bind.
      restarting ??= (async () => {
        await exited(child);
        child = await launch(port, dir, options);
      })().finally(() => {
        restarting = undefined;
      });
      return restarting;
    },
  };
}
