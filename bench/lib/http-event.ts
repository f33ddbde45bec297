import type { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';

type PublishEvent = Parameters<ReturnType<typeof lambdaPublishHandler>>[0];

/** An API Gateway HTTP API (payload 2.0) event: as much of one as the publish handler reads. */
export function httpEvent(topic: string, body: string, token: string): PublishEvent {
  return {
    requestContext: { http: { method: 'POST' } },
    pathParameters: { topic },
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
  } as unknown as PublishEvent;
}
