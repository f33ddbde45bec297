/**
 * Topic schemas: the Standard Schema interface (https://standardschema.dev, version 1) that zod,
 * valibot, arktype and others implement — declared here, so that sluice depends on none of them —
 * and the one way sluice runs one: a value in, its output or the issues out.
 */
import { InvalidMessageError, InvalidOptionError } from './errors.js';

/** A Standard Schema (version 1): any validator whose `~standard` property follows the spec. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaProps<Input, Output>;
}

/** The `~standard` property of a {@link StandardSchemaV1}. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  readonly version: 1;
  /** The library that made the schema (`zod`, `valibot`, …). */
  readonly vendor: string;
  /** Validates an unknown value: its output, or the issues. May be asynchronous. */
  readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  /** The input and output types, for inference only (never present at run time). */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** What `validate` returns: the (possibly transformed) value, or the issues. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardSchemaIssue[] };

/** One problem a schema found. */
export interface StandardSchemaIssue {
  readonly message: string;
  /** Where in the value: keys and indexes, or segments holding them as `{ key }`. */
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** The type a schema accepts (what is published). */
export type InferSchemaInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];

/** The type a schema produces (what a handler receives as `message.data`). */
export type InferSchemaOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** One validation issue as sluice reports it: a plain path (keys and indexes) and a message. */
export interface SchemaIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * A message whose `data` failed its topic's schema: nothing was written. `issues` says where and
 * why; in a batch each path starts with the message's index (`[3, 'data', 'amount']`), else with
 * `'data'`.
 */
export class MessageSchemaError extends InvalidMessageError {
  override name = 'MessageSchemaError';
  constructor(readonly issues: readonly SchemaIssue[]) {
    super(`the message does not match the topic's schema: ${describeIssues(issues)}`);
  }
}

/** Issues as one line: `data.amount: Expected number; data.currency: Required`. */
export function describeIssues(issues: readonly SchemaIssue[]): string {
  return issues
    .map(({ path, message }) => (path.length === 0 ? message : `${path.join('.')}: ${message}`))
    .join('; ');
}

/** Checks a `schema` option: undefined, or an object with a version 1 `~standard` property. */
export function schemaOption<S extends StandardSchemaV1>(name: string, value: S | undefined): S | undefined {
  if (value === undefined) return undefined;
  const props =
    (typeof value === 'object' || typeof value === 'function') && value !== null
      ? (value as { '~standard'?: Partial<StandardSchemaProps> })['~standard']
      : undefined;
  if (props?.version !== 1 || typeof props.validate !== 'function')
    throw new InvalidOptionError(
      name,
      `Expected \`${name}\` to be a Standard Schema (version 1: a \`~standard\` property with \`validate\`), as zod, valibot or arktype make`,
    );
  return value;
}

/** A validation's outcome: the schema's output, or the issues with plain paths under `prefix`. */
export type Checked<T> = { readonly value: T } | { readonly issues: readonly SchemaIssue[] };

/**
 * Runs `schema` on `value`: synchronously when the schema does (no promise, no await), else a
 * promise. A schema that throws is reported as one issue (its message), never thrown on.
 */
export function checkValue<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  prefix: readonly (string | number)[] = [],
): Checked<T> | Promise<Checked<T>> {
  let result: StandardSchemaResult<T> | Promise<StandardSchemaResult<T>>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    return thrown(error, prefix);
  }
  if (typeof (result as { then?: unknown }).then === 'function')
    return Promise.resolve(result).then(
      (r) => checked(r, prefix),
      (error: unknown) => thrown(error, prefix),
    );
  return checked(result as StandardSchemaResult<T>, prefix);
}

function checked<T>(result: StandardSchemaResult<T>, prefix: readonly (string | number)[]): Checked<T> {
  if (result.issues === undefined) return { value: (result as { value: T }).value };
  const issues = result.issues.map(({ message, path }) => ({
    path: [...prefix, ...(path ?? []).map(plainSegment)],
    message: String(message),
  }));
  // A failure without issues is still a failure: say so rather than pass the value.
  return { issues: issues.length > 0 ? issues : [{ path: [...prefix], message: 'invalid' }] };
}

function thrown(error: unknown, prefix: readonly (string | number)[]): Checked<never> {
  const message = error instanceof Error ? error.message : String(error);
  return { issues: [{ path: [...prefix], message: `the schema threw: ${message}` }] };
}

function plainSegment(segment: PropertyKey | { readonly key: PropertyKey }): string | number {
  const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
  return typeof key === 'number' ? key : String(key);
}

/** Where message i's `data` is: `['data']` for a lone message, `[i, 'data']` in a batch. */
export const dataPath = (batch: boolean) => (i: number) => (batch ? [i, 'data'] : ['data']);

/**
 * Validates the `data` of each message to publish against `schema`, before anything is written.
 * Throws a {@link MessageSchemaError} with every issue of every message, each path under
 * `pathOf(index)`. Resolves nothing when all are valid.
 */
export async function checkPublished(
  schema: StandardSchemaV1,
  messages: readonly { readonly data: unknown }[],
  pathOf: (index: number) => readonly (string | number)[],
): Promise<void> {
  const issues: SchemaIssue[] = [];
  for (const [i, message] of messages.entries()) {
    const result = await checkValue(schema, message.data, pathOf(i));
    if ('issues' in result) issues.push(...result.issues);
  }
  if (issues.length > 0) throw new MessageSchemaError(issues);
}
