/**
 * HMAC body signatures: a second way to authenticate a publish, for callers that sign what they
 * send (as Stripe and GitHub sign webhooks) instead of holding a bearer token.
 *
 *     Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body bytes>">
 *
 * - The HMAC key is a signing secret; the endpoint may hold several (rotation): a signature made
 *   with any of them is accepted. A header may carry several `v1=` (one per secret while rotating);
 *   one match is enough. Other names (`v0=`, a future `v2=`) are ignored.
 * - `t` must lie within `toleranceSeconds` of the server's clock, either side.
 * - Every comparison takes the same time whatever was sent.
 * - Replay protection: a signed request is accepted once. What it signed (`<t>.<body>`) is remembered
 *   under `sluice:sig:<sha256 hex>` — one key for every topic — with `SET NX PX` for as long
 *   as its timestamp could still be accepted, plus a window for clocks that disagree.
 *
 * The parsing, signing and checking are pure (no clock, no Redis); the replay guard is a pair of
 * one-key scripts.
 *
 * @example
 * ```ts
 * import { signBody } from 'sluice/http';
 *
 * const body = JSON.stringify({ data: { orderId: 42 } });
 * await fetch(`${base}/topics/orders/messages`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', 'sluice-signature': signBody(secret, body) },
 *   body,
 * });
 * ```
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Driver, defineScript, runScript } from '../core/driver.js';
import { InvalidOptionError, SluiceError } from '../core/errors.js';
import { KEY_PREFIX } from '../core/keys.js';

/** The header that carries a body signature. */
export const SIGNATURE_HEADER = 'Sluice-Signature';

export const SIGNATURE_DEFAULTS = Object.freeze({ toleranceSeconds: 300 });

/** Longest header accepted: room for a timestamp and a few signatures, nothing to chew on. */
const MAX_HEADER_LENGTH = 1_024;
/** Most `v1=` values one header may carry. */
const MAX_SIGNATURES = 8;

/** Why a signature was refused. */
export type SignatureProblem = 'missing' | 'malformed' | 'expired' | 'future' | 'mismatch' | 'replayed';

/** A body signature was refused; `problem` says why. The message never holds a secret or an expected value. */
export class SignatureError extends SluiceError {
  override name = 'SignatureError';
  constructor(
    readonly problem: SignatureProblem,
    message: string,
  ) {
    super(message);
  }
}

/** A parsed `Sluice-Signature` header. */
export interface ParsedSignature {
  /** `t`: Unix time in seconds. */
  readonly timestamp: number;
  /** The `v1` values, lower-case hex. */
  readonly signatures: readonly string[];
}

/** A signature that matched, was fresh, and is ready for the replay guard. */
export interface VerifiedSignature {
  readonly timestamp: number;
  /** SHA-256 (hex) of what was signed, `<t>.<body>`: names the request for the replay guard. */
  readonly replayId: string;
}

export interface VerifySignatureOptions {
  /** The signing secrets; a signature made with any of them is accepted. */
  readonly secrets: readonly string[];
  /** The server's time, ms since the epoch. */
  readonly nowMs: number;
  /**
   * Largest distance between `t` and the server's time, either side, in seconds.
   * @default 300
   */
  readonly toleranceSeconds?: number;
}

function malformed(detail: string): SignatureError {
  return new SignatureError(
    'malformed',
    `malformed ${SIGNATURE_HEADER} header: ${detail}; expected t=<unix seconds>,v1=<hex HMAC-SHA256>`,
  );
}

function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Parses a `Sluice-Signature` header. Throws a {@link SignatureError} (`missing` or `malformed`). */
export function parseSignatureHeader(value: string | null | undefined): ParsedSignature {
  if (value === undefined || value === null || value.trim() === '') {
    throw new SignatureError('missing', `missing ${SIGNATURE_HEADER} header`);
  }
  if (value.length > MAX_HEADER_LENGTH) throw malformed(`longer than ${MAX_HEADER_LENGTH} characters`);
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const equals = item.indexOf('=');
    if (equals <= 0) throw malformed('expected comma-separated name=value pairs');
    const name = item.slice(0, equals).trim();
    const text = item.slice(equals + 1).trim();
    if (name === 't') {
      if (timestamp !== undefined) throw malformed('more than one t');
      // No leading zeros: the digits sent are the digits signed, and they read as one number.
      if (!/^(?:0|[1-9]\d{0,11})$/.test(text)) throw malformed('t must be the Unix time in whole seconds');
      timestamp = Number(text);
    } else if (name === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(text)) throw malformed('v1 must be 64 hexadecimal digits');
      signatures.push(text.toLowerCase());
    }
  }
  if (timestamp === undefined) throw malformed('no t');
  if (signatures.length === 0) throw malformed('no v1');
  if (signatures.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} v1 values`);
  return { timestamp, signatures };
}

function hmac(secret: string, body: Uint8Array, timestamp: number): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

function checkTimestamp(timestamp: unknown): asserts timestamp is number {
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new InvalidOptionError(
      'timestamp',
      `Expected \`timestamp\` to be Unix time in whole seconds, got ${String(timestamp)}`,
    );
  }
}

/** The `v1` signature of `body` at `timestamp` (Unix seconds): hex HMAC-SHA256 of `<timestamp>.<body bytes>`. */
export function computeSignature(secret: string, body: string | Uint8Array, timestamp: number): string {
  checkTimestamp(timestamp);
  if (typeof secret !== 'string' || secret === '') {
    throw new InvalidOptionError('secret', 'Expected `secret` to be a non-empty string');
  }
  return hmac(secret, bytesOf(body), timestamp).toString('hex');
}

/**
 * The `Sluice-Signature` header value for `body` (the exact bytes sent; a string is sent as UTF-8),
 * signed with `secret` at `timestamp` (Unix seconds, default now). Sign each attempt afresh: the
 * endpoint accepts a signed request once.
 *
 * @example
 * ```ts
 * headers['sluice-signature'] = signBody(process.env.SLUICE_SIGNING_SECRET, body);
 * ```
 */
export function signBody(
  secret: string,
  body: string | Uint8Array,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${computeSignature(secret, body, timestamp)}`;
}

/**
 * Checks a `Sluice-Signature` header over the raw body: well-formed, made with one of `secrets`
 * (compared in constant time), and fresh. Throws a {@link SignatureError} (`missing`, `malformed`,
 * `mismatch`, `expired`, `future`); replays are the guard's business ({@link claimSignature}).
 */
export function verifySignature(
  header: string | null | undefined,
  body: string | Uint8Array,
  options: VerifySignatureOptions,
): VerifiedSignature {
  if (!Number.isFinite(options.nowMs)) {
    throw new InvalidOptionError(
      'nowMs',
      `Expected \`nowMs\` to be ms since the epoch, got ${options.nowMs}`,
    );
  }
  const { timestamp, signatures } = parseSignatureHeader(header);
  const bytes = bytesOf(body);
  let matched = false;
  // Every secret against every signature, no early exit: the time taken says nothing about which.
  for (const secret of options.secrets) {
    const expected = hmac(secret, bytes, timestamp);
    for (const signature of signatures) {
      if (timingSafeEqual(expected, Buffer.from(signature, 'hex'))) matched = true;
    }
  }
  if (!matched) {
    throw new SignatureError(
      'mismatch',
      `${SIGNATURE_HEADER} does not match the body: signed with another secret, or the body changed on the way`,
    );
  }
  const tolerance = options.toleranceSeconds ?? SIGNATURE_DEFAULTS.toleranceSeconds;
  const offset = timestamp - Math.floor(options.nowMs / 1000);
  if (offset < -tolerance) {
    throw new SignatureError(
      'expired',
      `${SIGNATURE_HEADER} has expired: t is ${-offset} s before the server's time; at most ${tolerance} s are accepted`,
    );
  }
  if (offset > tolerance) {
    throw new SignatureError(
      'future',
      `${SIGNATURE_HEADER} is from the future: t is ${offset} s after the server's time; at most ${tolerance} s are accepted`,
    );
  }
  const replayId = createHash('sha256').update(`${timestamp}.`).update(bytes).digest('hex');
  return { timestamp, replayId };
}

/**
 * The key that remembers a signed request: `sluice:sig:<replayId>`, the same whichever topic it
 * was sent to — a signature covers the body and time, not the topic, so a captured request must
 * not be accepted once per topic. One key per script call: legal on a cluster.
 */
export function signatureKey(_topic: string, replayId: string): string {
  return `${KEY_PREFIX}:sig:${replayId}`;
}

/** Claim KEYS[1] with ARGV[1] for ARGV[2] ms unless it exists. Returns 1 when claimed, 0 when it existed. */
const CLAIM_SIGNATURE = /* @__PURE__ */ defineScript(
  'sluice-claim-signature',
  `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`,
);

/** Delete KEYS[1] if it still holds ARGV[1] (this request's claim). Returns how many were deleted. */
const RELEASE_SIGNATURE = /* @__PURE__ */ defineScript(
  'sluice-release-signature',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/**
 * The replay guard: claims a verified signature for `topic`, so the same signed request is refused
 * (`SignatureError` `replayed`) while its timestamp could still be accepted, and a window longer
 * (clocks disagree). Resolves a release that gives the claim back — for when the publish it guarded
 * failed, so that a retry of the same bytes is not taken for a replay.
 */
export async function claimSignature(
  driver: Driver,
  topic: string,
  signature: VerifiedSignature,
  options: { readonly nowMs: number; readonly toleranceSeconds?: number; readonly claimId: string },
): Promise<() => Promise<void>> {
  const toleranceMs = (options.toleranceSeconds ?? SIGNATURE_DEFAULTS.toleranceSeconds) * 1000;
  const keepMs = Math.max(1_000, signature.timestamp * 1000 - options.nowMs + 2 * toleranceMs);
  const key = signatureKey(topic, signature.replayId);
  const claimed = await runScript(driver, CLAIM_SIGNATURE, [key], [options.claimId, keepMs]);
  if (Number(claimed) !== 1) {
    throw new SignatureError(
      'replayed',
      `${SIGNATURE_HEADER} was already used: a signed request is accepted once; sign each attempt afresh`,
    );
  }
  return async () => {
    await runScript(driver, RELEASE_SIGNATURE, [key], [options.claimId]);
  };
}
