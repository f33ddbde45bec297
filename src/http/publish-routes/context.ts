/** What the steps of the publish endpoint are given: the request, and the endpoint built once. */
import type { Driver } from '../../core/driver.js';
import type { Logger } from '../../core/logger.js';
import type { StandardSchemaV1 } from '../../core/schema.js';
import type { PublishOptions } from '../../publish/options.js';

export interface PublishRequest {
  readonly method: string;
  /** The `{topic}` path parameter. */
  readonly topic: string | undefined;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body: text, or bytes (checked to be UTF-8). */
  readonly body: string | Uint8Array | undefined;
}

export interface PublishResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON text. */
  readonly body: string;
}

/** The endpoint's limits, defaults applied and checked. */
export interface PublishSettings {
  readonly maxBodyBytes: number;
  readonly maxMessageBytes: number;
  readonly maxBatchMessages: number;
  readonly maxDepth: number;
  /** The longest delay a message may ask for (`delayMs`, or `deliverAt` ahead of now). */
  readonly maxDelayMs: number;
  readonly retryAfterSeconds: number;
  readonly signatureToleranceSeconds: number;
}

/** The endpoint, built once: what every step reads. */
export interface PublishContext {
  readonly driver: Driver;
  readonly settings: PublishSettings;
  /** Each accepted topic's publish options (its declared groups included), checked at cold start. */
  readonly publishOptions: ReadonlyMap<string, PublishOptions>;
  /** The topics' schemas: a body is checked against its topic's before the signature is claimed. */
  readonly schemas: ReadonlyMap<string, StandardSchemaV1>;
  /** Compares a sent `Authorization` header with the publish token; undefined when none is configured. */
  readonly authorized: ((sent: string | undefined) => boolean) | undefined;
  /** Signing secrets; empty when signatures are not accepted. */
  readonly secrets: readonly string[];
  /** The `WWW-Authenticate` header of a 401: the schemes accepted. */
  readonly challenge: Readonly<Record<string, string>>;
  readonly now: () => number;
  readonly logger: Logger;
}
