/**
 * The drain history routes: `GET /ops/history[?topic=&group=]` (rates, the per-minute series of
 * the last 24 hours and the drains, per group) and `GET /ops/rates[?topic=&group=]` (the same
 * without the series: what a live view polls).
 */
import { isTopicName, TOPIC_PATTERN } from '../../core/keys.js';
import { type TopicHistory, topicHistory } from '../../ops/index.js';
import { jsonAnswer, Refusal } from '../answers.js';
import { knownTopic, type OpsCall, type OpsContext, type OpsResponse, quoted, single } from './context.js';

/** Every configured topic's history (or `?topic=`'s), of every group (or `?group=`'s). */
async function histories(context: OpsContext, call: OpsCall): Promise<TopicHistory[]> {
  const asked = single(call.query, 'topic');
  const group = single(call.query, 'group');
  if (group !== undefined && !isTopicName(group))
    throw new Refusal(400, `a group name matches ${TOPIC_PATTERN}, got ${quoted(group)}`);
  const list = asked === undefined ? [...context.topics] : [knownTopic(context, asked)];
  return Promise.all(
    list.map((topic) => topicHistory(context.driver, topic, group === undefined ? {} : { group })),
  );
}

/** `GET /ops/history`: `{ measuredAt, topics: TopicHistory[] }`. */
export async function historyRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const topics = await histories(context, call);
  return jsonAnswer(200, { measuredAt: Math.max(0, ...topics.map((t) => t.measuredAt)), topics });
}

/** `GET /ops/rates`: per topic and group, `rates` and `drains` (`running`, `last`). */
export async function ratesRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const topics = await histories(context, call);
  return jsonAnswer(200, {
    measuredAt: Math.max(0, ...topics.map((t) => t.measuredAt)),
    topics: topics.map((t) => ({
      topic: t.topic,
      stream: t.stream,
      measuredAt: t.measuredAt,
      groups: t.groups.map((g) => ({
        group: g.group,
        rates: g.rates,
        drains: { running: g.drains.running, last: g.drains.last },
      })),
    })),
  });
}
