/**
 * The routes of one group's dead letters, under `/ops/topics/{topic}/groups/{group}/`:
 * `GET dead-letters` (a page), `POST redrive` and `POST purge`.
 */
import { GroupNotFoundError } from '../../core/errors.js';
import { checkInteger, describeGot } from '../../core/validate.js';
import { listDeadLetters, type OpsTarget, purgeDeadLetters, redrive, topicStats } from '../../ops/index.js';
import { jsonAnswer, Refusal } from '../answers.js';
import {
  flag,
  groupTarget,
  ids,
  type OpsCall,
  type OpsContext,
  type OpsResponse,
  quoted,
  readBody,
  single,
} from './context.js';

/** Dead letters per page when the query names no `count`. */
const DEFAULT_PAGE_SIZE = 100;

/**
 * 404 unless the topic has the group, or still holds dead letters of it (a group deleted since:
 * its dead letters can still be listed and purged). `deadLetters` is how many there are.
 */
async function requireGroup(
  context: OpsContext,
  topic: OpsTarget,
  group: string,
  deadLetters: number,
): Promise<void> {
  if (deadLetters > 0) return;
  const stats = await topicStats(context.driver, topic);
  if (!stats.groups.some((g) => g.name === group))
    throw new Refusal(404, new GroupNotFoundError(stats.stream, group).message);
}

/** How many dead letters the group has. */
async function remaining(context: OpsContext, topic: OpsTarget, group: string): Promise<number> {
  return (await listDeadLetters(context.driver, topic, group, { count: 1 })).total;
}

/** `?count=`: 1 to `maxPageSize`, by default 100 (or `maxPageSize` when smaller). */
function pageSize(context: OpsContext, query: URLSearchParams): number {
  const { maxPageSize } = context.settings;
  const countText = single(query, 'count');
  if (countText === undefined) return Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  const count = Number(countText);
  if (!/^\d{1,7}$/.test(countText) || count < 1 || count > maxPageSize) {
    throw new Refusal(
      400,
      `\`count\` must be a whole number from 1 to ${maxPageSize}, got ${quoted(countText)}`,
    );
  }
  return count;
}

/** `GET …/dead-letters[?count=&start=&order=newest]`: a page of dead letters. */
export async function deadLettersRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const { topic, group } = groupTarget(context, call);
  const count = pageSize(context, call.query);
  const start = single(call.query, 'start');
  const order = single(call.query, 'order');
  if (order !== undefined && order !== 'oldest' && order !== 'newest')
    throw new Refusal(400, `\`order\` must be oldest or newest, got ${quoted(order)}`);
  const page = await listDeadLetters(context.driver, topic, group, { count, start, order });
  await requireGroup(context, topic, group, page.total);
  return jsonAnswer(200, page);
}

/** `POST …/redrive` with `{ ids?, limit?, dryRun? }`: a `RedriveReport` and what remains. */
export async function redriveRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const { topic, group } = groupTarget(context, call);
  const { maxRedrive } = context.settings;
  const body = readBody(context, call.request, ['ids', 'limit', 'dryRun']);
  const chosen = ids(body.ids, maxRedrive);
  if (body.limit !== undefined && checkInteger('limit', body.limit, 1, maxRedrive) !== undefined) {
    throw new Refusal(
      400,
      `\`limit\` must be a whole number from 1 to ${maxRedrive}, got ${describeGot(body.limit)}`,
    );
  }
  const dryRun = flag(body.dryRun, 'dryRun');
  const report = await redrive(context.driver, topic, group, {
    ids: chosen,
    limit: (body.limit as number | undefined) ?? maxRedrive,
    dryRun,
  });
  if (!dryRun) {
    context.logger.info('ops: redrive', { topic, group, redriven: report.redriven, counts: report.counts });
  }
  return jsonAnswer(200, { ...report, remaining: await remaining(context, topic, group) });
}

/** `POST …/purge` with `{ ids? | all: true, dryRun? }`: a `PurgeReport` and what remains. */
export async function purgeRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const { topic, group } = groupTarget(context, call);
  const body = readBody(context, call.request, ['ids', 'all', 'dryRun']);
  const chosen = ids(body.ids, context.settings.maxRedrive);
  const all = flag(body.all, 'all');
  if (all === (chosen !== undefined))
    throw new Refusal(400, 'give exactly one of `ids` (an array of dead-letter ids) and `all: true`');
  const dryRun = flag(body.dryRun, 'dryRun');
  await requireGroup(context, topic, group, await remaining(context, topic, group));
  const report = await purgeDeadLetters(
    context.driver,
    topic,
    group,
    all ? { all, dryRun } : { ids: chosen, dryRun },
  );
  if (!dryRun) context.logger.info('ops: purge', { topic, group, purged: report.purged });
  return jsonAnswer(200, { ...report, remaining: await remaining(context, topic, group) });
}
