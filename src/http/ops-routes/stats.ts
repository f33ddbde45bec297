/**
 * `GET /ops/stats[?topic=<topic>][&history=1]`: every configured topic's statistics, or one
 * topic's; with `history=1`, each group's drain history too (`rates`, `history`, `drains`).
 */
import { partitionedTopicStats } from '../../ops/index.js';
import { jsonAnswer, Refusal } from '../answers.js';
import { knownTopic, type OpsCall, type OpsContext, type OpsResponse, quoted, single } from './context.js';

export async function statsRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const asked = single(call.query, 'topic');
  const historyFlag = single(call.query, 'history');
  if (historyFlag !== undefined && historyFlag !== '1' && historyFlag !== '0')
    throw new Refusal(400, `\`history\` must be 1 or 0, got ${quoted(historyFlag)}`);
  const options = { history: historyFlag === '1' };
  const list = asked === undefined ? [...context.topics] : [knownTopic(context, asked)];
  const all = (
    await Promise.all(list.map((topic) => partitionedTopicStats(context.driver, topic, options)))
  ).flat();
  return jsonAnswer(200, {
    measuredAt: Math.max(0, ...all.map((s) => s.measuredAt)),
    topics: all,
  });
}
