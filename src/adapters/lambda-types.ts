/**
 * The parts of AWS Lambda's types that the Lambda adapters read and write, defined here so that the
 * package's declarations need no `@types/aws-lambda` (a consumer that installed only sluice and a
 * driver type-checks with `skipLibCheck: false`). Each is a structural subset of its namesake in
 * `@types/aws-lambda`: an `APIGatewayProxyEventV2` or a `Context` passes as it is, and a result is an
 * `APIGatewayProxyStructuredResultV2`, so a handler fits `APIGatewayProxyHandlerV2`.
 */

/** The part of the Lambda context sluice reads (`Context` in `@types/aws-lambda`). */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/** The fields sluice reads of an API Gateway HTTP API event, payload format 2.0 (`APIGatewayProxyEventV2`). */
export interface LambdaHttpEvent {
  /** The path as requested, e.g. `/ops/stats`. */
  readonly rawPath?: string | undefined;
  /** The query string without `?`. */
  readonly rawQueryString?: string | undefined;
  readonly headers?: Readonly<Record<string, string | undefined>> | undefined;
  /** `topic` for the publish route `POST /topics/{topic}/messages`. */
  readonly pathParameters?: Readonly<Record<string, string | undefined>> | undefined;
  readonly requestContext?:
    | {
        readonly http?:
          | { readonly method?: string | undefined; readonly path?: string | undefined }
          | undefined;
      }
    | undefined;
  /** The body as text, or base64 when `isBase64Encoded`; none is `undefined` (or `null`). */
  readonly body?: string | null | undefined;
  readonly isBase64Encoded?: boolean | undefined;
}

/** What an HTTP handler answers (an `APIGatewayProxyStructuredResultV2`). */
export interface LambdaHttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}
