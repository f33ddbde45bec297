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
 * | GET | `/ops/stats[?topic=<topic>][&history=1]` | `{ measuredAt, topics: TopicStats[] }`, every configured topic when none is named; `history=1` adds each group's `rates`, `history`, `drains` |
 * | GET | `/ops/history[?topic=<topic>&group=<group>]` | `{ measuredAt, topics: TopicHistory[] }`: per group, rates, the last 24 hours by minute, the drains |
 * | GET | `/ops/rates[?topic=<topic>&group=<group>]` | the same without the per-minute series: rates, drains running, the last drain |
 * | GET | `/ops/topics/{topic}/groups/{group}/dead-letters[?count=&start=&order=newest]` | a `DeadLetterPage`, oldest first (or newest) |
 * | POST | `/ops/topics/{topic}/groups/{group}/redrive` | body `{ ids?, limit?, dryRun? }` → `RedriveReport` + `remaining` |
 * | POST | `/ops/topics/{topic}/groups/{group}/purge` | body `{ ids? \| all: true, dryRun? }` → `PurgeReport` + `remaining` |
 * | POST | `/ops/topics/{topic}/groups/{group}/replay` | body `{ from, dryRun? }` (`from`: stream id, ISO time, ms, or `"$"`) → `ReplayReport` |
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
import { isTopicName } from '../core/keys.js';
import { jsonLogger, type Logger } from '../core/logger.js';
import { checkInteger, describeGot } from '../core/validate.js';
import { failureAnswer, jsonAnswer, Refusal } from './answers.js';
import { bearerCheck } from './bearer.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from './dashboard.js';
import {
  authenticate,
  type OpsCall,
  type OpsContext,
  type OpsRequest,
  type OpsResponse,
  type OpsSettings,
  quoted,
} from './ops-routes/context.js';
import { deadLettersRoute, purgeRoute, redriveRoute } from './ops-routes/dead-letters.js';
import { historyRoute, ratesRoute } from './ops-routes/history.js';
import { replayRoute } from './ops-routes/replay.js';
import { statsRoute } from './ops-routes/stats.js';

export type { OpsRequest, OpsResponse } from './ops-routes/context.js';

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

/** One route: the path after `/ops` it answers, its method, and what serves it. */
interface OpsRoute {
  /** Matched against what follows `/ops`; its groups are the route's path parameters. */
  readonly path: RegExp;
  readonly method: 'GET' | 'POST';
  /** Served without the admin token (the dashboard page, which asks for it). */
  readonly open?: true;
  /** Refuses the route when the endpoint is configured without it (404, before the method is judged). */
  readonly unless?: (settings: OpsSettings) => Refusal | undefined;
  readonly serve: (context: OpsContext, call: OpsCall) => Promise<OpsResponse> | OpsResponse;
}

/** The ops routes, tried in order. */
const OPS_ROUTES: readonly OpsRoute[] = [
  {
    path: /^(?:\/(?:dashboard\/?)?)?$/,
    method: 'GET',
    open: true,
    unless: (settings) =>
      settings.dashboard ? undefined : new Refusal(404, 'the dashboard is not served here'),
    serve: () => ({ status: 200, headers: { ...DASHBOARD_HEADERS }, body: DASHBOARD_HTML }),
  },
  { path: /^\/stats\/?$/, method: 'GET', serve: statsRoute },
  { path: /^\/history\/?$/, method: 'GET', serve: historyRoute },
  { path: /^\/rates\/?$/, method: 'GET', serve: ratesRoute },
  { path: /^\/topics\/([^/]+)\/groups\/([^/]+)\/dead-letters\/?$/, method: 'GET', serve: deadLettersRoute },
  { path: /^\/topics\/([^/]+)\/groups\/([^/]+)\/redrive\/?$/, method: 'POST', serve: redriveRoute },
  { path: /^\/topics\/([^/]+)\/groups\/([^/]+)\/purge\/?$/, method: 'POST', serve: purgeRoute },
  { path: /^\/topics\/([^/]+)\/groups\/([^/]+)\/replay\/?$/, method: 'POST', serve: replayRoute },
];

/** `/ops` and what follows it, under any prefix. The lazy prefix makes the first `/ops` segment the one. */
const OPS_PATH = /^(?:\/[^/]+)*?\/ops(\/.*)?$/;

/** A path segment, percent-decoded; malformed escapes are kept as they are (no topic has that name). */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The route a path names, and its decoded parameters; 404 when none does. */
function findRoute(path: string): { route: OpsRoute; params: string[] } {
  const found = OPS_PATH.exec(path.split('?', 1)[0] ?? '');
  if (!found) throw new Refusal(404, `no such route: ${quoted(path)}; the ops routes are under /ops`);
  const rest = found[1] ?? '';
  for (const route of OPS_ROUTES) {
    const match = route.path.exec(rest);
    if (match) return { route, params: match.slice(1).map((raw) => segment(raw ?? '')) };
  }
  throw new Refusal(
    404,
    `no such route: ${quoted(path)}; try GET /ops/stats, GET /ops/history, GET /ops/rates, GET /ops/topics/{topic}/groups/{group}/dead-letters, POST …/redrive, POST …/purge or POST …/replay`,
  );
}

/** The endpoint's settings: defaults applied, every option checked (InvalidOptionError). */
function checkedContext(options: OpsEndpointOptions): OpsContext {
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
  return {
    driver: options.driver,
    topics: new Set(options.topics),
    settings,
    logger: options.logger ?? jsonLogger(),
    authorized: options.token ? bearerCheck(options.token) : undefined,
  };
}

/** Routes a request: 404 unknown route, 405 wrong method, 401 without the token, then the route. */
async function dispatch(context: OpsContext, request: OpsRequest): Promise<OpsResponse> {
  const { route, params } = findRoute(request.path);
  const refusal = route.unless?.(context.settings);
  if (refusal) throw refusal;
  if (request.method.toUpperCase() !== route.method)
    throw new Refusal(405, `method ${request.method} is not allowed here; use ${route.method}`, {
      allow: route.method,
    });
  if (!route.open) authenticate(context, request);
  return await route.serve(context, { request, query: new URLSearchParams(request.query ?? ''), params });
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
  const context = checkedContext(options);
  return async function handleOps(request: OpsRequest): Promise<OpsResponse> {
    try {
      return await dispatch(context, request);
    } catch (error) {
      if (error instanceof Refusal) return jsonAnswer(error.status, { error: error.message }, error.headers);
      if (error instanceof InvalidOptionError) return jsonAnswer(400, { error: error.message });
      if (error instanceof GroupNotFoundError) return jsonAnswer(404, { error: error.message });
      return failureAnswer(error, 'ops request', context.settings.retryAfterSeconds, context.logger);
    }
  };
}
