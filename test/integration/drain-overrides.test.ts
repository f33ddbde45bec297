import { describe, expect, it } from 'vitest';
import { drainFunction } from '../../functions/aws/wiring.js';
import { lambdaDrainHandler, OverrideNotAllowedError } from '../../src/adapters/aws-lambda.js';
import { vercelDrainHandler } from '../../src/adapters/vercel.js';
import { loadConfig } from '../../src/app/config.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { publish } from '../../src/publish/publish.js';
import { DRIVERS, randomTopic, rawClient, redisUrl } from '../support/fixtures.js';

const kind = DRIVERS[0] as (typeof DRIVERS)[number];
const driver = kind.create();
const redis = rawClient();

function lambda(
  topic: string,
  extra: Partial<Omit<Parameters<typeof lambdaDrainHandler>[0], 'batchHandler'>> = {},
) {
  const seen: string[] = [];
  const handler = lambdaDrainHandler({
    driver,
    topic,
    group: 'g',
    budgetMs: 2_000,
    blockMs: 50,
    idleExitMs: 100,
    metrics: false,
    logger: silentLogger,
    handler: (message) => {
      seen.push(message.id);
    },
    ...extra,
  });
  return { handler, seen };
}

describe('drain overrides are limited to the topics and groups the app is configured with', () => {
  it('a schedule event naming another topic or group throws, and creates no stream and no group', async () => {
    const topic = randomTopic();
    const { stream } = streamKeys({ topic });
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const stray = randomTopic('stray');
    const { handler, seen } = lambda(topic);

    const refused = await handler({ topic: stray }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OverrideNotAllowedError);
    expect(refused).toBeInstanceOf(InvalidOptionError);
    expect((refused as OverrideNotAllowedError).option).toBe('topic');
    expect((refused as Error).message).toBe(
      `event \`topic\` ${JSON.stringify(stray)} is not one this drain may serve; allowed: ${topic} (option allowedTopics)`,
    );
    await expect(handler({ group: 'stray-group' })).rejects.toThrow(
      'event `group` "stray-group" is not one this drain may serve; allowed: g (option allowedGroups)',
    );
    expect(await redis.exists(streamKeys({ topic: stray }).stream)).toBe(0);
    expect(((await redis.xinfo('GROUPS', stream)) as unknown[][]).map((g) => g[1])).toEqual(['g']);
    expect(seen).toEqual([]);
  });

  it('the configured topic and group, and those allowed by option, may be named', async () => {
    const topic = randomTopic();
    const other = randomTopic();
    await redis.xgroup('CREATE', streamKeys({ topic: other }).stream, 'g2', '$', 'MKSTREAM');
    const { id } = await publish(driver, other, { data: 'elsewhere' });
    const { handler, seen } = lambda(topic, { allowedTopics: [other], allowedGroups: ['g2'] });
    expect(await handler({ topic, group: 'g' })).toMatchObject({ group: 'g' });
    expect(await handler({ topic: other, group: 'g2' })).toMatchObject({ group: 'g2', acked: 1 });
    expect(seen).toEqual([id]);
    // A plain EventBridge event overrides nothing.
    expect(await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events' })).toMatchObject({
      group: 'g',
    });
  });

  it('a drain of a foreign stream key allows no topic override unless listed', async () => {
    const stream = `foreign:${randomTopic()}`;
    const { handler } = lambda('unused', { topic: undefined, stream });
    await expect(handler({ topic: randomTopic() })).rejects.toThrow(/allowed: none \(option allowedTopics\)/);
  });

  it('the Lambda drain function allows the topics of SLUICE_TOPICS and the group SLUICE_GROUP', async () => {
    const config = loadConfig({ REDIS_URL: redisUrl(), SLUICE_TOPICS: 'orders,refunds' });
    const handler = drainFunction(driver, config);
    await expect(handler({ topic: 'stray' })).rejects.toThrow(
      /allowed: orders, refunds \(option allowedTopics\)$/,
    );
    await expect(handler({ group: 'stray' })).rejects.toThrow(
      /allowed: payment-processors \(option allowedGroups\)$/,
    );
  });

  it('cold start: an allow list that is not topic or group names throws naming the option', () => {
    expect(() => lambda(randomTopic(), { allowedTopics: ['../etc'] })).toThrow(/^Expected `allowedTopics`/);
    expect(() => lambda(randomTopic(), { allowedGroups: 'g2' as unknown as string[] })).toThrow(
      /^Expected `allowedGroups`/,
    );
  });
});

/** A logger whose methods count how often the drain options are read (each resolution reads them). */
function countingLogger() {
  const counter = { reads: 0 };
  const read = <F>(method: F): F => {
    counter.reads++;
    return method;
  };
  const logger = {
    get debug() {
      return read(silentLogger.debug);
    },
    get info() {
      return read(silentLogger.info);
    },
    get warn() {
      return read(silentLogger.warn);
    },
    get error() {
      return read(silentLogger.error);
    },
  };
  return { logger, counter };
}

describe('drain options are resolved once, at cold start', () => {
  it('the Lambda handler takes its resolved options to every invocation, overrides applied', async () => {
    const topic = randomTopic();
    const other = randomTopic();
    const { logger, counter } = countingLogger();
    const { handler } = lambda(topic, { logger, allowedTopics: [other] });
    const atColdStart = counter.reads;
    expect(atColdStart).toBeGreaterThan(0);
    expect(await handler({})).toMatchObject({ stream: streamKeys({ topic }).stream, stoppedBy: 'idle' });
    const overridden = await handler({ topic: other, budgetMs: 1_000, idleExitMs: 0 });
    expect(overridden).toMatchObject({ stream: streamKeys({ topic: other }).stream, stoppedBy: 'idle' });
    expect(counter.reads).toBe(atColdStart);
  });

  it('the Vercel route resolves at cold start too', async () => {
    const topic = randomTopic();
    const { logger, counter } = countingLogger();
    const route = vercelDrainHandler({
      driver,
      topic,
      group: 'g',
      maxDurationSeconds: 10,
      blockMs: 50,
      idleExitMs: 0,
      cronSecret: 'cron-secret',
      logger,
      handler: () => {},
    });
    const atColdStart = counter.reads;
    const request = () =>
      new Request('http://localhost/api/drain?idleExitMs=0', {
        headers: { authorization: 'Bearer cron-secret' },
      });
    for (let i = 0; i < 2; i++) {
      const response = await route(request());
      expect(await response.json()).toMatchObject({
        stream: streamKeys({ topic }).stream,
        stoppedBy: 'idle',
      });
    }
    expect(counter.reads).toBe(atColdStart);
  });
});
