import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drainOverrides } from '../../src/adapters/aws-lambda.js';
import { loadConfig } from '../../src/app/config.js';
import { driverConfig } from '../../src/app/driver-config.js';
import { withInvocation } from '../../src/consume/invocation.js';
import { DRAIN_DEFAULTS, isResolvedDrainOptions, resolveDrainOptions } from '../../src/consume/options.js';
import { ConfigurationError, InvalidOptionError } from '../../src/core/errors.js';
import { parseClusterNodes } from '../../src/drivers/cluster-nodes.js';

const base = { topic: 'orders', group: 'billing', handler: () => {} };

describe('resolveDrainOptions', () => {
  it('fills frozen defaults', () => {
    const resolved = resolveDrainOptions(base);
    expect(resolved).toMatchObject({ ...DRAIN_DEFAULTS, target: { topic: 'orders' }, idleExitMs: undefined });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(DRAIN_DEFAULTS)).toBe(true);
  });

  it.each([
    ['budgetMs', 0, 'Expected `budgetMs` to be an integer from 1 to 900000, got `0` (number)'],
    ['budgetMs', '5000', 'Expected `budgetMs` to be an integer from 1 to 900000, got `"5000"` (string)'],
    ['visibilityTimeoutMs', 1.5, 'Expected `visibilityTimeoutMs` to be an integer >= 1, got `1.5` (number)'],
    ['maxDeliveries', 0, 'Expected `maxDeliveries` to be an integer from 1 to 1000'],
    ['batchSize', Number.NaN, 'Expected `batchSize`'],
    ['concurrency', -1, 'Expected `concurrency`'],
    ['startId', '>', 'Expected `startId` to be "$" or "0"'],
    ['group', 'has space', 'Expected `group` to match'],
    ['handler', 'nope', 'Expected `handler` to be a function'],
    ['consumerPrefix', 'a b', 'Expected `consumerPrefix` to match'],
  ])('rejects %s = %j naming the option', (option, value, message) => {
    const attempt = () => resolveDrainOptions({ ...base, [option]: value });
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });

  it('needs exactly one of topic and stream', () => {
    expect(() => resolveDrainOptions({ group: 'g', handler: () => {} })).toThrow(
      /exactly one of `topic` and `stream`/,
    );
    expect(() => resolveDrainOptions({ ...base, stream: 'x' })).toThrow(/exactly one/);
    expect(resolveDrainOptions({ group: 'g', handler: () => {}, stream: 'raw-stream' }).target).toEqual({
      stream: 'raw-stream',
    });
  });
});

describe('resolved once', () => {
  it('resolveDrainOptions takes its own result as it is (drain does not resolve it again); a spread is resolved again', () => {
    const resolved = resolveDrainOptions({ ...base, batchSize: 7 });
    expect(resolveDrainOptions(resolved)).toBe(resolved);
    expect(isResolvedDrainOptions(resolved)).toBe(true);
    expect(isResolvedDrainOptions({ ...resolved } as never)).toBe(false);
    expect(isResolvedDrainOptions(base)).toBe(false);
  });

  it("withInvocation applies one invocation's changes, checking only those, and keeps the rest", () => {
    const resolved = resolveDrainOptions({ ...base, batchSize: 7 });
    expect(withInvocation(resolved, {})).toBe(resolved);
    expect(withInvocation(resolved, { budgetMs: undefined })).toBe(resolved);
    const remainingTimeMs = () => 1_000;
    const changed = withInvocation(resolved, {
      group: 'other',
      budgetMs: 1_000,
      idleExitMs: 0,
      assignedPartitions: [1, 0],
      remainingTimeMs,
    });
    expect(changed).toMatchObject({
      target: { topic: 'orders' },
      group: 'other',
      budgetMs: 1_000,
      idleExitMs: 0,
      assignedPartitions: [1, 0],
      batchSize: 7,
    });
    expect(changed.remainingTimeMs).toBe(remainingTimeMs);
    expect(Object.isFrozen(changed)).toBe(true);
    expect(resolveDrainOptions(changed)).toBe(changed);
    expect(resolved.group).toBe('billing');
  });

  it('withInvocation refuses bad changes with the messages of resolveDrainOptions', () => {
    const resolved = resolveDrainOptions(base);
    expect(() => withInvocation(resolved, { topic: '../x' })).toThrow(/^Expected `topic` to match/);
    expect(() => withInvocation(resolved, { budgetMs: 0 })).toThrow(
      'Expected `budgetMs` to be an integer from 1 to 900000, got `0` (number)',
    );
    expect(() => withInvocation(resolved, { assignedPartitions: [1, 1] })).toThrow(/distinct/);
    const onStream = resolveDrainOptions({ group: 'g', handler: () => {}, stream: 'raw-stream' });
    expect(() => withInvocation(onStream, { assignedPartitions: [0] })).toThrow(
      '`assignedPartitions` applies to a `topic`, not to a `stream`',
    );
    // A topic replaces a configured stream.
    expect(withInvocation(onStream, { topic: 'orders', assignedPartitions: [0] }).target).toEqual({
      topic: 'orders',
    });
  });
});

describe('loadConfig', () => {
  const env = { REDIS_URL: 'redis://127.0.0.1:6379' };

  it('applies the documented defaults', () => {
    const config = loadConfig(env);
    expect(config).toMatchObject({
      driver: { kind: 'ioredis', url: 'redis://127.0.0.1:6379' },
      topic: 'orders',
      group: 'payment-processors',
      topics: ['orders'],
      publishToken: undefined,
      adminToken: undefined,
      signingSecrets: [],
      drain: {
        budgetMs: 50_000,
        safetyMarginMs: 2_000,
        visibilityTimeoutMs: 30_000,
        maxDeliveries: 5,
        batchSize: 100,
        blockMs: 1_000,
        concurrency: 1,
        idleExitMs: undefined,
        maxRedeliveryDelayMs: 600_000,
        handlerTimeoutMs: undefined,
        retentionMs: 3_600_000,
        maxLength: undefined,
      },
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ...env,
      SLUICE_TOPIC: 'payments',
      SLUICE_GROUP: 'ledger',
      SLUICE_TOPICS: 'payments, refunds',
      SLUICE_PUBLISH_TOKEN: 'secret',
      SLUICE_BUDGET_MS: '10000',
      SLUICE_SAFETY_MARGIN_MS: '500',
      SLUICE_VISIBILITY_TIMEOUT_MS: '60000',
      SLUICE_MAX_DELIVERIES: '3',
      SLUICE_BATCH_SIZE: '50',
      SLUICE_BLOCK_MS: '200',
      SLUICE_CONCURRENCY: '8',
      SLUICE_PREFETCH: '0',
      SLUICE_IDLE_EXIT_MS: '0',
      SLUICE_MAX_REDELIVERY_DELAY_MS: '120000',
      SLUICE_HANDLER_TIMEOUT_MS: '5000',
      SLUICE_RETENTION_MS: '0',
      SLUICE_MAX_LENGTH: '1000000',
      SLUICE_RETRY_JITTER: 'full',
    });
    expect(config.topics).toEqual(['payments', 'refunds']);
    expect(config.publishToken).toBe('secret');
    expect(config.drain).toEqual({
      budgetMs: 10_000,
      safetyMarginMs: 500,
      visibilityTimeoutMs: 60_000,
      maxDeliveries: 3,
      batchSize: 50,
      blockMs: 200,
      concurrency: 8,
      prefetch: 0,
      idleExitMs: 0,
      maxRedeliveryDelayMs: 120_000,
      handlerTimeoutMs: 5_000,
      retentionMs: 0,
      maxLength: 1_000_000,
      ordered: false,
      retryJitter: 'full',
      leaseMs: undefined,
      partitions: undefined,
      assignedPartitions: undefined,
      maxPartitions: undefined,
    });
  });

  it('refuses a SLUICE_RETRY_JITTER other than none or full, naming the variable', () => {
    expect(loadConfig(env).drain.retryJitter).toBe('none');
    expect(() => loadConfig({ ...env, SLUICE_RETRY_JITTER: 'random' })).toThrow(
      /^SLUICE_RETRY_JITTER: Expected `retryJitter` to be "none" or "full", got `"random"` \(string\)/,
    );
  });

  it('reads SLUICE_SIGNING_SECRET as a comma list (rotation), blanks dropped', () => {
    expect(
      loadConfig({ ...env, SLUICE_SIGNING_SECRET: ' new-secret , old-secret ,' }).signingSecrets,
    ).toEqual(['new-secret', 'old-secret']);
    expect(loadConfig({ ...env, SLUICE_SIGNING_SECRET: 'only' }).signingSecrets).toEqual(['only']);
    expect(loadConfig({ ...env, SLUICE_SIGNING_SECRET: ' , ' }).signingSecrets).toEqual([]);
    expect(Object.isFrozen(loadConfig({ ...env, SLUICE_SIGNING_SECRET: 'a,b' }).signingSecrets)).toBe(true);
  });

  it('reads the partition, ordering and replication variables', () => {
    expect(loadConfig(env)).toMatchObject({
      drain: {
        ordered: false,
        partitions: undefined,
        assignedPartitions: undefined,
        maxPartitions: undefined,
      },
      publish: { partitions: undefined, replicas: 0, replicaTimeoutMs: 1_000 },
    });
    const config = loadConfig({
      ...env,
      SLUICE_PARTITIONS: '8',
      SLUICE_ORDERED: 'true',
      SLUICE_LEASE_MS: '20000',
      SLUICE_ASSIGNED_PARTITIONS: '0, 3,5',
      SLUICE_MAX_PARTITIONS: '2',
      SLUICE_PUBLISH_REPLICAS: '1',
      SLUICE_REPLICA_TIMEOUT_MS: '250',
    });
    expect(config).toMatchObject({
      drain: {
        ordered: true,
        leaseMs: 20_000,
        partitions: 8,
        assignedPartitions: [0, 3, 5],
        maxPartitions: 2,
      },
      publish: { partitions: 8, replicas: 1, replicaTimeoutMs: 250 },
    });
    for (const [variable, value, message] of [
      ['SLUICE_ORDERED', 'maybe', /must be true or false/],
      ['SLUICE_PARTITIONS', '0', /SLUICE_PARTITIONS: Expected `partitions`/],
      ['SLUICE_PARTITIONS', '2000', /SLUICE_PARTITIONS: Expected `partitions`/],
      ['SLUICE_ASSIGNED_PARTITIONS', '1,x', /comma list of partition indexes/],
      ['SLUICE_ASSIGNED_PARTITIONS', '1,1', /SLUICE_ASSIGNED_PARTITIONS: Expected distinct/],
      ['SLUICE_MAX_PARTITIONS', '0', /SLUICE_MAX_PARTITIONS/],
      ['SLUICE_LEASE_MS', '5', /SLUICE_LEASE_MS/],
      ['SLUICE_PUBLISH_REPLICAS', '-1', /SLUICE_PUBLISH_REPLICAS must be a whole number from 0 to 100/],
      ['SLUICE_REPLICA_TIMEOUT_MS', '0', /SLUICE_REPLICA_TIMEOUT_MS must be a whole number from 1/],
    ] as const) {
      let caught: unknown;
      try {
        loadConfig({ ...env, [variable]: value });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect(caught).toMatchObject({ variable, message: expect.stringMatching(message) });
    }
    // Ordered draining hands a partition's messages one at a time.
    expect(() => loadConfig({ ...env, SLUICE_ORDERED: '1', SLUICE_CONCURRENCY: '4' })).toThrow(
      /SLUICE_CONCURRENCY/,
    );
  });

  it('reads SLUICE_ADMIN_TOKEN (trimmed), which must differ from the publish token', () => {
    expect(loadConfig({ ...env, SLUICE_ADMIN_TOKEN: ' admin-secret ' }).adminToken).toBe('admin-secret');
    expect(loadConfig({ ...env, SLUICE_ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
    expect(
      loadConfig({ ...env, SLUICE_ADMIN_TOKEN: 'admin', SLUICE_PUBLISH_TOKEN: 'publish' }),
    ).toMatchObject({ adminToken: 'admin', publishToken: 'publish' });
    for (const [value, message] of [
      ['two words', /must not contain whitespace/],
      ['same', /must differ from SLUICE_PUBLISH_TOKEN/],
    ] as const) {
      let caught: unknown;
      try {
        loadConfig({ ...env, SLUICE_ADMIN_TOKEN: value, SLUICE_PUBLISH_TOKEN: 'same' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect(caught).toMatchObject({
        variable: 'SLUICE_ADMIN_TOKEN',
        message: expect.stringMatching(message),
      });
    }
  });

  it('picks the cluster driver from REDIS_CLUSTER_NODES (SLUICE_DRIVER=upstash still means Upstash)', () => {
    expect(driverConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:6379, 10.0.0.2:6380 ,' })).toEqual({
      kind: 'ioredis-cluster',
      nodes: ['10.0.0.1:6379', '10.0.0.2:6380'],
    });
    expect(
      driverConfig({
        REDIS_CLUSTER_NODES: 'rediss://default:pw@node-1.example.com:6379',
        SLUICE_DRIVER: 'ioredis',
      }),
    ).toEqual({ kind: 'ioredis-cluster', nodes: ['rediss://default:pw@node-1.example.com:6379'] });
    expect(
      driverConfig({
        REDIS_CLUSTER_NODES: '10.0.0.1:6379',
        SLUICE_DRIVER: 'upstash',
        UPSTASH_REDIS_REST_URL: 'https://x.upstash.io',
        UPSTASH_REDIS_REST_TOKEN: 't',
      }).kind,
    ).toBe('upstash');
  });

  it('picks the Upstash driver from its variables', () => {
    expect(
      loadConfig({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' }).driver,
    ).toEqual({
      kind: 'upstash',
      url: 'https://x.upstash.io',
      token: 't',
    });
  });

  it.each([
    [{}, 'REDIS_URL', /No Redis configured/],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', /redis:\/\/ or rediss:\/\//],
    [{ REDIS_CLUSTER_NODES: '10.0.0.1' }, 'REDIS_CLUSTER_NODES', /"10\.0\.0\.1" is neither host:port/],
    [{ REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:99999' }, 'REDIS_CLUSTER_NODES', /"10\.0\.0\.2:99999"/],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES', /no node given/],
    [
      { REDIS_CLUSTER_NODES: 'redis://u:secret@h:6379/2' },
      'REDIS_CLUSTER_NODES',
      /"redis:\/\/\*\*\*@h:6379\/2" names a database/,
    ],
    [{ ...env, REDIS_CLUSTER_NODES: '10.0.0.1:6379' }, 'REDIS_CLUSTER_NODES', /not both/],
    [{ ...env, SLUICE_DRIVER: 'postgres' }, 'SLUICE_DRIVER', /"ioredis" or "upstash"/],
    [{ UPSTASH_REDIS_REST_URL: 'https://x' }, 'UPSTASH_REDIS_REST_TOKEN', /not set/],
    [{ ...env, SLUICE_BUDGET_MS: 'fast' }, 'SLUICE_BUDGET_MS', /whole number of milliseconds, got "fast"/],
    [{ ...env, SLUICE_BUDGET_MS: '0' }, 'SLUICE_BUDGET_MS', /SLUICE_BUDGET_MS: Expected `budgetMs`/],
    [{ ...env, SLUICE_BUDGET_MS: '-5' }, 'SLUICE_BUDGET_MS', /whole number/],
    [{ ...env, SLUICE_MAX_DELIVERIES: '1e3' }, 'SLUICE_MAX_DELIVERIES', /whole number/],
    [{ ...env, SLUICE_TOPIC: 'a b' }, 'SLUICE_TOPIC', /must match/],
    [{ ...env, SLUICE_TOPICS: 'ok,{bad}' }, 'SLUICE_TOPICS', /"\{bad\}"/],
    [{ ...env, SLUICE_TOPICS: ' , ' }, 'SLUICE_TOPICS', /lists no topic/],
    [{ ...env, SLUICE_SIGNING_SECRET: 'new\nsecret,old' }, 'SLUICE_SIGNING_SECRET', /without whitespace/],
    [{ ...env, SLUICE_PUBLISH_TOKEN: 'pub token' }, 'SLUICE_PUBLISH_TOKEN', /must not contain whitespace/],
    [{ ...env, SLUICE_PUBLISH_TOKEN: 'pub\ttoken\n' }, 'SLUICE_PUBLISH_TOKEN', /must not contain whitespace/],
    [
      { ...env, SLUICE_ADMIN_TOKEN: 'sig', SLUICE_SIGNING_SECRET: 'old,sig' },
      'SLUICE_ADMIN_TOKEN',
      /must differ from every SLUICE_SIGNING_SECRET/,
    ],
    [
      { ...env, SLUICE_PUBLISH_TOKEN: 'sig', SLUICE_SIGNING_SECRET: 'sig' },
      'SLUICE_PUBLISH_TOKEN',
      /must differ from every SLUICE_SIGNING_SECRET/,
    ],
  ])('%j fails naming %s', (bad, variable, message) => {
    const attempt = () => loadConfig(bad as Record<string, string>);
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigurationError).variable).toBe(variable);
    }
  });
});

describe('serverless.yml', () => {
  it('passes every variable the configuration reads to the functions, and each is in the table of docs/configuration.md', () => {
    const root = new URL('../../', import.meta.url);
    const app = new URL('src/app/', root);
    const source = readdirSync(app)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(new URL(file, app), 'utf8'))
      .join('\n');
    const variables = [...new Set(source.match(/\b(?:SLUICE|REDIS|UPSTASH)_[A-Z_]+\b/g))];
    expect(variables.length).toBeGreaterThan(25);
    const yml = readFileSync(new URL('serverless.yml', root), 'utf8');
    const table = readFileSync(new URL('docs/configuration.md', root), 'utf8');
    for (const name of variables) {
      expect(yml, name).toContain(`${name}: \${env:${name}`);
      expect(table, name).toContain(`\`${name}\``);
    }
  });
});

describe('drainOverrides (scheduled event input)', () => {
  it('reads topic, group and budgetMs; ignores a plain EventBridge event', () => {
    expect(drainOverrides({ topic: 'refunds', group: 'g2', budgetMs: 1000 })).toEqual({
      topic: 'refunds',
      group: 'g2',
      budgetMs: 1000,
    });
    expect(drainOverrides({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} })).toEqual(
      {},
    );
    expect(drainOverrides(undefined)).toEqual({});
  });

  it('rejects bad overrides naming them', () => {
    expect(() => drainOverrides({ topic: '../etc' })).toThrow(/`topic`/);
    expect(() => drainOverrides({ group: 7 })).toThrow(/`group`/);
    expect(() => drainOverrides({ budgetMs: '10' })).toThrow(/`budgetMs`/);
    for (const bad of [[], [-1], [1.5], 'a,b', '', {}])
      expect(() => drainOverrides({ assignedPartitions: bad })).toThrow(/`assignedPartitions`/);
  });

  it('reads a share of partitions as an array or (from a query) a comma list', () => {
    expect(drainOverrides({ assignedPartitions: [0, 3] })).toEqual({ assignedPartitions: [0, 3] });
    expect(drainOverrides({ assignedPartitions: '1, 2' }, 'query')).toEqual({ assignedPartitions: [1, 2] });
  });
});

describe('parseClusterNodes', () => {
  it('reads host:port, [IPv6]:port and redis:// / rediss:// URLs with their credentials', () => {
    expect(parseClusterNodes(['10.0.0.1:7000', '[::1]:7001', 'node-3.internal:7002'])).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'node-3.internal', port: 7002 },
      ],
      tls: false,
      username: undefined,
      password: undefined,
    });
    expect(parseClusterNodes(['rediss://app:p%40ss@a.example.com:6380', 'b.example.com:6380'])).toEqual({
      nodes: [
        { host: 'a.example.com', port: 6380 },
        { host: 'b.example.com', port: 6380 },
      ],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
  });

  it('says what is wrong, never quoting a password', () => {
    expect(parseClusterNodes([])).toMatch(/no node given/);
    expect(parseClusterNodes(['h:0'])).toMatch(/neither host:port/);
    expect(parseClusterNodes(['redis://u:secret@:6379'])).not.toMatch(/secret/);
    expect(parseClusterNodes(['redis://a:1@h1:6379', 'rediss://a:1@h2:6379'])).toMatch(
      /differ in scheme or credentials/,
    );
  });
});
