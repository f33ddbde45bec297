/**
 * A local server that speaks the Upstash Redis REST protocol in front of a real redis-server, so the
 * @upstash/redis driver can be tested (and the local stack run) without the cloud service.
 *
 * Protocol (what the Upstash REST API and @upstash/redis use):
 * - `POST /` with `["CMD", "arg", …]` → 200 `{"result": …}`, or 400 `{"error": "<redis error>"}`.
 * - `POST /pipeline` with `[[…], […]]` → 200 `[{"result": …} | {"error": …}, …]`; not atomic.
 * - `POST /multi-exec` with `[[…], […]]` → MULTI/EXEC → 200 `[{"result": …} | {"error": …}, …]`;
 *   400 `{"error": …}` when a command fails to queue (the transaction is discarded).
 * - Path form `GET|POST|PUT|HEAD /cmd/arg1/arg2?ARG=VALUE` (URL-decoded segments; a POST/PUT body is
 *   appended, as raw bytes, after the segments and before the query parameters).
 * - `Authorization: Bearer <token>` (or `?_token=`) on every request, else 401 `{"error":"Unauthorized"}`.
 * - `Upstash-Encoding: base64`: every string of the result, at every depth, is base64 — except a
 *   top-level status reply `OK` — integers stay JSON numbers, nil stays null; an error inside an array
 *   is `{"error": …}`. Without the header strings are UTF-8 text (lossy for bytes that are not UTF-8).
 * - Redis unreachable, or the connection lost mid-command → 503 `{"error": …}`.
 *
 * It talks RESP2 itself (one small parser below) rather than through ioredis, because ioredis hands
 * status and bulk replies back as the same Buffer and the base64 rule tells them apart. Each request
 * takes a connection of its own from a pool, so a blocking command holds up nobody else.
 *
 * Run directly it is a CLI:
 *   node --import tsx dev/upstash-rest-server.ts --redis-url redis://127.0.0.1:6379 --token T [--port P] [--delay-ms MS]
 * and prints `upstash-rest listening on http://127.0.0.1:<port>` once it accepts requests.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface RestServerOptions {
  /** The redis-server behind it: `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly redisUrl: string;
  /** The bearer token clients must present. */
  readonly token: string;
  /** Port to listen on (127.0.0.1); an ephemeral one when omitted or 0. */
  readonly port?: number;
  /** Largest request body accepted; larger ones get 413. @default 10 MiB */
  readonly maxBodyBytes?: number;
  /** Redis connections in use at once; further requests wait for one. @default 64 */
  readonly maxConnections?: number;
  /**
   * Added to every request before it is answered, to stand for a network between the client and
   * Upstash (a round trip to a nearby region is a few ms). @default 0
   */
  readonly delayMs?: number;
}

export interface RestServer {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Stops listening, drops keep-alive sockets and every redis connection. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// RESP2

class StatusReply {
  constructor(readonly value: string) {}
}

class ErrorReply {
  constructor(readonly message: string) {}
}

type Reply = StatusReply | ErrorReply | Buffer | number | null | Reply[];
type Arg = string | Buffer;

/** The connection to redis failed or was lost: the client gets a 503. */
class UnavailableError extends Error {}

const CRLF = Buffer.from('\r\n');

function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** An incremental RESP2 parser: tokens already read are never parsed again, so big replies cost linear time. */
class RespParser {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes received since the last parse attempt, and how many the incomplete token needs in all. */
  private readonly received: Buffer[] = [];
  private receivedLength = 0;
  private needed = 0;
  /** Arrays being filled, innermost last. */
  private readonly stack: { items: Reply[]; remaining: number }[] = [];

  /** Feeds bytes; returns the replies completed by them, in order. Throws on a protocol error. */
  feed(chunk: Buffer): Reply[] {
    this.received.push(chunk);
    this.receivedLength += chunk.length;
    // A big bulk string arrives in many chunks: join them once, when all of it is there.
    if (this.buffer.length + this.receivedLength < this.needed) return [];
    this.buffer = Buffer.concat([this.buffer, ...this.received.splice(0)]);
    this.receivedLength = 0;
    this.needed = 0;
    const done: Reply[] = [];
    let pos = 0;
    for (;;) {
      const token = this.token(pos);
      if (token === undefined) break;
      pos = token.next;
      let value: Reply | undefined = token.value;
      if (token.arrayLength !== undefined) {
        if (token.arrayLength > 0) {
          this.stack.push({ items: [], remaining: token.arrayLength });
          continue;
        }
        value = token.arrayLength === 0 ? [] : null;
      }
      // Place the value; each array it completes becomes a value for the one around it.
      for (;;) {
        const frame = this.stack[this.stack.length - 1];
        if (!frame) {
          done.push(value as Reply);
          break;
        }
        frame.items.push(value as Reply);
        if (--frame.remaining > 0) break;
        this.stack.pop();
        value = frame.items;
      }
    }
    this.buffer = this.buffer.subarray(pos);
    return done;
  }

  /** One header line (and a bulk string's payload) at `pos`, or undefined when not all there yet. */
  private token(pos: number): { value?: Reply; arrayLength?: number; next: number } | undefined {
    const buf = this.buffer;
    const eol = buf.indexOf(CRLF, pos);
    if (eol < 0) return undefined;
    const line = buf.toString('utf8', pos + 1, eol);
    const next = eol + 2;
    switch (buf[pos]) {
      case 0x2b: // +
        return { value: new StatusReply(line), next };
      case 0x2d: // -
        return { value: new ErrorReply(line), next };
      case 0x3a: // :
        return { value: Number(line), next };
      case 0x24: {
        // $
        const length = Number.parseInt(line, 10);
        if (length < 0) return { value: null, next };
        const end = next + length;
        if (buf.length < end + 2) {
          this.needed = end + 2 - pos;
          return undefined;
        }
        return { value: Buffer.from(buf.subarray(next, end)), next: end + 2 };
      }
      case 0x2a: // *
        return { arrayLength: Number.parseInt(line, 10), next };
      default:
        throw new Error(`unexpected RESP type byte 0x${(buf[pos] ?? 0).toString(16)}`);
    }
  }
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/** One RESP2 connection; commands are pipelined and answered in order. */
class RedisConnection {
  private readonly waiters: Waiter[] = [];
  private readonly parser = new RespParser();
  private failure: Error | undefined;
  /** Set when a command may have left per-connection state behind: closed on release, not reused. */
  tainted = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(target: RedisTarget): Promise<RedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = target.tls
        ? tlsConnect({ host: target.host, port: target.port, servername: target.host })
        : netConnect({ host: target.host, port: target.port });
      const onError = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('error', onError);
      socket.once(target.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', onError);
        const connection = new RedisConnection(socket);
        const setup: Arg[][] = [];
        if (target.password !== undefined)
          setup.push(
            target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password],
          );
        if (target.db !== 0) setup.push(['SELECT', String(target.db)]);
        Promise.all(connection.send(setup)).then((replies) => {
          const error = replies.find((reply) => reply instanceof ErrorReply);
          if (error) {
            connection.close();
            reject(new Error(error.message));
          } else resolve(connection);
        }, reject);
      });
    });
  }

  get usable(): boolean {
    return this.failure === undefined && !this.tainted && this.waiters.length === 0;
  }

  /** Writes the commands in one go; one promise per command, in order. */
  send(commands: readonly (readonly Arg[])[]): Promise<Reply>[] {
    if (commands.length === 0) return [];
    const failure = this.failure;
    if (failure) return commands.map(() => Promise.reject(new UnavailableError(failure.message)));
    const replies = commands.map(
      () => new Promise<Reply>((resolve, reject) => this.waiters.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return replies;
  }

  close(): void {
    this.fail(new Error('connection closed'));
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const reply of replies) {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(reply);
      else this.tainted = true; // a push nobody asked for (pub/sub): never reuse this connection
    }
  }

  private fail(error: Error): void {
    if (!this.failure) {
      this.failure = error;
      this.socket.destroy();
    }
    for (const waiter of this.waiters.splice(0)) waiter.reject(new UnavailableError(error.message));
  }
}

interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

function parseRedisUrl(redisUrl: string): RedisTarget {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Error(`not a redis:// URL: ${redisUrl}`);
  const db = url.pathname.length > 1 ? Number.parseInt(url.pathname.slice(1), 10) : 0;
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    tls: url.protocol === 'rediss:',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isFinite(db) ? db : 0,
  };
}

/** Connections handed out one per request; idle ones are kept for the next. */
class Pool {
  private readonly idle = new Set<RedisConnection>();
  private readonly all = new Set<RedisConnection>();
  private readonly queue: (() => void)[] = [];
  private active = 0;
  private closed = false;

  constructor(
    private readonly target: RedisTarget,
    private readonly max: number,
    private readonly maxIdle = 16,
  ) {}

  async with<T>(use: (connection: RedisConnection) => Promise<T>): Promise<T> {
    while (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    let connection: RedisConnection | undefined;
    try {
      connection = await this.take();
      return await use(connection);
    } finally {
      this.active--;
      if (connection) this.give(connection);
      this.queue.shift()?.();
    }
  }

  close(): void {
    this.closed = true;
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.clear();
  }

  private async take(): Promise<RedisConnection> {
    if (this.closed) throw new UnavailableError('server is stopping');
    for (const connection of this.idle) {
      this.idle.delete(connection);
      if (connection.usable) return connection;
      this.forget(connection);
    }
    let connection: RedisConnection;
    try {
      connection = await RedisConnection.open(this.target);
    } catch (error) {
      throw new UnavailableError(`redis unavailable: ${(error as Error).message}`);
    }
    if (this.closed) {
      connection.close();
      throw new UnavailableError('server is stopping');
    }
    this.all.add(connection);
    return connection;
  }

  private give(connection: RedisConnection): void {
    if (connection.usable && !this.closed && this.idle.size < this.maxIdle) this.idle.add(connection);
    else this.forget(connection);
  }

  private forget(connection: RedisConnection): void {
    connection.close();
    this.all.delete(connection);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Not available over REST: per-connection state means nothing across HTTP requests, or would wedge the connection. */
const REFUSED = new Set([
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'sync',
  'psync',
  'quit',
  'reset',
  'hello',
  'shutdown',
]);

/** Allowed, but the connection is not reused afterwards (they change its state). */
const TAINTING = new Set(['select', 'auth', 'client', 'readonly', 'readwrite', 'swapdb']);

class BadRequest extends Error {}

function refusal(args: readonly Arg[]): string | undefined {
  const name = String(args[0]).toLowerCase();
  const sub = args[1] === undefined ? '' : String(args[1]).toLowerCase();
  if (REFUSED.has(name) || (name === 'client' && (sub === 'reply' || sub === 'tracking')))
    return `ERR Command is not available: '${name}'`;
  return undefined;
}

function taints(args: readonly Arg[]): boolean {
  return TAINTING.has(String(args[0]).toLowerCase());
}

/** A JSON command: a non-empty array of strings, numbers or booleans. */
function toCommand(value: unknown): string[] {
  if (!Array.isArray(value)) throw new BadRequest('ERR command must be a JSON array');
  if (value.length === 0) throw new BadRequest('ERR empty command');
  return value.map((arg) => {
    if (typeof arg === 'string') return arg;
    if ((typeof arg === 'number' && Number.isFinite(arg)) || typeof arg === 'boolean') return String(arg);
    throw new BadRequest(`ERR command arguments must be strings or numbers, got ${JSON.stringify(arg)}`);
  });
}

function toCommands(value: unknown): string[][] {
  if (!Array.isArray(value)) throw new BadRequest('ERR body must be a JSON array of commands');
  if (value.length === 0) throw new BadRequest('ERR empty pipeline');
  return value.map(toCommand);
}

/**
 * A reply as JSON: bulk strings as UTF-8 text or base64, statuses likewise except a top-level `OK`
 * (the one string Upstash leaves alone, and the one @upstash/redis does not decode at the top level;
 * inside arrays the SDK decodes every string, so a nested status `OK` is encoded like the rest).
 */
function toJson(reply: Reply, base64: boolean, top = true): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? 'base64' : 'utf8');
  if (reply instanceof StatusReply)
    return base64 && !(top && reply.value === 'OK')
      ? Buffer.from(reply.value).toString('base64')
      : reply.value;
  if (reply instanceof ErrorReply) return { error: reply.message };
  return reply.map((item) => toJson(item, base64, false));
}

function entry(reply: Reply, base64: boolean): { result: unknown } | { error: string } {
  return reply instanceof ErrorReply ? { error: reply.message } : { result: toJson(reply, base64) };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function runOne(pool: Pool, args: Arg[], base64: boolean): Promise<Answer> {
  const refused = refusal(args);
  if (refused) return { status: 400, body: { error: refused } };
  const reply = await pool.with(async (connection) => {
    if (taints(args)) connection.tainted = true;
    const [pending] = connection.send([args]);
    return pending as Promise<Reply>;
  });
  return reply instanceof ErrorReply
    ? { status: 400, body: { error: reply.message } }
    : { status: 200, body: { result: toJson(reply, base64) } };
}

async function runPipeline(pool: Pool, commands: string[][], base64: boolean): Promise<Answer> {
  const refusals = commands.map(refusal);
  const allowed = commands.filter((_, i) => refusals[i] === undefined);
  const replies = await pool.with(async (connection) => {
    if (allowed.some(taints)) connection.tainted = true;
    return Promise.all(connection.send(allowed));
  });
  let next = 0;
  const body = commands.map((_, i) => {
    const refused = refusals[i];
    return refused === undefined ? entry(replies[next++] ?? null, base64) : { error: refused };
  });
  return { status: 200, body };
}

async function runTransaction(pool: Pool, commands: string[][], base64: boolean): Promise<Answer> {
  for (const command of commands) {
    const refused = refusal(command);
    if (refused) return { status: 400, body: { error: refused } };
  }
  const replies = await pool.with(async (connection) => {
    if (commands.some(taints)) connection.tainted = true;
    return Promise.all(connection.send([['MULTI'], ...commands, ['EXEC']]));
  });
  const exec = replies[replies.length - 1] ?? null;
  if (Array.isArray(exec)) return { status: 200, body: exec.map((reply) => entry(reply, base64)) };
  const queueError = replies.slice(0, -1).find((reply) => reply instanceof ErrorReply);
  const message =
    exec instanceof ErrorReply ? exec.message : 'EXECABORT Transaction aborted (EXEC returned nil)';
  return { status: 400, body: { error: queueError ? `${message} ${queueError.message}` : message } };
}

// ---------------------------------------------------------------------------------------------
// HTTP

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    // Read to the end even when too large, so the client sees the 413 rather than a reset.
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The path form: `/set/key/value?EX=100`, a POST/PUT body appended after the segments. */
function pathCommand(url: URL, body: Buffer): Arg[] {
  const segments = url.pathname.split('/').slice(1);
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const args: Arg[] = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new BadRequest(`ERR malformed path segment: ${segment}`);
    }
  });
  if (body.length > 0) args.push(body);
  for (const [key, value] of url.searchParams) {
    if (key === '_token') continue;
    args.push(key);
    if (value !== '') args.push(value);
  }
  return args;
}

export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const { token } = options;
  if (!token) throw new Error('a token is required');
  const expected = digest(`Bearer ${token}`);
  const expectedQuery = digest(token);
  const limit = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const pool = new Pool(parseRedisUrl(options.redisUrl), options.maxConnections ?? 64);
  const delayMs = options.delayMs ?? 0;
  if (!Number.isFinite(delayMs) || delayMs < 0)
    throw new Error(`delayMs must be a number >= 0, got ${delayMs}`);

  const authorized = (req: IncomingMessage, url: URL): boolean => {
    const header = req.headers.authorization;
    if (header !== undefined) return timingSafeEqual(digest(header), expected);
    const query = url.searchParams.get('_token');
    return query !== null && timingSafeEqual(digest(query), expectedQuery);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (!authorized(req, url)) {
      req.resume();
      send(res, 401, { error: 'Unauthorized' });
      return;
    }
    if (!['GET', 'HEAD', 'POST', 'PUT'].includes(method)) {
      req.resume();
      send(res, 405, { error: 'Method Not Allowed' });
      return;
    }
    const body = await readBody(req, limit);
    if (body === undefined) {
      send(res, 413, { error: `ERR request body larger than ${limit} bytes` });
      return;
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = url.pathname.replace(/\/+$/, '');
    let answer: Answer;
    try {
      if (path === '' || path === '/pipeline' || path === '/multi-exec') {
        if (method !== 'POST' && method !== 'PUT') {
          send(res, 405, { error: 'Method Not Allowed' });
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch (error) {
          throw new BadRequest(`ERR failed to parse request body as JSON: ${(error as Error).message}`);
        }
        if (path === '') answer = await runOne(pool, toCommand(parsed), base64);
        else if (path === '/pipeline') answer = await runPipeline(pool, toCommands(parsed), base64);
        else answer = await runTransaction(pool, toCommands(parsed), base64);
      } else {
        answer = await runOne(pool, pathCommand(url, body), base64);
      }
    } catch (error) {
      if (error instanceof BadRequest) answer = { status: 400, body: { error: error.message } };
      else if (error instanceof UnavailableError)
        answer = { status: 503, body: { error: `ERR ${error.message}` } };
      else answer = { status: 500, body: { error: `ERR ${(error as Error).message}` } };
    }
    send(res, answer.status, answer.body);
  };

  const server: Server = createServer((req, res) => {
    const answered =
      delayMs > 0
        ? new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => handle(req, res))
        : handle(req, res);
    answered.catch((error: Error) => {
      if (!res.headersSent) send(res, 500, { error: `ERR ${error.message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('server has no address');
  const port = address.port;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        pool.close();
      });
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'redis-url': { type: 'string' },
      token: { type: 'string' },
      port: { type: 'string' },
      'delay-ms': { type: 'string' },
    },
  });
  const redisUrl = values['redis-url'] ?? process.env.REDIS_URL;
  const token = values.token ?? process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!redisUrl || !token) {
    process.stderr.write(
      'usage: node --import tsx dev/upstash-rest-server.ts --redis-url redis://127.0.0.1:6379 --token TOKEN [--port PORT] [--delay-ms MS]\n',
    );
    process.exit(2);
  }
  const server = await startRestServer({
    redisUrl,
    token,
    port: values.port ? Number(values.port) : 0,
    delayMs: values['delay-ms'] ? Number(values['delay-ms']) : 0,
  });
  const shutdown = () => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdout.write(`upstash-rest listening on ${server.url}\n`);
}

if (isMain()) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
