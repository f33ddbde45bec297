/**
 * The development tokens and the files `npm start` leaves in `.sluice/`: `dev.env` (read by
 * `npm run drain`: where the running stack is), `env` and `stack.json` (scripts/stack-files.ts).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SluiceConfig } from '../../src/http/index.js';
import { readEnvFile as readDevEnv, removeStackFile, writeShellEnv, writeStackFile } from '../stack-files.js';
import type { Build } from './build.js';
import { root, STAGE, stateDir } from './common.js';

const envFile = join(stateDir, 'dev.env');

/** Reads `.sluice/dev.env`; none when there is no file. */
export function readEnvFile(): Record<string, string> {
  return readDevEnv(envFile);
}

function writeEnvFile(values: Record<string, string | undefined>): void {
  const lines = [
    '# Written by `npm start` (scripts/start.ts); read by `npm run drain`. Local development only.',
    ...Object.entries(values)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
      .map(([key, value]) => `${key}=${value}`),
  ];
  writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export interface Tokens {
  /** SLUICE_PUBLISH_TOKEN */
  readonly token: string;
  /** SLUICE_ADMIN_TOKEN */
  readonly adminToken: string;
}

/** The environment's tokens, else those of the previous run (the same from one run to the next), else new ones. */
export function devTokens(previous: Record<string, string>): Tokens {
  return {
    token:
      process.env.SLUICE_PUBLISH_TOKEN?.trim() ||
      previous.SLUICE_PUBLISH_TOKEN ||
      randomBytes(24).toString('base64url'),
    adminToken:
      process.env.SLUICE_ADMIN_TOKEN?.trim() ||
      previous.SLUICE_ADMIN_TOKEN ||
      randomBytes(24).toString('base64url'),
  };
}

/** What the running stack is, as the files and the banner tell it. */
export interface Stack {
  readonly build: Build;
  readonly config: SluiceConfig;
  readonly tokens: Tokens;
  readonly host: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  readonly redisUrl: string | undefined;
  readonly redisPid: number | undefined;
  readonly restUrl: string | undefined;
}

export const drainFunction = `sluice-${STAGE}-drain`;

/** The publish URL of the first topic. */
export function publishUrlOf(stack: Stack): string {
  return `http://${stack.host}:${stack.httpPort}/topics/${stack.config.topics[0] ?? stack.config.topic}/messages`;
}

/** Writes `.sluice/dev.env`, `.sluice/env` and `.sluice/stack.json` for the commands run next to the stack. */
export function writeStackFiles(stack: Stack): void {
  const { config, tokens } = stack;
  writeEnvFile({
    SLUICE_DRIVER: stack.build.driverSetting,
    // The Redis behind the stack (none in front of a real Upstash database); the REST token is
    // not written down: `npm run drain` goes through the running functions.
    REDIS_URL: stack.redisUrl,
    REDIS_CLUSTER_NODES: stack.build.externalCluster,
    UPSTASH_REDIS_REST_URL: stack.restUrl,
    SLUICE_PUBLISH_TOKEN: tokens.token,
    SLUICE_ADMIN_TOKEN: tokens.adminToken,
    SLUICE_HTTP_HOST: stack.host,
    SLUICE_HTTP_PORT: String(stack.httpPort),
    SLUICE_LAMBDA_PORT: String(stack.lambdaPort),
    SLUICE_TOPIC: config.topic,
    SLUICE_GROUP: config.group,
    SLUICE_DRAIN_FUNCTION: drainFunction,
    SLUICE_STACK_PID: String(process.pid),
    SLUICE_REDIS_PID: stack.redisPid === undefined ? undefined : String(stack.redisPid),
  });
  writeShellEnv(root, { SLUICE_PUBLISH_TOKEN: tokens.token, SLUICE_ADMIN_TOKEN: tokens.adminToken });
  writeStackFile(root, {
    pid: process.pid,
    ...(stack.redisUrl === undefined ? {} : { redisUrl: stack.redisUrl }),
    publishUrl: publishUrlOf(stack),
    topics: config.topics,
    topic: config.topic,
    group: config.group,
  });
}

/** When the stack stops: `.sluice/stack.json` goes, and `dev.env` no longer names this process or its Redis. */
export function forgetStack(): void {
  removeStackFile(root, process.pid);
  const current = readEnvFile();
  if (current.SLUICE_STACK_PID === String(process.pid)) {
    writeEnvFile({ ...current, SLUICE_STACK_PID: undefined, SLUICE_REDIS_PID: undefined });
  }
}
