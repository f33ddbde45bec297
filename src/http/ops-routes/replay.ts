/**
 * `POST /ops/topics/{topic}/groups/{group}/replay[?partition=]` with `{ from, dryRun? }`: reset the
 * group's position so that it reads the stream again from `from` on (`ops/replay.ts`). `from` is a
 * stream id, an ISO 8601 time, ms since the epoch (a number) or `"$"`; `dryRun: true` counts what
 * would be delivered again and moves nothing.
 */
import { describeGot } from '../../core/validate.js';
import { parseReplayFrom, type ReplayFrom, replay } from '../../ops/index.js';
import { jsonAnswer, Refusal } from '../answers.js';
import { flag, groupTarget, type OpsCall, type OpsContext, type OpsResponse, readBody } from './context.js';

function replayFrom(value: unknown): ReplayFrom {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return new Date(value);
  if (typeof value === 'string') return parseReplayFrom(value);
  throw new Refusal(
    400,
    `\`from\` must be a stream id, an ISO 8601 time, ms since the epoch or "$", got ${describeGot(value)}`,
  );
}

export async function replayRoute(context: OpsContext, call: OpsCall): Promise<OpsResponse> {
  const { topic, group } = groupTarget(context, call);
  const body = readBody(context, call.request, ['from', 'dryRun']);
  const from = replayFrom(body.from);
  const dryRun = flag(body.dryRun, 'dryRun');
  const report = await replay(context.driver, topic, group, from, { dryRun });
  if (!dryRun) {
    context.logger.info('ops: replay', {
      topic,
      group,
      from: report.from,
      previousLastDeliveredId: report.previousLastDeliveredId,
      entries: report.entries,
    });
  }
  return jsonAnswer(200, report);
}
