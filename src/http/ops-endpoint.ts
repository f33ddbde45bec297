/**
 * The HTTP operations endpoint, independent of any platform: statistics, dead letters and redrive
 * for the topics of an allow-list, and the dashboard page that shows them. Platform adapters (Lambda)
 * translate their request into {@link OpsRequest} and the {@link OpsResponse} back.
 *
 * Routes (under any prefix: `/ops/…`, `/dev/ops/…`, `/api/ops/…`):
 *
 * | method | path | answer |
 * |---|---|---|
 * | GET | `/ops`, `/ops/`, `/ops/dashboard` | the dashboard page (HTML; no token needed to load it) |
 * | GET | `/ops/stats[?topic=<topic>]` | `{ measuredAt, topics: TopicStats[] }`, every configured topic when none is named |
 * | GET | `/ops/topics/{topic}/groups/{group}/dead-letters[?count=&start=&order=newest]` | a `DeadLetterPage`, oldest first (or newest) |
 * | POST | `/ops/topics/{topic}/groups/{group}/redrive` | body `{ ids?, limit?, dryRun? }` → `RedriveReport` + `remaining` |
 * | POST | `/ops/topics/{topic}/groups/{group}/purge` | body `{ ids? \| all: true, dryRun? }` → `PurgeReport` + `remaining` |
 *
 * Authentication: every route but the page needs `Authorization: Bearer <admin token>`, compared in
 * constant time. With no token configured every such request is refused (401), naming the variable
 * (`SLUICE_ADMIN_TOKEN`). The page asks for the token and keeps it in the tab's `sessionStorage`;
 * it never travels in a URL.
 *
 * Statuses: 200 · 400 malformed (query, body, id, group name) · 401 unauthenticated (or no admin
 * token configured) · 404 unknown route, topic outside the allow-list, or group the topic does not
 * have · 405 wrong method (with `Allow`) · 413 body too large · 415 body not JSON · 500 Redis refused
 * the credentials (a configuration error: no `Retry-After`) · 503 Redis unavailable (with `Retry-After`). Errors are JSON: `{ "error": "<what is wrong>" }`.
 */

import type { Driver } from '../core/driver.js';
import { GroupNotFoundError, InvalidOptionError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { checkInteger, describeGot } from '../core/validate.js';
import {
  listDeadLetters,
  type OpsTarget,
  partitionedTopicStats,
  purgeDeadLetters,
  redrive,
  topicStats,
} from '../ops/index.js';
import { bodyText, failureAnswer, header, isPlainObject, jsonAnswer, Refusal } from './answers.js';
import { bearerCheck } from './bearer.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from './dashboard.js';

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

export interface OpsEndpointOptions {
  readonly driver: Driver;
  /** Topics the endpoint shows and repairs; others get 404. */
  readonly topics: readonly string[];
  /**
   * The admin bearer token (`SLUICE_ADMIN_TOKEN`). Undefined or empty: every request but the page is
   * refused (401). Keep it different from the publish token.
   */
  readonly token: string | undefined;
  /**
   * Most dead letters one redrive request handles (its `limit` defaults to this, and may not exceed
   * it): a request stays well inside a function's timeout. Repeat the request for more.
   * @default 1000
   */
  readonly maxRedrive?: number;
  /**
   * Largest `count` of a dead-letter page.
   * @default 1000
   */
  readonly maxPageSize?: number;
  /**
   * Largest request body.
   * @default 65536
   */
  readonly maxBodyBytes?: number;
  /**
   * Seconds a 503 asks the caller to wait (Retry-After).
   * @default 1
   */
  readonly retryAfterSeconds?: number;
  /**
   * Serve the dashboard page at `/ops`, `/ops/` and `/ops/dashboard`; false answers those 404.
   * @default true
   */
  readonly dashboard?: boolean;
  readonly logger?: Logger;
}

export const OPS_ENDPOINT_DEFAULTS = Object.freeze({
  maxRedrive: 1_000,
  maxPageSize: 1_000,
  maxBodyBytes: 65_536,
  retryAfterSeconds: 1,
  dashboard: true,
});

/** Dead letters per page when the query names no `count`. */
const DEFAULT_PAGE_SIZE = 100;

/** `/ops` and what follows it, under any prefix. The lazy prefix makes the first `/ops` segment the one. */
const OPS_PATH = /^(?:\/[^/]+)*?\/ops(\/.*)?$/;
const GROUP_ROUTE = /^\/topics\/([^/]+)\/groups\/([^/]+)\/(dead-letters|redrive|purge)\/?$/;

type Route =
  | { readonly kind: 'dashboard' }
  | { readonly kind: 'stats' }
  | {
      readonly kind: 'dead-letters' | 'redrive' | 'purge';
      readonly topic: string;
      readonly group: string;
    };

const ROUTE_METHOD: Readonly<Record<Route['kind'], string>> = {
  dashboard: 'GET',
  stats: 'GET',
  'dead-letters': 'GET',
  redrive: 'POST',
  purge: 'POST',
};

const json = jsonAnswer;

/** A path segment, percent-decoded; malformed escapes are kept as they are (no topic has that name). */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** A name for messages: quoted, at most 120 characters. */
function quoted(name: string): string {
  return JSON.stringify(name.slice(0, 120));
}

function route(path: string, dashboard: boolean): Route {
  const found = OPS_PATH.exec(path.split('?', 1)[0] ?? '');
  if (!found) throw new Refusal(404, `no such route: ${quoted(path)}; the ops routes are under /ops`);
  const rest = found[1] ?? '';
  if (rest === '' || rest === '/' || rest === '/dashboard' || rest === '/dashboard/') {
    if (!dashboard) throw new Refusal(404, 'the dashboard is not served here');
    return { kind: 'dashboard' };
  }
  if (rest === '/stats' || rest === '/stats/') return { kind: 'stats' };
  const match = GROUP_ROUTE.exec(rest);
  if (match) {
    return {
      kind: match[3] as 'dead-letters' | 'redrive' | 'purge',
      topic: segment(match[1] as string),
      group: segment(match[2] as string),
    };
  }
  throw new Refusal(
    404,
    `no such route: ${quoted(path)}; try GET /ops/stats, GET /ops/topics/{topic}/groups/{group}/dead-letters, POST …/redrive or POST …/purge`,
  );
}

/** One query parameter, at most once. */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new Refusal(400, `give the \`${name}\` query parameter at most once`);
  return values[0];
}

/**
 * Builds the ops endpoint. Validates its options at once (cold start), so a misconfigured function
 * fails to start instead of failing requests.
 *
 * @example
 * ```ts
 * const ops = createOpsEndpoint({ driver, topics: ['orders'], token: process.env.SLUICE_ADMIN_TOKEN });
 * const response = await ops({ method: 'GET', path: '/ops/stats', headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export function createOpsEndpoint(
  options: OpsEndpointOptions,
): (request: OpsRequest) => Promise<OpsResponse> {
  const settings = { ...OPS_ENDPOINT_DEFAULTS, ...options };
  for (const name of ['maxRedrive', 'maxPageSize', 'maxBodyBytes', 'retryAfterSeconds'] as const) {
    const problem = checkInteger(name, settings[name], 1);
    if (problem) throw new InvalidOptionError(name, problem);
  }
  if (!Array.isArray(options.topics) || !options.topics.every(isTopicName))
    throw new InvalidOptionError('topics', 'Expected `topics` to be an array of topic names');
  if (options.token !== undefined && typeof options.token !== 'string')
    throw new InvalidOptionError(
      'token',
      `Expected \`token\` to be a string, got ${describeGot(options.token)}`,
    );
  const { driver } = options;
  const topics = new Set(options.topics);
  const authorized = options.token ? bearerCheck(options.token) : undefined;
  const logger = options.logger ?? jsonLogger();
  const challenge = { 'www-authenticate': 'Bearer realm="sluice-ops"' };

  function authenticate(request: OpsRequest): void {
    if (!authorized) {
      throw new Refusal(
        401,
        'the ops endpoints are disabled: no admin token is configured (set SLUICE_ADMIN_TOKEN)',
        challenge,
      );
    }
    if (!authorized(header(request.headers, 'authorization')))
      throw new Refusal(401, 'missing or invalid admin bearer token (SLUICE_ADMIN_TOKEN)', challenge);
  }

  function knownTopic(topic: string): string {
    if (!topics.has(topic))
      throw new Refusal(
        404,
        `unknown topic ${quoted(topic)}; this endpoint serves ${[...topics].join(', ')}`,
      );
    return topic;
  }

  /** The JSON object of a POST body; no body (or a blank one) is `{}`. */
  function readBody(request: OpsRequest, allowed: readonly string[]): Record<string, unknown> {
    const text = bodyText(request.body, settings.maxBodyBytes);
    if (text.trim() === '') return {};
    const contentType =
      (header(request.headers, 'content-type') ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (contentType !== 'application/json') {
      throw new Refusal(
        415,
        `expected Content-Type: application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`,
      );
    }
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

  function ids(value: unknown, max: number): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length === 0 || !value.every((id) => typeof id === 'string'))
      throw new Refusal(400, '`ids` must be a non-empty array of dead-letter ids (strings)');
    if (value.length > max) throw new Refusal(400, `\`ids\` has ${value.length} ids; the limit is ${max}`);
    return value as string[];
  }

  /** `?partition=<index>`: one partition of a partitioned topic. */
  function partitionOf(query: URLSearchParams): number | undefined {
    const text = single(query, 'partition');
    if (text === undefined) return undefined;
    if (!/^\d{1,4}$/.test(text))
      throw new Refusal(400, `\`partition\` must be a partition index, got ${quoted(text)}`);
    return Number(text);
  }

  function flag(value: unknown, name: string): boolean {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') throw new Refusal(400, `\`${name}\` must be true or false`);
    return value;
  }

  /**
   * 404 unless the topic has the group, or still holds dead letters of it (a group deleted since:
   * its dead letters can still be listed and purged). `deadLetters` is how many there are.
   */
  async function requireGroup(topic: OpsTarget, group: string, deadLetters: number): Promise<void> {
    if (deadLetters > 0) return;
    const stats = await topicStats(driver, topic);
    if (!stats.groups.some((g) => g.name === group))
      throw new Refusal(404, new GroupNotFoundError(stats.stream, group).message);
  }

  async function remaining(topic: OpsTarget, group: string): Promise<number> {
    return (await listDeadLetters(driver, topic, group, { count: 1 })).total;
  }

  async function stats(query: URLSearchParams): Promise<OpsResponse> {
    const asked = single(query, 'topic');
    const list = asked === undefined ? [...topics] : [knownTopic(asked)];
    const all = (await Promise.all(list.map((topic) => partitionedTopicStats(driver, topic)))).flat();
    return json(200, {
      measuredAt: Math.max(0, ...all.map((s) => s.measuredAt)),
      topics: all,
    });
  }

  async function deadLetters(topic: OpsTarget, group: string, query: URLSearchParams): Promise<OpsResponse> {
    const countText = single(query, 'count');
    const count =
      countText === undefined ? Math.min(DEFAULT_PAGE_SIZE, settings.maxPageSize) : Number(countText);
    if (
      countText !== undefined &&
      (!/^\d{1,7}$/.test(countText) || count < 1 || count > settings.maxPageSize)
    ) {
      throw new Refusal(
        400,
        `\`count\` must be a whole number from 1 to ${settings.maxPageSize}, got ${quoted(countText)}`,
      );
    }
    const start = single(query, 'start');
    const order = single(query, 'order');
    if (order !== undefined && order !== 'oldest' && order !== 'newest')
      throw new Refusal(400, `\`order\` must be oldest or newest, got ${quoted(order)}`);
    const page = await listDeadLetters(driver, topic, group, { count, start, order });
    await requireGroup(topic, group, page.total);
    return json(200, page);
  }

  async function redriveRoute(topic: OpsTarget, group: string, request: OpsRequest): Promise<OpsResponse> {
    const body = readBody(request, ['ids', 'limit', 'dryRun']);
    const chosen = ids(body.ids, settings.maxRedrive);
    if (body.limit !== undefined && checkInteger('limit', body.limit, 1, settings.maxRedrive) !== undefined) {
      throw new Refusal(
        400,
        `\`limit\` must be a whole number from 1 to ${settings.maxRedrive}, got ${describeGot(body.limit)}`,
      );
    }
    const dryRun = flag(body.dryRun, 'dryRun');
    const report = await redrive(driver, topic, group, {
      ids: chosen,
      limit: (body.limit as number | undefined) ?? settings.maxRedrive,
      dryRun,
    });
    if (!dryRun) {
      logger.info('ops: redrive', { topic, group, redriven: report.redriven, counts: report.counts });
    }
    return json(200, { ...report, remaining: await remaining(topic, group) });
  }

  async function purgeRoute(topic: OpsTarget, group: string, request: OpsRequest): Promise<OpsResponse> {
    const body = readBody(request, ['ids', 'all', 'dryRun']);
    const chosen = ids(body.ids, settings.maxRedrive);
    const all = flag(body.all, 'all');
    if (all === (chosen !== undefined))
      throw new Refusal(400, 'give exactly one of `ids` (an array of dead-letter ids) and `all: true`');
    const dryRun = flag(body.dryRun, 'dryRun');
    await requireGroup(topic, group, await remaining(topic, group));
    const report = await purgeDeadLetters(
      driver,
      topic,
      group,
      all ? { all, dryRun } : { ids: chosen, dryRun },
    );
    if (!dryRun) logger.info('ops: purge', { topic, group, purged: report.purged });
    return json(200, { ...report, remaining: await remaining(topic, group) });
  }

  return async function handleOps(request: OpsRequest): Promise<OpsResponse> {
    try {
      const target = route(request.path, settings.dashboard);
      const method = request.method.toUpperCase();
      const allowed = ROUTE_METHOD[target.kind];
      if (method !== allowed)
        throw new Refusal(405, `method ${request.method} is not allowed here; use ${allowed}`, {
          allow: allowed,
        });
      if (target.kind === 'dashboard') {
        return { status: 200, headers: { ...DASHBOARD_HEADERS }, body: DASHBOARD_HTML };
      }
      authenticate(request);
      const query = new URLSearchParams(request.query ?? '');
      if (target.kind === 'stats') return await stats(query);
      const partition = partitionOf(query);
      const topic: OpsTarget =
        partition === undefined ? knownTopic(target.topic) : { topic: knownTopic(target.topic), partition };
      if (!isTopicName(target.group))
        throw new Refusal(400, `a group name matches ${TOPIC_PATTERN}, got ${quoted(target.group)}`);
      if (target.kind === 'dead-letters') return await deadLetters(topic, target.group, query);
      if (target.kind === 'redrive') return await redriveRoute(topic, target.group, request);
      return await purgeRoute(topic, target.group, request);
    } catch (error) {
      if (error instanceof Refusal) return json(error.status, { error: error.message }, error.headers);
      if (error instanceof InvalidOptionError) return json(400, { error: error.message });
      if (error instanceof GroupNotFoundError) return json(404, { error: error.message });
      return failureAnswer(error, 'ops request', settings.retryAfterSeconds, logger);
    }
  };
}
