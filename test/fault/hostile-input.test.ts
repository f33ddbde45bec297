/**
 * Hostile input at the publish endpoint, property-based (fast-check): random and malicious bodies,
 * headers, methods, credentials and topic names, sent through the Lambda handler (API Gateway v2
 * event) and the Vercel handler (Web Request), over every driver, against the run's redis-server and Redis Cluster.
 *
 * Properties, for every request:
 * - the status is 2xx or 4xx, never 5xx; the body is JSON, with an `error` string on a 4xx;
 * - not POST → 405; not authenticated (no valid bearer token, no valid fresh signature) → 401;
 *   authenticated but an unknown topic → 404;
 * - a 4xx leaves both allowed topics exactly as they were (length, last id, key set): no partial batch;
 * - a 2xx names an allowed topic, writes exactly `ids.length − duplicates` new entries, in order, each
 *   holding the payload and key that were sent, and creates no key but the topic's own;
 * and after each run: no key anywhere holds one of the generated topic names except the allowed
 * topics' own keys, and nothing reached `Object.prototype`.
 *
 * Failures print fast-check's seed and path; rerun one with `{ seed, path }` in `fc.assert`.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lambdaPublishHandler } from '../../src/adapters/aws-lambda.js';
import { vercelPublishHandler } from '../../src/adapters/vercel.js';
import { silentLogger } from '../../src/core/logger.js';
import type { PublishEndpointOptions } from '../../src/http/publish-endpoint.js';
import { signBody } from '../../src/http/signature.js';
import { DRIVERS, dropTopic, keysOf, type RawClient } from '../support/fixtures.js';

const token = 'hostile-token-0123456789';
const secret = 'hostile-secret-0123456789';
/** In every generated topic name, so that a SCAN finds any key one of them could have made. */
const marker = `hx${randomUUID().slice(0, 8)}`;
/** The endpoint's clock, fixed: signature timestamps are generated around it. */
const NOW_S = Math.floor(Date.now() / 1000);
const TOLERANCE_S = 300;
const LIMITS = { maxBodyBytes: 65_536, maxMessageBytes: 2_048, maxBatchMessages: 8, maxDepth: 12 };
const RUNS = { requests: 300, batches: 150, auth: 150, keys: 60, defaults: 16, afterwards: 60 };

// ---------------------------------------------------------------------------------------------
// Arbitraries

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom(
  '{',
  '}',
  ':',
  '*',
  '..',
  '/',
  '%2F',
  '\\',
  '"',
  '\u0000',
  '\r\n',
  '\u2028',
  '\ufeff',
  '\u200b',
  'İ',
  '😀',
  '__proto__',
  'constructor',
);
/** One unit of a hostile string: any code point, a lone surrogate, or a piece of syntax. */
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 2, arbitrary: nasty },
);
const hostileString = (maxLength: number, minLength = 0) => fc.string({ unit, minLength, maxLength });
/** `n` characters for `n` around `limit`. */
const aroundLimit = (limit: number) =>
  fc.integer({ min: limit - 2, max: limit + 2 }).map((n) => 'x'.repeat(Math.max(n, 0)));
/** Nesting depths around the endpoint's limit, and far past what a recursive walk survives. */
const depth = fc.oneof(
  fc.constantFrom(LIMITS.maxDepth - 1, LIMITS.maxDepth, LIMITS.maxDepth + 1),
  fc.constantFrom(6_000, 20_000),
  fc.integer({ min: 1, max: 200 }),
);
const deepText = fc
  .tuple(depth, fc.constantFrom('array', 'object', 'proto'))
  .map(([n, kind]) =>
    kind === 'array'
      ? `${'['.repeat(n)}${']'.repeat(n)}`
      : kind === 'object'
        ? `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
        : `${'{"__proto__":'.repeat(n)}{}${'}'.repeat(n)}`,
  );
const protoText = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"__proto__":[],"prototype":null,"constructor":"x"}',
  '[{"__proto__":{"polluted":1}}]',
  '{"toString":1,"valueOf":{},"hasOwnProperty":null}',
);

/** A JSON text fragment: valid JSON values of every kind, deep, huge, prototype-shaped, or broken. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: unit }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: hostileString(30).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: deepText },
  { weight: 2, arbitrary: protoText },
  { weight: 1, arbitrary: aroundLimit(LIMITS.maxMessageBytes - 2).map((s) => JSON.stringify(s)) },
  // Unescaped inside quotes: control characters and lone surrogates raw in the text.
  { weight: 1, arbitrary: hostileString(10).map((s) => `"${s}"`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('NaN', 'undefined', '1e999', '-0', '0x10', "'x'", '[1,]', '{"a"}'),
  },
);
/** A `key` / `idempotencyKey` value: mostly strings (good and bad), sometimes not a string at all. */
const keyText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 30 }).map((s) => JSON.stringify(s)) },
  { weight: 6, arbitrary: hostileString(30, 1).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom(255, 256, 257).map((n) => JSON.stringify('k'.repeat(n))) },
  { weight: 1, arbitrary: fc.constantFrom('""', '"\\ud800"', '"a\\udfffb"', '"\\ud83d\\ude00"') },
  { weight: 2, arbitrary: jsonText },
  { weight: 1, arbitrary: deepText },
);
const fieldName = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'dta', 'messages', 'Data', 'data ', 'key'),
  hostileString(8),
);

/** One message object as JSON text, or something that tries to pass for one. */
const messageText = fc
  .record({
    data: fc.option(jsonText, { freq: 8 }),
    key: fc.option(keyText, { freq: 3 }),
    idempotencyKey: fc.option(keyText, { freq: 3 }),
    extra: fc.option(fc.tuple(fieldName, jsonText), { freq: 6 }),
    dataTwice: fc.option(jsonText, { freq: 12 }),
  })
  .map(({ data, key, idempotencyKey, extra, dataTwice }) => {
    const parts: string[] = [];
    if (data !== null) parts.push(`"data":${data}`);
    if (key !== null) parts.push(`"key":${key}`);
    if (idempotencyKey !== null) parts.push(`"idempotencyKey":${idempotencyKey}`);
    if (extra !== null) parts.push(`${JSON.stringify(extra[0])}:${extra[1]}`);
    if (dataTwice !== null) parts.push(`"data":${dataTwice}`); // JSON.parse keeps the last
    return `{${parts.join(',')}}`;
  });
const batchText = fc
  .tuple(
    fc.array(fc.oneof({ weight: 5, arbitrary: messageText }, { weight: 1, arbitrary: jsonText }), {
      maxLength: LIMITS.maxBatchMessages + 2,
    }),
    fc.option(fc.tuple(fieldName, jsonText), { freq: 6 }),
  )
  .map(([items, extra]) => {
    const own = extra === null ? '' : `,${JSON.stringify(extra[0])}:${extra[1]}`;
    return `{"messages":[${items.join(',')}]${own}}`;
  });
const textBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: messageText },
  { weight: 5, arbitrary: batchText },
  { weight: 1, arbitrary: jsonText },
  { weight: 1, arbitrary: hostileString(200) },
  {
    weight: 1,
    arbitrary: fc.tuple(depth, messageText).map(([n, m]) => `${'['.repeat(n)}${m}${']'.repeat(n)}`),
  },
  { weight: 1, arbitrary: aroundLimit(LIMITS.maxBodyBytes).map((s) => `{"data":"${s.slice(11)}"}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' \n\t', '\ufeff{"data":1}', 'null', '{"data":1}\u0000', '{"data":1}{}'),
  },
);
/** A body that could well be accepted: any JSON payloads (unicode included), clean keys. */
const cleanKey = fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), {
  nil: undefined,
  freq: 3,
});
const plausibleMessage = fc.record({
  data: fc.jsonValue({ maxDepth: 3, stringUnit: unit }),
  key: cleanKey,
  idempotencyKey: cleanKey,
});
const plausibleBody: fc.Arbitrary<string> = fc.oneof(
  plausibleMessage.map((m) => JSON.stringify(m)),
  fc
    .array(plausibleMessage, { minLength: 1, maxLength: LIMITS.maxBatchMessages })
    .map((messages) => JSON.stringify({ messages })),
);
const INVALID_UTF8 = [
  [0xc3, 0x28],
  [0xed, 0xa0, 0x80],
  [0xc0, 0x80],
  [0xff],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
];
/** Raw bytes: random, valid JSON with invalid UTF-8 spliced in, with a BOM, or plain UTF-8. */
const byteBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(messageText, fc.constantFrom(...INVALID_UTF8), fc.nat()).map(([text, bad, at]) => {
    const bytes = Buffer.from(text);
    const cut = at % (bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)]);
  }),
  messageText.map((text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
  textBody.map((text) => Buffer.from(text)),
);

const contentType = fc.oneof(
  { weight: 30, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'Application/JSON',
      'application/json; charset=utf-8',
      'application/json;charset=latin1',
      'application/cloudevents+json',
      'application/vnd.api+json',
      ' application/json ',
      'text/plain',
      'text/json',
      'application/jsonp',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json\u0000',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: hostileString(30) },
);

type Platform = 'lambda' | 'vercel';

/** How a request authenticates; `valid` says whether the endpoint must let it in. */
interface Credentials {
  readonly authorization?: string;
  readonly signature?: (body: string | Uint8Array) => string;
  readonly valid: boolean;
  /** A valid signature, which may be refused as a replay. */
  readonly signed: boolean;
}

const bearerValid = fc
  .tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'), fc.constantFrom(' ', '  ', '\t'))
  .map(([scheme, gap]) => `${scheme}${gap}${token}`);
const bearerInvalid = fc.oneof(
  fc.constantFrom(
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${token}x`,
    `Bearer ${token.slice(0, -1)}`,
    `Bearer ${token.toUpperCase()}`,
    `Basic ${token}`,
    `Bearer ${token} extra`,
    token,
    `Bearer ${'a'.repeat(10_000)}`,
    `Bearer ${token}\u0000`,
    'Bearer İ',
  ),
  hostileString(40),
);
const signatureOffset = fc.oneof(
  fc.constantFrom(0, -TOLERANCE_S, TOLERANCE_S, -TOLERANCE_S - 1, TOLERANCE_S + 1),
  fc.integer({ min: -2 * TOLERANCE_S, max: 2 * TOLERANCE_S }),
);
const credentials: fc.Arbitrary<Credentials> = fc.oneof(
  {
    weight: 10,
    arbitrary: bearerValid.map((authorization) => ({ authorization, valid: true, signed: false })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        signatureOffset,
        fc.constantFrom(secret, secret, secret, `${secret}x`, 'other'),
        fc.option(bearerInvalid),
      )
      .map(([offset, key, authorization]) => {
        const valid = key === secret && Math.abs(offset) <= TOLERANCE_S;
        return {
          ...(authorization === null ? {} : { authorization }),
          signature: (body: string | Uint8Array) => signBody(key, body, NOW_S + offset),
          valid,
          signed: valid,
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(bearerValid, signatureOffset).map(([authorization, offset]) => ({
      authorization,
      signature: (body: string | Uint8Array) => signBody('wrong', body, NOW_S + offset),
      valid: true,
      signed: false,
    })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.option(bearerInvalid),
        fc.option(
          fc.oneof(
            hostileString(80),
            fc.constantFrom(`t=${NOW_S}`, `t=${NOW_S},v1=`, `t=0${NOW_S},v1=${'a'.repeat(64)}`),
            fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `t=${NOW_S},v1=${hex}`),
          ),
        ),
        fc.boolean(),
      )
      .map(([authorization, garbage, signOtherBody]) => ({
        ...(authorization === null ? {} : { authorization }),
        ...(garbage === null
          ? signOtherBody
            ? { signature: () => signBody(secret, '{"data":"something else"}', NOW_S) }
            : {}
          : { signature: () => garbage }),
        valid: false,
        signed: false,
      })),
  },
);

/** A topic name: an allowed one, one of them disguised, or anything at all (with the marker). */
function topicName(allowed: readonly string[]): fc.Arbitrary<string> {
  const some = fc.constantFrom(...allowed);
  return fc.oneof(
    { weight: 14, arbitrary: some },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          some,
          fc.constantFrom(
            (t: string) => `{${t}}`,
            (t: string) => `${t}}`,
            (t: string) => `${t}:idem:x`,
            (t: string) => `${t}*`,
            (t: string) => `../${t}`,
            (t: string) => `${t}/..`,
            (t: string) => `${t}%2F`,
            (t: string) => `${t}/x`,
            (t: string) => t.toUpperCase(),
            (t: string) => ` ${t}`,
            (t: string) => `${t}\u0000`,
            (t: string) => `${t}\u200b`,
            (t: string) => `${t}\ud800`,
            (t: string) => t.replace('-', '‐'),
            (t: string) => t.repeat(30),
            (t: string) => `${t}${allowed.find((a) => a !== t)}`,
          ),
        )
        .map(([t, disguise]) => disguise(t)),
    },
    { weight: 3, arbitrary: hostileString(20).map((s) => `${marker}${s}`) },
    { weight: 1, arbitrary: fc.integer({ min: 95, max: 5_000 }).map((n) => `${marker}${'x'.repeat(n)}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `{${marker}}`,
        `${marker}:*`,
        `${marker}}:{x`,
        `*${marker}*`,
        `${marker}..`,
        `${marker}%2F..%2F`,
        `${marker}/../${marker}`,
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '*', '..', '.', '%2F', '{', '}', ':', '😀', '{}') },
  );
}

/** Random casing of a header name. */
function recase(name: string, bits: readonly boolean[]): string {
  return [...name].map((c, i) => (bits[i % bits.length] ? c.toUpperCase() : c.toLowerCase())).join('');
}

interface Attempt {
  readonly platform: Platform;
  readonly method: string;
  readonly topic: string;
  /** How the Vercel URL carries the topic. */
  readonly route: 'encoded' | 'raw' | 'query';
  readonly contentType: string | null;
  readonly idempotencyKey: string | null;
  readonly credentials: Credentials;
  readonly extraHeaders: readonly (readonly [string, string])[];
  readonly casing: readonly boolean[];
  readonly body: string | Uint8Array;
  /** Lambda: send a text body base64-encoded. */
  readonly base64: boolean;
}

function attempts(
  allowed: readonly string[],
  parts: { body?: fc.Arbitrary<string | Uint8Array>; credentials?: fc.Arbitrary<Credentials> } = {},
): fc.Arbitrary<Attempt> {
  return fc.record({
    platform: fc.constantFrom<Platform>('lambda', 'vercel'),
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('post', 'Post', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
    ),
    topic: topicName(allowed),
    route: fc.constantFrom('encoded', 'raw', 'query'),
    contentType: fc.option(contentType, { freq: 12 }),
    idempotencyKey: fc.option(
      fc.oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        hostileString(20),
        fc.constantFrom(199, 200, 201).map((n) => 'i'.repeat(n)),
      ),
      { freq: 5 },
    ),
    credentials: parts.credentials ?? credentials,
    extraHeaders: fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'content-type',
            'x-forwarded-for',
            'content-length',
            'cookie',
            '__proto__',
            'constructor',
          ),
          fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
        ),
        hostileString(30),
      ),
      { maxLength: 3 },
    ),
    casing: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    body:
      parts.body ??
      fc.oneof(
        { weight: 5, arbitrary: plausibleBody },
        { weight: 6, arbitrary: textBody },
        { weight: 1, arbitrary: byteBody },
      ),
    base64: fc.boolean(),
  });
}

// ---------------------------------------------------------------------------------------------
// Sending

interface Outcome {
  readonly status: number;
  readonly text: string;
  /** The topic the endpoint saw, when the test can tell. */
  readonly topic: string | undefined;
  /** The body as the endpoint decoded it (bytes it received, as text), when it is UTF-8. */
  readonly received: string | undefined;
  /** Vercel: the body is over `maxBodyBytes`, which the route does not read past (413 first). */
  readonly overLimit?: boolean;
}

const LONE_SURROGATES = /\p{Cs}/gu;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decoded(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function headerList(a: Attempt, body: string | Uint8Array): [string, string][] {
  const list: [string, string][] = [];
  if (a.contentType !== null) list.push([recase('content-type', a.casing), a.contentType]);
  if (a.idempotencyKey !== null) list.push([recase('idempotency-key', a.casing), a.idempotencyKey]);
  if (a.credentials.authorization !== undefined)
    list.push([recase('authorization', a.casing), a.credentials.authorization]);
  if (a.credentials.signature !== undefined)
    list.push([recase('sluice-signature', a.casing), a.credentials.signature(body)]);
  for (const [name, value] of a.extraHeaders) list.push([recase(name, [...a.casing].reverse()), value]);
  return list;
}

function endpoints(options: PublishEndpointOptions) {
  const lambda = lambdaPublishHandler(options);
  const vercel = vercelPublishHandler(options);

  async function viaLambda(a: Attempt): Promise<Outcome> {
    const bytes = typeof a.body === 'string' ? undefined : Buffer.from(a.body);
    const encoded = bytes !== undefined || a.base64;
    const raw = bytes ?? Buffer.from(a.body as string);
    const headers: Record<string, string> = {};
    const list = headerList(a, bytes ?? a.body);
    // Auth headers first: a later header of the same name in another case must not shadow them.
    for (const [name, value] of list) if (!(name in headers)) headers[name] = value;
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: 'POST /topics/{topic}/messages',
      rawPath: '/topics/x/messages',
      rawQueryString: '',
      headers,
      pathParameters: { topic: a.topic },
      requestContext: { http: { method: a.method } } as APIGatewayProxyEventV2['requestContext'],
      body: encoded ? raw.toString('base64') : (a.body as string),
      isBase64Encoded: encoded,
    };
    const response = await lambda(event);
    return {
      status: response.statusCode ?? 0,
      text: String(response.body),
      topic: a.topic,
      received: encoded ? decoded(raw) : (a.body as string),
    };
  }

  async function viaVercel(a: Attempt): Promise<Outcome> {
    const bytes = typeof a.body === 'string' ? new TextEncoder().encode(a.body) : a.body;
    // A URL cannot carry a lone surrogate: a real client sends U+FFFD.
    const topic = a.topic.replace(LONE_SURROGATES, '\ufffd');
    const base = 'https://sluice.example';
    let url =
      a.route === 'query'
        ? `${base}/api/publish?topic=${encodeURIComponent(topic)}`
        : `${base}/api/topics/${encodeURIComponent(topic)}/messages`;
    let seen: string | undefined = topic;
    if (a.route === 'raw') {
      try {
        url = new URL(`${base}/api/topics/${topic}/messages`).href;
        seen = undefined; // the URL parser had its say
      } catch {
        // Not a URL at all: send it encoded.
      }
    }
    const headers = new Headers();
    for (const [name, value] of headerList(a, bytes)) {
      try {
        headers.append(name, value);
      } catch {
        // Not a header any client could send (a character above U+00FF, a line break): leave it out.
      }
    }
    const method = a.method;
    const hasBody = !['GET', 'HEAD'].includes(method.toUpperCase());
    const request = new Request(url, { method, headers, ...(hasBody ? { body: bytes } : {}) });
    const response = await vercel(request);
    const overLimit = bytes.byteLength > (options.maxBodyBytes ?? 1_048_576);
    return {
      status: response.status,
      text: await response.text(),
      topic: seen,
      received: decoded(bytes),
      overLimit,
    };
  }

  return (a: Attempt) => (a.platform === 'lambda' ? viaLambda(a) : viaVercel(a));
}

// ---------------------------------------------------------------------------------------------
// Redis state

interface TopicState {
  readonly length: number;
  readonly last: string | undefined;
  readonly keys: readonly string[];
}

async function stateOf(redis: RawClient, topics: readonly string[]): Promise<Record<string, TopicState>> {
  // One topic at a time: on a cluster, each topic's keys live in a slot of their own.
  const states = await Promise.all(
    topics.map(async (topic): Promise<TopicState> => {
      const [length, last, keys] = await Promise.all([
        redis.xlen(`sluice:{${topic}}`),
        redis.xrevrange(`sluice:{${topic}}`, '+', '-', 'COUNT', 1),
        keysOf(redis, `sluice:{${topic}}*`),
      ]);
      return { length, last: last[0]?.[0], keys: keys.sort() };
    }),
  );
  return Object.fromEntries(topics.map((topic, i) => [topic, states[i] as TopicState]));
}

function idParts(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq)];
}

function newer(id: string, than: string | undefined): boolean {
  if (than === undefined) return true;
  const [a, b] = idParts(id);
  const [c, d] = idParts(than);
  return a > c || (a === c && b > d);
}

/** The messages a 2xx published, from the body as the endpoint received it. */
function sentMessages(received: string): { data: unknown; key?: unknown }[] {
  const body = JSON.parse(received) as { messages?: { data: unknown; key?: unknown }[] };
  return Object.hasOwn(body, 'messages') ? (body.messages ?? []) : [body as { data: unknown; key?: unknown }];
}

/** Asserts every property of one exchange. */
async function check(
  redis: RawClient,
  a: Attempt,
  outcome: Outcome,
  allowed: readonly string[],
  before: Record<string, TopicState>,
  after: Record<string, TopicState>,
): Promise<void> {
  const { status } = outcome;
  const where = `${a.platform} ${a.method} topic=${JSON.stringify(a.topic.slice(0, 60))} → ${status} ${outcome.text.slice(0, 300)}`;
  expect(status >= 500, `a 5xx: ${where}`).toBe(false);
  expect((status >= 200 && status < 300) || (status >= 400 && status < 500), where).toBe(true);
  const body = JSON.parse(outcome.text) as {
    error?: unknown;
    topic?: unknown;
    ids?: unknown;
    duplicates?: unknown;
  };

  // The Vercel route reads a body only up to maxBodyBytes: one longer, sent with a valid token or a
  // signature (which only the body can confirm), is refused 413 before the topic is looked at.
  const refusedUnread = outcome.overLimit === true && status === 413;
  const signedOrValid = a.credentials.valid || a.credentials.signature !== undefined;
  if (a.method.toUpperCase() !== 'POST') expect(status, where).toBe(405);
  else if (refusedUnread) expect(signedOrValid, `413 unread without credentials: ${where}`).toBe(true);
  else if (!a.credentials.valid) expect(status, where).toBe(401);
  else if (outcome.topic !== undefined && !allowed.includes(outcome.topic)) expect(status, where).toBe(404);

  if (status >= 400) {
    expect(typeof body.error, where).toBe('string');
    expect((body.error as string).length, where).toBeGreaterThan(0);
    if (status === 401 && a.credentials.valid) {
      // The only refusal a valid credential may meet: its signature was used before.
      expect(a.credentials.signed, where).toBe(true);
      expect(body.error, where).toMatch(/already used/);
    }
    expect(after, `a ${status} changed Redis: ${where}`).toEqual(before);
    return;
  }

  expect(status, where).toBe(202);
  const topic = body.topic as string;
  expect(allowed, where).toContain(topic);
  if (outcome.topic !== undefined) expect(topic, where).toBe(outcome.topic);
  for (const other of allowed) if (other !== topic) expect(after[other], where).toEqual(before[other]);
  const ids = body.ids as string[];
  const duplicates = body.duplicates as number;
  expect(Array.isArray(ids) && ids.length > 0, where).toBe(true);
  expect(Number.isInteger(duplicates) && duplicates >= 0 && duplicates <= ids.length, where).toBe(true);
  const was = before[topic] as TopicState;
  const now = after[topic] as TopicState;
  expect(now.length - was.length, `entries written ≠ ids − duplicates: ${where}`).toBe(
    ids.length - duplicates,
  );
  const fresh = ids.filter((id) => newer(id, was.last));
  expect(new Set(fresh).size, where).toBe(ids.length - duplicates);

  // Every id exists; each new one holds what was sent, in order.
  const sent = outcome.received === undefined ? undefined : sentMessages(outcome.received);
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.xrange(`sluice:{${topic}}`, id, id);
  const entries = ((await pipeline.exec()) ?? []).map(([, value]) => (value as [string, string[]][])[0]);
  const checked = new Set<string>();
  ids.forEach((id, i) => {
    const entry = entries[i];
    expect(entry?.[0], where).toBe(id);
    // A duplicate (even of a message earlier in the same batch) holds the first message's content.
    if (!fresh.includes(id) || checked.has(id) || sent === undefined) return;
    checked.add(id);
    const fields = entry?.[1] ?? [];
    const message = sent[i] as { data: unknown; key?: unknown };
    expect(fields.slice(0, 4), where).toEqual(['sluice', '1', 'data', JSON.stringify(message.data)]);
    expect(fields.slice(4), where).toEqual(message.key === undefined ? [] : ['key', message.key]);
  });

  // No key but the topic's own: its stream, idempotency keys, signature keys, its partition count.
  const own = new RegExp(
    `^sluice:\\{${topic}\\}(?::idem:[\\s\\S]+|:idem-batch:\\d+:[\\s\\S]+|:sig:[0-9a-f]{64}|:partitions)?$`,
  );
  for (const key of now.keys) expect(key, where).toMatch(own);
  for (const key of was.keys) expect(now.keys, where).toContain(key);
}

// ---------------------------------------------------------------------------------------------

const allowedOf = (driver: string) => [`${marker}-a-${driver}`, `${marker}-b-${driver}`];

describe.each(DRIVERS)('hostile input at the publish endpoint over $name', (kind) => {
  const redis = kind.redis();
  const allowed = allowedOf(kind.name);
  const driver = kind.create();
  const options = {
    driver,
    topics: allowed,
    token,
    signingSecrets: [secret],
    signatureToleranceSeconds: TOLERANCE_S,
    now: () => NOW_S * 1000,
    logger: silentLogger,
  };
  const send = endpoints({ ...options, ...LIMITS });
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  async function exchange(a: Attempt, via = send): Promise<void> {
    const before = await stateOf(redis, allowed);
    const outcome = await via(a);
    const after = await stateOf(redis, allowed);
    await check(redis, a, outcome, allowed, before, after);
  }

  it('any request: 2xx or 4xx, JSON, a refusal writes nothing, a success writes exactly its ids', async () => {
    await fc.assert(
      fc.asyncProperty(attempts(allowed), (a) => exchange(a)),
      { numRuns: RUNS.requests },
    );
  }, 60_000);

  it('a batch with one bad message among good ones writes nothing; an all-good batch writes all', async () => {
    const good = fc.record({
      data: fc.jsonValue({ maxDepth: 2 }),
      idempotencyKey: fc.option(fc.uuid(), { nil: undefined }),
    });
    const bad = fc.constantFrom(
      '{"nodata":1}',
      '{"data":1,"key":""}',
      '{"data":1,"key":7}',
      `{"data":1,"key":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
      `{"data":1,"idempotencyKey":${'{"a":'.repeat(8_000)}1${'}'.repeat(8_000)}}`,
      '{"data":1,"idempotencyKey":"\\ud800"}',
      `{"data":${'['.repeat(LIMITS.maxDepth + 1)}${']'.repeat(LIMITS.maxDepth + 1)}}`,
      `{"data":"${'x'.repeat(LIMITS.maxMessageBytes)}"}`,
      '{"data":1,"__proto__":{}}',
      '"just a string"',
      'null',
    );
    const batch = fc
      .tuple(
        fc.array(good, { minLength: 1, maxLength: LIMITS.maxBatchMessages - 1 }),
        fc.option(bad),
        fc.nat(),
      )
      .map(([items, poison, at]) => {
        const texts = items.map((m) => JSON.stringify(m));
        if (poison !== null) texts.splice(at % (texts.length + 1), 0, poison);
        return { text: `{"messages":[${texts.join(',')}]}`, poisoned: poison !== null };
      });
    const valid = bearerValid.map((authorization) => ({ authorization, valid: true, signed: false }));
    await fc.assert(
      fc.asyncProperty(attempts(allowed, { credentials: valid }), batch, async (base, { text, poisoned }) => {
        const a: Attempt = {
          ...base,
          method: 'POST',
          topic: allowed[0] as string,
          contentType: 'application/json',
          idempotencyKey: null,
          extraHeaders: [],
          body: text,
        };
        const before = await stateOf(redis, allowed);
        const outcome = await send(a);
        const after = await stateOf(redis, allowed);
        await check(redis, a, outcome, allowed, before, after);
        if (poisoned) expect(outcome.status, outcome.text).toBeGreaterThanOrEqual(400);
        else expect(outcome.status, outcome.text).toBe(202);
      }),
      { numRuns: RUNS.batches },
    );
  }, 60_000);

  it('authentication: without a valid bearer token or a valid, fresh, unused signature → 401', async () => {
    const simple = fc.oneof(messageText, fc.constant('{"data":1}'));
    await fc.assert(
      fc.asyncProperty(
        attempts(allowed, { body: simple }).map((a) => ({
          ...a,
          method: 'POST',
          topic: allowed[1] as string,
        })),
        (a) => exchange(a),
      ),
      { numRuns: RUNS.auth },
    );
  }, 60_000);

  it('different idempotency keys never collapse into one (a message reported duplicate would be lost)', async () => {
    const suffix = fc.string({ unit, minLength: 1, maxLength: 6 });
    // Two keys that differ only where UTF-8 cannot tell them apart, or anywhere at all.
    const pair = fc.oneof(
      fc.tuple(suffix, suffix),
      fc
        .tuple(fc.string({ unit, maxLength: 3 }), loneSurrogate, loneSurrogate)
        .map(([common, x, y]) => [`${common}${x}`, `${common}${y}`] as const),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uuid(),
        pair,
        fc.constantFrom('body', 'header'),
        async (prefix, [one, two], via) => {
          fc.pre(one !== two);
          const publishWith = async (idempotencyKey: string, data: string) => {
            const a: Attempt = {
              platform: 'lambda',
              method: 'POST',
              topic: allowed[0] as string,
              route: 'encoded',
              contentType: 'application/json',
              idempotencyKey: via === 'header' ? idempotencyKey : null,
              credentials: { authorization: `Bearer ${token}`, valid: true, signed: false },
              extraHeaders: [],
              casing: [false],
              body: JSON.stringify(via === 'body' ? { data, idempotencyKey } : { data }),
              base64: false,
            };
            const before = await stateOf(redis, allowed);
            const outcome = await send(a);
            await check(redis, a, outcome, allowed, before, await stateOf(redis, allowed));
            return outcome;
          };
          const first = await publishWith(`${prefix}${one}`, 'first');
          const second = await publishWith(`${prefix}${two}`, 'second');
          if (first.status === 202 && second.status === 202) {
            expect(
              JSON.parse(second.text).duplicates,
              `${JSON.stringify(one)} vs ${JSON.stringify(two)}`,
            ).toBe(0);
          }
        },
      ),
      { numRuns: RUNS.keys },
    );
  }, 60_000);

  it('at the default limits: huge and deep bodies near and past every limit', async () => {
    const defaults = endpoints(options);
    const MiB = 1_048_576;
    const body = fc.oneof(
      fc.integer({ min: MiB - 20, max: MiB + 20 }).map((n) => `{"data":"${'x'.repeat(n - 11)}"}`),
      fc.integer({ min: 262_142, max: 262_146 }).map((n) => `{"data":"${'y'.repeat(n - 2)}"}`),
      fc
        .constantFrom(499, 500, 501)
        .map((n) => JSON.stringify({ messages: Array.from({ length: n }, (_, i) => ({ data: i })) })),
      fc.constantFrom(63, 64, 65, 100_000, 400_000).map((n) => `{"data":${'['.repeat(n)}${']'.repeat(n)}}`),
      fc.constantFrom(10_000, 400_000).map((n) => `{"data":1,"key":${'['.repeat(n)}${']'.repeat(n)}}`),
    );
    const valid = bearerValid.map((authorization) => ({ authorization, valid: true, signed: false }));
    await fc.assert(
      fc.asyncProperty(
        attempts(allowed, { body, credentials: valid }).map((a) => ({
          ...a,
          // Mostly an allowed topic, so that the limits (not the topic) decide.
          topic: a.topic.length % 4 === 0 ? a.topic : (allowed[0] as string),
          method: 'POST',
          contentType: 'application/json',
          idempotencyKey: null,
        })),
        (a) => exchange(a, defaults),
      ),
      { numRuns: RUNS.defaults },
    );
  }, 60_000);

  it('after requests of its own: no key holds a generated topic name but the allowed topics’ own; no prototype pollution', async () => {
    // Its own requests, not whatever the tests before it sent: one good publish to each allowed
    // topic on each platform, then authenticated requests to any topic name at all.
    for (const topic of allowed) {
      for (const platform of ['lambda', 'vercel'] as const) {
        await exchange({
          platform,
          method: 'POST',
          topic,
          route: 'encoded',
          contentType: 'application/json',
          idempotencyKey: null,
          credentials: { authorization: `Bearer ${token}`, valid: true, signed: false },
          extraHeaders: [],
          casing: [false],
          body: '{"data":1}',
          base64: false,
        });
      }
    }
    const valid = bearerValid.map((authorization) => ({ authorization, valid: true, signed: false }));
    await fc.assert(
      fc.asyncProperty(attempts(allowed, { credentials: valid }), (a) => exchange(a)),
      { numRuns: RUNS.afterwards },
    );
    const found = await keysOf(redis, `*${marker}*`);
    for (const topic of allowed) expect(found).toContain(`sluice:{${topic}}`);
    // Either driver's allowed topics: the other block's keys may still be there.
    const topics = DRIVERS.flatMap((d) => allowedOf(d.name));
    const own = new RegExp(
      `^sluice:\\{(?:${topics.join('|')})\\}(?::idem:[\\s\\S]+|:idem-batch:\\d+:[\\s\\S]+|:sig:[0-9a-f]{64}|:partitions)?$`,
    );
    for (const key of found) expect(key).toMatch(own);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const topic of allowed) await dropTopic(redis, topic);
  });
});
