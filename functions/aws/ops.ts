/**
 * Ops endpoints and dashboard (API Gateway HTTP API) over ioredis: GET /ops (the dashboard page),
 * GET /ops/stats, GET /ops/topics/{topic}/groups/{group}/dead-letters, POST …/redrive, POST …/purge.
 * Every data route needs `Authorization: Bearer $SLUICE_ADMIN_TOKEN`.
 */
import { loadConfig } from '../../src/index.js';
import { ioredisFromConfig } from '../drivers/ioredis.js';
import { opsFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = opsFunction(ioredisFromConfig(config), config);
