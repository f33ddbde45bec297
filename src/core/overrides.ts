/**
 * Per-invocation overrides of a drain: what a schedule's input (a Lambda event, a cron URL's query,
 * a QStash schedule's body) may change for one cycle. Platform-neutral; the adapters read them.
 */
import { InvalidOptionError } from './errors.js';
import { isTopicName, TOPIC_PATTERN } from './keys.js';
import { checkInteger, describeGot } from './validate.js';

/** What a schedule's input may override for one invocation. */
export interface DrainOverrides {
  readonly topic?: string;
  readonly group?: string;
  readonly budgetMs?: number;
}

/** The longest `budgetMs` an override may ask for (15 minutes, the longest any platform runs a function). */
const MAX_OVERRIDE_BUDGET_MS = 900_000;

/**
 * Overrides from a schedule's input (`{ "topic": …, "group": …, "budgetMs": … }`); other fields are
 * ignored, so a plain EventBridge event (`detail-type: Scheduled Event`) overrides nothing. Bad values
 * throw an `InvalidOptionError`; `source` names where the input came from in its message.
 */
export function drainOverrides(input: unknown, source = 'event'): DrainOverrides {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return {};
  const fields = input as Record<string, unknown>;
  const overrides: { topic?: string; group?: string; budgetMs?: number } = {};
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
  if (fields.budgetMs !== undefined) {
    if (checkInteger('budgetMs', fields.budgetMs, 1, MAX_OVERRIDE_BUDGET_MS) !== undefined) {
      throw new InvalidOptionError(
        'budgetMs',
        `Expected ${source} \`budgetMs\` to be an integer from 1 to ${MAX_OVERRIDE_BUDGET_MS}, got ${describeGot(fields.budgetMs)}`,
      );
    }
    overrides.budgetMs = fields.budgetMs as number;
  }
  return overrides;
}

/**
 * Drain options with the overrides applied. A `topic` override replaces a configured `stream` (the
 * drain takes exactly one of the two).
 */
export function applyOverrides<O extends { readonly topic?: string; readonly stream?: string }>(
  options: O,
  overrides: DrainOverrides,
): O {
  const base = overrides.topic !== undefined ? { ...options, stream: undefined } : options;
  return { ...base, ...overrides };
}
