/**
 * The seed nodes of a Redis Cluster, as `REDIS_CLUSTER_NODES` and `ioredisClusterDriver` take them:
 * `host:port` entries, or `redis://` / `rediss://` URLs (which may carry a user, a password and
 * TLS, the same for every node). Pure parsing, shared by the configuration and the driver.
 */
import { maskCredentials } from '../core/errors.js';

export interface ClusterSeed {
  readonly host: string;
  readonly port: number;
}

export interface ClusterSeeds {
  readonly nodes: readonly ClusterSeed[];
  /** `rediss://`: every node is reached over TLS. */
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

function port(text: string): number | undefined {
  const value = Number(text);
  return Number.isInteger(value) && value >= 1 && value <= 65_535 ? value : undefined;
}

interface Entry {
  readonly seed: ClusterSeed;
  /** From a URL: its scheme and credentials, which every URL must repeat. */
  readonly url?: { readonly tls: boolean; readonly username: string; readonly password: string };
}

/** An entry as error messages quote it: a URL's credentials masked. */
function shown(text: string): string {
  return JSON.stringify(maskCredentials(text));
}

function entryOf(text: string): Entry | string {
  if (/^rediss?:\/\//.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return `${shown(text)} is not a valid URL`;
    }
    const p = port(url.port || '6379');
    if (url.hostname === '' || p === undefined) return `${shown(text)} has no valid host and port`;
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      return `${shown(text)} names a database: a cluster has only database 0`;
    }
    return {
      seed: { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: p },
      url: {
        tls: url.protocol === 'rediss:',
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      },
    };
  }
  const match = HOST_PORT.exec(text);
  const p = match?.[2] === undefined ? undefined : port(match[2]);
  if (match?.[1] === undefined || p === undefined) {
    return `${shown(text)} is neither host:port nor a redis:// or rediss:// URL`;
  }
  return { seed: { host: match[1].replace(/^\[(.*)\]$/, '$1'), port: p } };
}

/**
 * Parses seed nodes, or says what is wrong with them (a message to wrap in the caller's error).
 *
 * @example
 * ```ts
 * parseClusterNodes(['10.0.0.1:6379', '10.0.0.2:6379']);
 * parseClusterNodes(['rediss://default:secret@node-1.example.com:6379']);
 * ```
 */
export function parseClusterNodes(entries: readonly string[]): ClusterSeeds | string {
  const texts = entries.map((e) => e.trim()).filter((e) => e !== '');
  if (texts.length === 0) return 'no node given: list at least one host:port';
  const parsed: Entry[] = [];
  for (const text of texts) {
    const entry = entryOf(text);
    if (typeof entry === 'string') return entry;
    parsed.push(entry);
  }
  const urls = parsed.flatMap((e) => (e.url ? [e.url] : []));
  const [first] = urls;
  if (
    first !== undefined &&
    urls.some((u) => u.tls !== first.tls || u.username !== first.username || u.password !== first.password)
  ) {
    return 'the URLs differ in scheme or credentials: every node of a cluster is reached the same way';
  }
  return {
    nodes: parsed.map((e) => e.seed),
    tls: first?.tls ?? false,
    username: first?.username || undefined,
    password: first?.password || undefined,
  };
}
