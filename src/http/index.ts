/**
 * `sluice/http`: what the ready HTTP app is built from, for your own functions on any platform.
 * The publish endpoint (`POST /topics/{topic}/messages`: bearer token or HMAC signature, one message or a
 * batch), the ops endpoints (statistics, dead letters, redrive, the dashboard), body signatures
 * (`Sluice-Signature`), the bearer check, and the app's `SLUICE_*` environment (`loadConfig`).
 * Each endpoint is a plain function of a request to an answer; `sluice/aws-lambda`, `sluice/vercel`
 * and `sluice/qstash` wrap them for their platforms.
 *
 * @example
 * ```ts
 * import { createPublishEndpoint, signBody } from 'sluice/http';
 * import { ioredisDriver } from 'sluice/ioredis';
 *
 * const endpoint = createPublishEndpoint({ driver: ioredisDriver(process.env.REDIS_URL), topics: ['orders'], token: process.env.SLUICE_PUBLISH_TOKEN });
 * const body = JSON.stringify({ data: { orderId: 42 } });
 * const headers = { 'Sluice-Signature': signBody(process.env.SLUICE_SIGNING_SECRET!, body) };
 * ```
 */
export {
  CONFIG_DEFAULTS,
  type DrainSettings,
  type EndpointConfig,
  loadConfig,
  loadEndpointConfig,
  type PublishSettings,
  type SluiceConfig,
} from '../app/config.js';
export { type DriverConfig, driverConfig } from '../app/driver-config.js';
export type { Env } from '../app/env.js';
export { ConfigurationError } from '../core/errors.js';
export { bearerCheck } from './bearer.js';
export {
  createOpsEndpoint,
  OPS_ENDPOINT_DEFAULTS,
  type OpsEndpointOptions,
  type OpsRequest,
  type OpsResponse,
} from './ops-endpoint.js';
export {
  createPublishEndpoint,
  PUBLISH_ENDPOINT_DEFAULTS,
  type PublishEndpointOptions,
  type PublishRequest,
  type PublishResponse,
} from './publish-endpoint.js';
export {
  computeSignature,
  type ParsedSignature,
  parseSignatureHeader,
  SIGNATURE_DEFAULTS,
  SIGNATURE_HEADER,
  SignatureError,
  type SignatureProblem,
  signBody,
  type VerifiedSignature,
  type VerifySignatureOptions,
  verifySignature,
} from './signature.js';
