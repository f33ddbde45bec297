/**
 * What every ops route is given: the endpoint's settings and what one request carries, and the
 * checks the routes share (authentication, topic and group, query and body fields). Every check
 * throws a {@link Refusal} naming what is wrong.
 */
import type { Driver } from '../../core/driver.js';
import { isTopicName, TOPIC_PATTERN } from '../../core/keys.js';
import type { Logger } from '../../core/logger.js';
import type { OpsTarget } from '../../ops/index.js';
import { bodyText, header, isPlainObject, mediaType, notJson, Refusal } from '../answers.js';

export interface OpsRequest {
  readonly method: string;
  /**
   * The URL path as received (`/ops/stats`); whatever comes before the first `/ops` segment (an API
   * Gateway stage, `/api`) is ignored.
   */
  readonly path: string;
  /** The query string, with or without its `?`. */
  readonly query?: string | undefined;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body: text, or bytes (checked to be UTF-8). */
  readonly body?: string | Uint8Array | undefined;
}

export interface OpsResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON text, or the dashboard's HTML. */
  readonly body: string;
}

/** The endpoint's limits, defaults applied and checked. */
export interface OpsSettings {
  readonly maxRedrive: number;
  readonly maxPageSize: number;
  readonly maxBodyBytes: number;
  readonly retryAfterSeconds: number;
  readonly dashboard: boolean;
}

/** The endpoint, built once: what every route reads. */
export interface OpsContext {
  readonly driver: Driver;
  /** The allow-list of topics. */
  readonly topics: ReadonlySet<string>;
  readonly settings: OpsSettings;
  readonly logger: Logger;
  /** Compares a sent `Authorization` header with the admin token; undefined when none is configured. */
  readonly authorized: ((sent: string | undefined) => boolean) | undefined;
}

/** One request, as a route sees it. */
export interface OpsCall {
  readonly request: OpsRequest;
  readonly query: URLSearchParams;
  /** The path segments the route's pattern captured, percent-decoded. */
  readonly params: readonly string[];
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="sluice-ops"' };

/** A name for messages: quoted, at most 120 characters. */
export function quoted(name: string): string {
  return JSON.stringify(name.slice(0, 120));
}

/** 401 unless the request carries the admin bearer token (and one is configured). */
export function authenticate(context: OpsContext, request: OpsRequest): void {
  if (!context.authorized) {
    throw new Refusal(
      401,
      'the ops endpoints are disabled: no admin token is configured (set SLUICE_ADMIN_TOKEN)',
      CHALLENGE,
    );
  }
  if (!context.authorized(header(request.headers, 'authorization')))
    throw new Refusal(401, 'missing or invalid admin bearer token (SLUICE_ADMIN_TOKEN)', CHALLENGE);
}

/** The topic, when the endpoint serves it; else 404. */
export function knownTopic(context: OpsContext, topic: string): string {
  if (!context.topics.has(topic))
    throw new Refusal(
      404,
      `unknown topic ${quoted(topic)}; this endpoint serves ${[...context.topics].join(', ')}`,
    );
  return topic;
}

/** One query parameter, at most once. */
export function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new Refusal(400, `give the \`${name}\` query parameter at most once`);
  return values[0];
}

/** `?partition=<index>`: one partition of a partitioned topic. */
function partitionOf(query: URLSearchParams): number | undefined {
  const text = single(query, 'partition');
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text))
    throw new Refusal(400, `\`partition\` must be a partition index, got ${quoted(text)}`);
  return Number(text);
}

/**
 * The topic (or one partition of it) and the group a `/topics/{topic}/groups/{group}/…` route
 * names: the partition is checked first, then the topic, then the group's name.
 */
export function groupTarget(context: OpsContext, call: OpsCall): { topic: OpsTarget; group: string } {
  const [topicName = '', group = ''] = call.params;
  const partition = partitionOf(call.query);
  const topic: OpsTarget =
    partition === undefined
      ? knownTopic(context, topicName)
      : { topic: knownTopic(context, topicName), partition };
  if (!isTopicName(group))
    throw new Refusal(400, `a group name matches ${TOPIC_PATTERN}, got ${quoted(group)}`);
  return { topic, group };
}

/** The JSON object of a POST body, with only `allowed` fields; no body (or a blank one) is `{}`. */
export function readBody(
  context: OpsContext,
  request: OpsRequest,
  allowed: readonly string[],
): Record<string, unknown> {
  const text = bodyText(request.body, context.settings.maxBodyBytes);
  if (text.trim() === '') return {};
  const contentType = mediaType(request.headers);
  if (contentType !== 'application/json') throw notJson(contentType);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new Refusal(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(body)) throw new Refusal(400, 'body must be a JSON object');
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field))
      throw new Refusal(400, `unknown field ${quoted(field)}; allowed: ${allowed.join(', ')}`);
  }
  return body;
}

/** A body's `ids`: a non-empty array of at most `max` dead-letter ids, or undefined. */
export function ids(value: unknown, max: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((id) => typeof id === 'string'))
    throw new Refusal(400, '`ids` must be a non-empty array of dead-letter ids (strings)');
  if (value.length > max) throw new Refusal(400, `\`ids\` has ${value.length} ids; the limit is ${max}`);
  return value as string[];
}

/** A body's boolean field; absent is false. */
export function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new Refusal(400, `\`${name}\` must be true or false`);
  return value;
}
