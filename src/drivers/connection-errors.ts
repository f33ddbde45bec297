/**
 * Why a connection to Redis failed, said so that the reader knows what to do: a closed port, an
 * unknown host, TLS spoken to a plain port, a refused password — each its own message naming
 * `host:port` (never the password). Shared by the ioredis drivers and the REST driver.
 */
import { describeError, RedisAuthError, RedisUnavailableError } from '../core/errors.js';

/** Where a driver connects: `host:port`, and whether that is a REST server (credential: a token). */
export interface Where {
  readonly address: string;
  readonly rest?: boolean;
}

/** Error replies (and REST answers) that mean the credentials were refused, at the start of a message. */
const AUTH_FAILURE =
  /^(?:Ready check failed: )?(WRONGPASS|NOAUTH|Unauthorized|(?:ERR )?invalid (?:password|username-password))/i;

/** TLS errors that mean the other end does not speak TLS at all (a plain Redis port). */
const NOT_TLS =
  /wrong version number|packet length too long|unknown protocol|record layer failure|http request/i;

/** Codes that mean a certificate was not accepted (the server speaks TLS). */
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/;

/** The error, its causes and the first error it aggregates: where a system error code may be. */
function chain(error: unknown, depth = 0): (Error & { code?: unknown })[] {
  if (!(error instanceof Error) || depth > 5) return [];
  const inner = (error as { errors?: unknown[] }).errors;
  return [
    error,
    ...(Array.isArray(inner) ? chain(inner[0], depth + 1) : []),
    ...chain(error.cause, depth + 1),
  ];
}

function serverAt(where: Where): string {
  return `${where.rest ? 'the REST server' : 'Redis'} at ${where.address}`;
}

/** The credentials were refused: a {@link RedisAuthError}, else undefined. */
export function authFailure(where: Where, error: unknown): RedisAuthError | undefined {
  const found = chain(error)
    .map((e) => AUTH_FAILURE.exec(e.message)?.[1])
    .find((code) => code !== undefined);
  if (found === undefined) return undefined;
  const code = /^(WRONGPASS|NOAUTH)$/i.test(found) ? found.toUpperCase() : 'refused';
  const advice = where.rest
    ? `the REST server at ${where.address} refused the token (${code}): check the REST token (UPSTASH_REDIS_REST_TOKEN)`
    : code === 'NOAUTH'
      ? `Redis at ${where.address} requires a password and none was given (NOAUTH): put it in the URL, redis://:<password>@${where.address}`
      : `Redis at ${where.address} refused the password (${code}): check the password (and user name) in the URL`;
  return new RedisAuthError(where.address, `${advice}; a configuration error, retrying will not help`, {
    cause: error,
  });
}

/** The TLS handshake failed or never finished: the server does not speak TLS (a plain port). */
export function tlsHandshakeError(where: Where, detail: string, cause?: unknown): RedisUnavailableError {
  return new RedisUnavailableError(
    `TLS handshake with ${where.address} failed (${detail}): is the server speaking TLS? use redis:// for a plain port`,
    { cause },
  );
}

/** What a system error code says about a connection that could not be opened or broke. */
function systemError(where: Where, code: string | undefined): string | undefined {
  const server = serverAt(where);
  switch (code) {
    case 'ECONNREFUSED':
      return `${server} refused the connection (ECONNREFUSED): nothing listens there — is the server running, and are host and port right?`;
    case 'ENOTFOUND':
      return `the host of ${server} was not found (ENOTFOUND): check the host name`;
    case 'EAI_AGAIN':
      return `the host name of ${server} could not be resolved (EAI_AGAIN: DNS did not answer): check the host name and the DNS`;
    case 'ETIMEDOUT':
      return `${server} did not accept a connection in time (ETIMEDOUT): is it reachable from here (firewall, security group, VPC)?`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${server} is unreachable (${code}): check the network route to it`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${server} was cut (${code})`;
  }
  return undefined;
}

/**
 * The error a failed connection to `where` should be reported as: the credentials refused, or an
 * unavailability whose message says why (ECONNREFUSED, ENOTFOUND, TLS to a plain port, …);
 * undefined when `error` says nothing recognisable.
 */
export function connectionError(
  where: Where,
  error: unknown,
): RedisAuthError | RedisUnavailableError | undefined {
  const auth = authFailure(where, error);
  if (auth) return auth;
  const errors = chain(error);
  const code = errors.map((e) => e.code).find((c): c is string => typeof c === 'string');
  const known = systemError(where, code);
  if (known) return new RedisUnavailableError(known, { cause: error });
  if (code !== undefined && CERTIFICATE.test(code)) {
    return new RedisUnavailableError(
      `the TLS certificate of ${serverAt(where)} was not accepted (${code}): ${describeError(error)}`,
      { cause: error },
    );
  }
  const message = errors.map((e) => e.message).join(': ');
  if ((code !== undefined && /^ERR_SSL|^ERR_TLS/.test(code)) || NOT_TLS.test(message)) {
    return tlsHandshakeError(where, code ?? message, error);
  }
  return undefined;
}
