/**
 * Who may publish: the bearer token, or a body signature (fresh and matching here; claimed against
 * replays only once the request is known to be publishable, see write.ts).
 */
import { header, Refusal } from '../answers.js';
import { SIGNATURE_HEADER, SignatureError, type VerifiedSignature, verifySignature } from '../signature.js';
import type { PublishContext, PublishRequest } from './context.js';

/** The `WWW-Authenticate` header naming the schemes an endpoint accepts. */
export function challengeOf(bearer: boolean, signatures: boolean): Record<string, string> {
  return {
    'www-authenticate': [bearer ? 'Bearer' : '', signatures ? SIGNATURE_HEADER : '']
      .filter((scheme) => scheme !== '')
      .join(', '),
  };
}

/**
 * Authenticated by the bearer token, or by a body signature (returned, for the replay guard that
 * runs once the request is known to be publishable). Pure: nothing here touches Redis.
 */
export function authenticate(
  context: PublishContext,
  request: PublishRequest,
  nowMs: number,
): VerifiedSignature | undefined {
  const { authorized, secrets, challenge } = context;
  if (!authorized && secrets.length === 0) {
    throw new Refusal(
      401,
      'publishing is disabled: no publish token (SLUICE_PUBLISH_TOKEN) or signing secret (SLUICE_SIGNING_SECRET) is configured',
    );
  }
  // Constant time, whatever was sent.
  if (authorized?.(header(request.headers, 'authorization'))) return undefined;
  if (secrets.length === 0) throw new Refusal(401, 'missing or invalid bearer token', challenge);
  const signature = header(request.headers, SIGNATURE_HEADER.toLowerCase());
  if (signature === undefined && authorized) {
    throw new Refusal(401, `missing or invalid bearer token, and no ${SIGNATURE_HEADER} header`, challenge);
  }
  try {
    return verifySignature(signature, request.body ?? '', {
      secrets,
      nowMs,
      toleranceSeconds: context.settings.signatureToleranceSeconds,
    });
  } catch (error) {
    if (error instanceof SignatureError) throw new Refusal(401, error.message, challenge);
    throw error;
  }
}
