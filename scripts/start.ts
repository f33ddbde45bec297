/**
 * `npm start`: the whole app on a laptop. `npm start -- --help` prints the settings.
 *
 * - Build: SLUICE_DRIVER picks which build of the functions runs, as it does for a deployment:
 *   `ioredis` (default: TCP, functions/aws/publish.ts and drain.ts) or `upstash` (HTTP REST,
 *   functions/aws/publish-upstash.ts and drain-upstash.ts).
 * - Redis: REDIS_URL when set, or REDIS_CLUSTER_NODES (a Redis Cluster, ioredis build only);
 *   otherwise a private redis-server with append-only persistence in `.sluice/redis` (git-ignored),
 *   on SLUICE_REDIS_PORT or a free port.
 * - With SLUICE_DRIVER=upstash: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN when both are
 *   set (a real Upstash database: no redis-server is started); otherwise that Redis behind a local
 *   server that speaks the Upstash REST protocol (dev/upstash-rest-server.ts), on
 *   SLUICE_REST_PORT or a free port. The functions get only the REST settings, never REDIS_URL.
 * - A development publish token (SLUICE_PUBLISH_TOKEN, or generated once and kept in
 *   `.sluice/dev.env`), and likewise a separate admin token (SLUICE_ADMIN_TOKEN) for the ops
 *   endpoints and the dashboard at http://localhost:3000/ops.
 * - `serverless offline`: POST /topics/{topic}/messages on SLUICE_HTTP_PORT (3000), the Lambda
 *   invoke API on SLUICE_LAMBDA_PORT (3002), the drain function fired every minute.
 * - `.sluice/dev.env` tells `npm run drain` where the running stack is; `.sluice/env` exports the
 *   tokens for the README's commands (`source .sluice/env`); `.sluice/stack.json` tells the
 *   `sluice` CLI where the running stack's Redis is (scripts/stack-files.ts).
 *
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP stops everything this script started.
 *
 * `main()` is the list of steps; each lives in scripts/start/: pick the build (build.ts), check
 * nothing is in the way (preflight.ts), the tokens (env-file.ts), start Redis and start REST
 * (servers.ts), the env files (env-file.ts), run offline (offline.ts).
 */
import { mkdirSync } from 'node:fs';
import { checkedConfig, pickBuild } from './start/build.js';
import { fail, stateDir } from './start/common.js';
import { devTokens, readEnvFile, writeStackFiles } from './start/env-file.js';
import { HELP } from './start/help.js';
import { runOffline } from './start/offline.js';
import { checkNothingRunning, checkRedisAvailable, choosePorts } from './start/preflight.js';
import { createGroup, startRedis, startRest } from './start/servers.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (args.length > 0) fail(`unknown argument ${JSON.stringify(args[0])}; see npm start -- --help`);

  const build = pickBuild(process.env);
  mkdirSync(stateDir, { recursive: true });
  const previous = readEnvFile();
  checkNothingRunning(previous);
  const ports = await choosePorts(build);
  checkRedisAvailable(build);
  const tokens = devTokens(previous);
  const config = checkedConfig(build, tokens);

  const servers = await startRest(build, ports, await startRedis(build, ports));
  await createGroup(build, config, servers);
  const stack = {
    build,
    config,
    tokens,
    host: ports.host,
    httpPort: ports.httpPort,
    lambdaPort: ports.lambdaPort,
    redisUrl: servers.redisUrl,
    redisPid: servers.redis?.pid,
    restUrl: servers.restUrl,
  };
  writeStackFiles(stack);
  runOffline(stack, servers);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
