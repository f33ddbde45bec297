/**
 * Per-invocation overrides of a drain: what a schedule's input (a Lambda event, a cron URL's query,
 * a QStash schedule's body) may change for one cycle. Platform-neutral; the adapters read them.
 */
import { InvalidOptionError } from '../core/errors.js';
import { isTopicName, TOPIC_PATTERN } from '../core/keys.js';
import { checkInteger, describeGot } from '../core/validate.js';
import { wakePayloadOf } from '../core/waker.js';

/** What a schedule's input may override for one invocation. */
export interface DrainOverrides {
  readonly topic?: string;
  readonly group?: string;
  readonly budgetMs?: number;
  /** End this cycle once nothing has arrived for this long; 0: as soon as it is caught up (a one-off drain). */
  readonly idleExitMs?: number;
  /** The partitions to serve this time (a share of a partitioned topic), e.g. one schedule per share. */
  readonly assignedPartitions?: readonly number[];
  /** A woken drain's id (event-driven draining): it was counted among the group's drains when it was woken. */
  readonly drainId?: string;
}

/** The longest `budgetMs` an override may ask for (15 minutes, the longest any platform runs a function). */
const MAX_OVERRIDE_BUDGET_MS = 900_000;

/**
 * Overrides from a schedule's input (`{ "topic": …, "group": …, "budgetMs": …, "idleExitMs": 0, "assignedPartitions": [0, 1] }`); other fields are
 * ignored, so a plain EventBridge event (`detail-type: Scheduled Event`) overrides nothing. Bad values
 * throw an `InvalidOptionError`; `source` names where the input came from in its message.
 */
export function drainOverrides(input: unknown, source = 'event'): DrainOverrides {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return {};
  if ((input as { sluice?: unknown }).sluice === 'wake') return wakeOverrides(input, source);
  const fields = input as Record<string, unknown>;
  const overrides: {
    topic?: string;
    group?: string;
    budgetMs?: number;
    idleExitMs?: number;
    assignedPartitions?: number[];
  } = {};
  for (const name of ['topic', 'group'] as const) {
    const value = fields[name];
    if (value === undefined) continue;
    if (!isTopicName(value)) {
      throw new InvalidOptionError(
        name,
        `Expected ${source} \`${name}\` to match ${TOPIC_PATTERN}, got ${describeGot(value)}`,
      );
    }
    overrides[name] = value;
  }
  for (const [name, min] of [
    ['budgetMs', 1],
    ['idleExitMs', 0],
  ] as const) {
    const value = fields[name];
    if (value === undefined) continue;
    if (checkInteger(name, value, min, MAX_OVERRIDE_BUDGET_MS) !== undefined) {
      throw new InvalidOptionError(
        name,
        `Expected ${source} \`${name}\` to be an integer from ${min} to ${MAX_OVERRIDE_BUDGET_MS}, got ${describeGot(value)}`,
      );
    }
    overrides[name] = value as number;
  }
  if (fields.assignedPartitions !== undefined) {
    // An array of indexes, or (from a query string) a comma list of them.
    const value = fields.assignedPartitions;
    const list =
      typeof value === 'string'
        ? value.split(',').map((item) => (/^\s*\d{1,4}\s*$/.test(item) ? Number(item) : item))
        : value;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((index) => checkInteger('index', index, 0, 1_023) !== undefined)
    ) {
      throw new InvalidOptionError(
        'assignedPartitions',
        `Expected ${source} \`assignedPartitions\` to be partition indexes (0 to 1023), as an array or a comma list, got ${describeGot(value)}`,
      );
    }
    overrides.assignedPartitions = list as number[];
  }
  return overrides;
}

/**
 * Overrides from a wake payload (`{ "sluice": "wake", topic, group, partition?, drainId, reason }`,
 * what a publish or a drain sends to start a drain): the topic, group and partition to drain, and
 * the id to run under. A malformed one throws an `InvalidOptionError`.
 */
function wakeOverrides(input: object, source: string): DrainOverrides {
  const payload = wakePayloadOf(input);
  if (payload === undefined) {
    throw new InvalidOptionError(
      'wake',
      `Expected ${source} to be a wake payload { sluice: "wake", topic, group, partition?, drainId, reason }, got ${JSON.stringify(input).slice(0, 200)}`,
    );
  }
  const { topic, group, partition, drainId } = payload;
  return {
    ...drainOverrides(
      { topic, group, ...(partition === undefined ? {} : { assignedPartitions: [partition] }) },
      source,
    ),
    drainId,
  };
}

/**
 * Which topics and groups a schedule's input may name: the drain's own `topic` and `group`, and
 * those listed here. Anything else is refused before the drain runs, so a holder of the schedule's
 * secret cannot create streams and consumer groups at will (a stray group holds back trimming).
 */
export interface OverrideAllowList {
  /**
   * Topics an override's `topic` may name besides the configured `topic` (e.g. the app's
   * `SLUICE_TOPICS`).
   * @default [] (only the configured topic)
   */
  readonly allowedTopics?: readonly string[] | undefined;
  /**
   * Consumer groups an override's `group` may name besides the configured `group`.
   * @default [] (only the configured group)
   */
  readonly allowedGroups?: readonly string[] | undefined;
}

/** An override names a topic or group the drain is not configured to serve (answered 403 over HTTP). */
export class OverrideNotAllowedError extends InvalidOptionError {
  override name = 'OverrideNotAllowedError';
}

function allowedNames(option: string, configured: string | undefined, listed: unknown): readonly string[] {
  if (listed !== undefined && (!Array.isArray(listed) || !listed.every((name) => isTopicName(name)))) {
    throw new InvalidOptionError(
      option,
      `Expected \`${option}\` to be an array of names matching ${TOPIC_PATTERN}, got ${describeGot(listed)}`,
    );
  }
  return [...new Set([...(configured === undefined ? [] : [configured]), ...((listed as string[]) ?? [])])];
}

/**
 * Checks the allow lists of `options` (at cold start) and returns the check of each invocation's
 * overrides: it throws an {@link OverrideNotAllowedError} naming the allowed values when a `topic`
 * or `group` override is not among them. `source` names where the overrides came from.
 */
export function overrideGuard(
  options: OverrideAllowList & { readonly topic?: string | undefined; readonly group: string },
): (overrides: DrainOverrides, source: string) => void {
  const allowed = {
    topic: allowedNames('allowedTopics', options.topic, options.allowedTopics),
    group: allowedNames('allowedGroups', options.group, options.allowedGroups),
  };
  return (overrides, source) => {
    for (const name of ['topic', 'group'] as const) {
      const value = overrides[name];
      if (value === undefined || allowed[name].includes(value)) continue;
      const option = name === 'topic' ? 'allowedTopics' : 'allowedGroups';
      throw new OverrideNotAllowedError(
        name,
        `${source} \`${name}\` ${JSON.stringify(value)} is not one this drain may serve; allowed: ${allowed[name].join(', ') || 'none'} (option ${option})`,
      );
    }
  };
}
