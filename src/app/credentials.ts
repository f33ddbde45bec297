/**
 * The secrets of the functions' environment: the publish and admin bearer tokens and the signing
 * secrets, each refused at start when it could never match or when two of them are the same.
 */

import { ConfigurationError } from '../core/errors.js';
import { type Env, text } from './env.js';

/**
 * A bearer token variable (`SLUICE_PUBLISH_TOKEN`, `SLUICE_ADMIN_TOKEN`), trimmed; unset or blank is
 * undefined. Refused at start when it could never match (whitespace inside) or when it is one of
 * the signing secrets (a bearer token travels with every request; a signing secret never should).
 */
export function bearerToken(env: Env, name: string): string | undefined {
  const token = text(env, name);
  if (token === undefined) return undefined;
  if (/\s/.test(token)) {
    throw new ConfigurationError(
      name,
      `${name} must not contain whitespace (a line break pasted with it?): it is sent in an Authorization header, where it could never match`,
    );
  }
  if (signingSecrets(env).includes(token)) {
    throw new ConfigurationError(
      name,
      `${name} must differ from every SLUICE_SIGNING_SECRET: a token travels in every request's headers, a signing secret never should`,
    );
  }
  return token;
}

/** `SLUICE_ADMIN_TOKEN`: one bearer token, not the publish token (a publisher must not get admin rights). */
export function adminToken(env: Env): string | undefined {
  const token = bearerToken(env, 'SLUICE_ADMIN_TOKEN');
  if (token === undefined) return undefined;
  if (token === text(env, 'SLUICE_PUBLISH_TOKEN')) {
    throw new ConfigurationError(
      'SLUICE_ADMIN_TOKEN',
      'SLUICE_ADMIN_TOKEN must differ from SLUICE_PUBLISH_TOKEN: whoever may publish must not get the ops endpoints too',
    );
  }
  return token;
}

/** `SLUICE_SIGNING_SECRET`: a comma list (rotation), blanks dropped. */
export function signingSecrets(env: Env): readonly string[] {
  const listed = text(env, 'SLUICE_SIGNING_SECRET');
  if (listed === undefined) return Object.freeze([]);
  const secrets = listed
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (secrets.some((s) => /\s/.test(s))) {
    throw new ConfigurationError(
      'SLUICE_SIGNING_SECRET',
      'SLUICE_SIGNING_SECRET must be a comma list of secrets without whitespace inside (a line break pasted with one?)',
    );
  }
  return Object.freeze(secrets);
}
