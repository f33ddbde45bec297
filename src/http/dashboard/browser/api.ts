/** The ops endpoint's API, with the tab's admin token; a 401 is an {@link AuthError}. */
import { base, TOKEN_KEY } from './settings.js';

/** The token is missing or refused: the page signs out and asks again. */
export class AuthError extends Error {}

/** JSON from `<base><route>`; a refusal throws the endpoint's message. */
export async function api<T>(route: string, init?: RequestInit): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new AuthError('Enter the admin token.');
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (init?.body) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(base + route, { ...init, headers, cache: 'no-store' });
  } catch (error) {
    throw new Error(`the ops endpoint cannot be reached (${(error as Error).message})`);
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {}
  const error = (body as { error?: unknown } | null)?.error;
  const message = typeof error === 'string' ? error : `HTTP ${response.status}`;
  if (response.status === 401) throw new AuthError(message);
  if (!response.ok) throw new Error(message);
  return body as T;
}
