/**
 * Ops endpoints and dashboard (API Gateway HTTP API) over ioredis: GET /ops (the dashboard page),
 * GET /ops/stats, GET /ops/history, GET /ops/rates, GET /ops/topics/{topic}/groups/{group}/dead-letters,
 * POST …/redrive, POST …/purge, POST …/groups/{group}/replay.
 * Every data route needs `Authorization: Bearer $SLUICE_ADMIN_TOKEN`.
 */

import { loadEndpointConfig } from '../../src/http/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { coldStart, opsFunction } from './wiring.js';

export const handler = coldStart(loadEndpointConfig, (config) =>
  opsFunction(ioredisFromConfig(config), config),
);
