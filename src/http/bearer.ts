/**
 * Bearer-token checks in constant time, shared by the publish endpoint and the cron drain.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Returns a check of an `Authorization` header against `Bearer <secret>`. It compares SHA-256
 * digests, so the comparison takes the same time whatever was sent, whatever its length.
 *
 * @example
 * ```ts
 * const authorized = bearerCheck(process.env.CRON_SECRET);
 * if (!authorized(request.headers.get('authorization'))) return new Response(null, { status: 401 });
 * ```
 */
export function bearerCheck(secret: string): (authorization: string | null | undefined) => boolean {
  const expected = digest(secret);
  return (authorization) => {
    const match = BEARER.exec(authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1] as string), expected);
  };
}
