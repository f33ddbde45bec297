/**
 * Waking a drain on AWS Lambda: an asynchronous Invoke (`InvocationType: 'Event'`) of the drain
 * function, with the wake payload. The AWS SDK v3 Lambda client is the one the Node.js runtime
 * already provides: it is imported when the first wake is sent, never bundled (mark
 * `@aws-sdk/client-lambda` external). The function needs `lambda:InvokeFunction` on the drain
 * function; `serverless offline` serves the same Invoke API locally (`AWS_ENDPOINT_URL_LAMBDA`).
 */
import { InvalidOptionError, SluiceError } from '../core/errors.js';
import { type Waker, wakePayload } from '../core/waker.js';

export interface LambdaWakerOptions {
  /** The drain function's name or ARN. */
  readonly functionName: string;
  /** Another Invoke endpoint (serverless offline: `http://localhost:3002`). Unset: the SDK's (and `AWS_ENDPOINT_URL_LAMBDA`). */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /**
   * Longest wait for Lambda to accept a wake: past it the wake is abandoned (and logged by the
   * caller); the publish never waits longer.
   * @default 1000
   */
  readonly timeoutMs?: number;
}

/** The part of the SDK's LambdaClient a waker uses. */
interface InvokeClient {
  send(
    command: unknown,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ StatusCode?: number; FunctionError?: string }>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

function hasCredentials(): boolean {
  return Boolean(process.env.AWS_ACCESS_KEY_ID?.trim() && process.env.AWS_SECRET_ACCESS_KEY?.trim());
}

export function lambdaWaker(options: LambdaWakerOptions): Waker {
  const { functionName, endpoint, region, timeoutMs = 1_000 } = options;
  if (typeof functionName !== 'string' || functionName.length === 0) {
    throw new InvalidOptionError(
      'functionName',
      'lambdaWaker needs the drain function’s name (`functionName`)',
    );
  }
  let client: Promise<{ client: InvokeClient; command: new (input: object) => unknown }> | undefined;
  const load = async () => {
    // A variable keeps bundlers from following the import: the runtime provides the SDK.
    const sdk = '@aws-sdk/client-lambda';
    const { LambdaClient, InvokeCommand } = (await import(sdk)) as {
      LambdaClient: new (config: object) => InvokeClient;
      InvokeCommand: new (input: object) => unknown;
    };
    return {
      client: new LambdaClient({
        maxAttempts: 1,
        region: region ?? process.env.AWS_REGION ?? 'us-east-1',
        // A local endpoint (serverless offline) takes any credentials; its environment may hold none.
        ...(endpoint ? { endpoint, ...(hasCredentials() ? {} : { credentials: LOCAL_CREDENTIALS }) } : {}),
      }),
      command: InvokeCommand,
    };
  };
  return {
    name: 'lambda',
    async wake(request) {
      client ??= load();
      const { client: lambda, command } = await client;
      const invoke = new command({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(wakePayload(request))),
      });
      const answer = await lambda.send(invoke, { abortSignal: AbortSignal.timeout(timeoutMs) });
      if (answer.StatusCode !== 202) {
        throw new SluiceError(
          `Lambda did not accept the wake of ${functionName}: status ${answer.StatusCode}`,
        );
      }
    },
  };
}
