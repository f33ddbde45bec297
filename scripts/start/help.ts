/** `npm start -- --help`. */
export const HELP = `Usage: npm start [-- --help]

Runs sluice on this machine: Redis, the publish, drain and ops functions under serverless offline
(the drain fired every minute), .sluice/dev.env for \`npm run drain\`, .sluice/env (\`source .sluice/env\`:
the tokens, for the README's commands) and .sluice/stack.json (for the sluice CLI). Ctrl-C stops it all.

Which build of the functions (as for a deployment):
  npm start                          ioredis build (TCP): functions/aws/publish.ts, drain.ts
  SLUICE_DRIVER=upstash npm start    Upstash build (HTTP REST): functions/aws/*-upstash.ts

Environment:
  REDIS_URL                  use this Redis instead of starting a private redis-server
                             (data of the private one: .sluice/redis, append-only)
  REDIS_CLUSTER_NODES        ioredis build: use this Redis Cluster (host:port,host:port,…)
                             instead; not with REDIS_URL
  SLUICE_DRIVER              ioredis (default) or upstash
  UPSTASH_REDIS_REST_URL     with SLUICE_DRIVER=upstash and both set: a real Upstash database,
  UPSTASH_REDIS_REST_TOKEN   used as is (no redis-server, no local REST server); otherwise a
                             local Upstash REST server runs in front of the Redis above
  SLUICE_PUBLISH_TOKEN       bearer token for publishing (default: generated, kept in .sluice/dev.env)
  SLUICE_ADMIN_TOKEN         bearer token for the ops endpoints and the dashboard at /ops
                             (default: generated, kept in .sluice/dev.env)
  SLUICE_HTTP_HOST           host of the HTTP and Lambda APIs (default localhost)
  SLUICE_HTTP_PORT           publish API port (default 3000)
  SLUICE_LAMBDA_PORT         Lambda invoke API port, used by \`npm run drain\` (default 3002)
  SLUICE_REDIS_PORT          port of the private redis-server (default: a free one)
  SLUICE_REST_PORT           port of the local Upstash REST server (default: a free one)
  SLUICE_TOPIC, SLUICE_GROUP, SLUICE_TOPICS, SLUICE_BUDGET_MS, …   the functions' settings (docs/configuration.md)
`;
