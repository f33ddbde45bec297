/** `GET /ops/stats[?topic=<topic>]`: every configured topic's statistics, or one topic's. */
import { partitionedTopicStats } from '../../ops/index.js';
import { jsonAnswer } from '../answers.js';
import { knownTopic, type OpsCall, type OpsContext, type OpsResponse, single } from './context.js';

export async function statsRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const asked = single(call.query, 'topic');
  const list = asked === undefined ? [...context.topics] : [knownTopic(context, asked)];
  const all = (await Promise.all(list.map((topic) => partitionedTopicStats(context.driver, topic)))).flat();
  return jsonAnswer(200, {
    measuredAt: Math.max(0, ...all.map((s) => s.measuredAt)),
    topics: all,
  });
}
